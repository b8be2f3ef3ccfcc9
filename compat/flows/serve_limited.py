# Serves a deployment limited to one run at a time (flow.serve's
# global_limit, the deployment's concurrency_limit), until interrupted. A
# run holds until the file its gate parameter names exists.
import os
import time

from prefect import flow


@flow(name="limited")
def limited(gate: str):
    deadline = time.monotonic() + 120
    while not os.path.exists(gate):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{gate} never appeared")
        time.sleep(0.1)


if __name__ == "__main__":
    limited.serve(name="one-at-a-time", global_limit=1)
