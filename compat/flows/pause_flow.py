"""A flow that pauses itself and is resumed from another thread through the
API: the real client's pause_flow_run sends state_details.pause_timeout as
epoch seconds."""

import threading
import time

from prefect import flow, get_client
from prefect.context import get_run_context
from prefect.flow_runs import pause_flow_run, resume_flow_run


def resume_when_paused(flow_run_id):
    with get_client(sync_client=True) as client:
        for _ in range(300):
            if client.read_flow_run(flow_run_id).state.is_paused():
                resume_flow_run(flow_run_id)
                return
            time.sleep(0.1)


@flow(name="pausing")
def pausing_flow():
    flow_run_id = get_run_context().flow_run.id
    threading.Thread(target=resume_when_paused, args=(flow_run_id,), daemon=True).start()
    pause_flow_run(timeout=60, poll_interval=1)
    return "resumed"


if __name__ == "__main__":
    assert pausing_flow() == "resumed"
