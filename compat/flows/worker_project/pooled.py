# A flow that a worker runs from a deployment: it logs what it ran with and
# records when it started and ended, for tests that check who ran what and
# how many at once.
import os
import time

from prefect import flow, get_run_logger


@flow(name="pooled")
def pooled(n: int = 1, hold: float = 0.0):
    started = time.time()
    if hold:
        time.sleep(hold)
    get_run_logger().info(f"pooled run n={n}")
    record = os.environ.get("POOLED_RECORD_DIR")
    if record:
        with open(os.path.join(record, f"{n}-{os.getpid()}.txt"), "w") as f:
            f.write(f"{started} {time.time()}\n")
