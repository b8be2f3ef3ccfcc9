"""One flow of N no-op tasks, called one after the other or submitted to the
thread pool, with the real client; prints its flow run, the client's wall
time and the recording lag: from the flow's return until the server counts
all N task runs COMPLETED."""

import json
import os
import sys
import time

import httpx
from prefect import flow, task
from prefect.runtime import flow_run

mode, n = sys.argv[1], int(sys.argv[2])


@task
def noop(i):
    return i


@flow(name=f"bench-tasks-{mode}")
def tasks():
    if mode == "sequential":
        for i in range(n):
            noop(i)
    else:
        for f in [noop.submit(i) for i in range(n)]:
            f.result()
    return str(flow_run.id)


start = time.perf_counter()
run_id = tasks()
wall = time.perf_counter() - start

api = os.environ["PREFECT_API_URL"]
query = {"flow_runs": {"id": {"any_": [run_id]}}, "task_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
returned = time.perf_counter()
count = 0
with httpx.Client(timeout=30) as client:
    while time.perf_counter() - returned < 120:
        count = client.post(api + "/task_runs/count", json=query).json()
        if count >= n:
            break
        time.sleep(0.05)
lag = time.perf_counter() - returned
print(json.dumps({"flow_run_id": run_id, "wall": wall, "lag": lag, "completed": count}))
