"""Concurrency limits from the real client, in one process to keep the test
lean. It records, in the JSON file PRAETOR_COMPAT_RECORD, when each holder
of a slot entered and left:

- "flows": ten flows, each in a thread of its own, take a slot of the global
  limit "db" (2 slots) with concurrency("db", occupy=1) and hold it a while.
  The client serializes acquisitions of one set of names within a process
  and waits as the 423 answers' Retry-After tells it.
- "tasks": alongside, four task runs tagged "serial", a tag limited to one
  slot, run concurrently in a flow; the task engine takes the tag's slot.
- "clients": then ten threads, each with a client of its own, ask for a
  slot of "db" all at once, as ten processes would, and retry without
  waiting: the server alone keeps them within the limit.

With the argument "hold" it takes the one slot of a limit "held" with a
lease of PRAETOR_COMPAT_LEASE seconds, which the client renews, prints
"holding since <epoch seconds>", and waits to be killed.
"""

import json
import os
import sys
import threading
import time

import httpx
from prefect import flow, get_client, task
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency

HOLD = 0.3
lock = threading.Lock()
record = {"flows": [], "clients": [], "tasks": []}


def note(kind, start):
    with lock:
        record[kind].append([start, time.time()])


@flow(name="hold-db")
def hold_db():
    with concurrency("db", occupy=1):
        start = time.time()
        time.sleep(HOLD)
        note("flows", start)


def raw_client():
    with get_client(sync_client=True) as client:
        while True:
            try:
                resp = client.increment_concurrency_slots_with_lease(
                    names=["db"], slots=1, mode="concurrency", lease_duration=60
                )
                break
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code != 423:
                    raise
                time.sleep(0.02)
        start = time.time()
        time.sleep(HOLD / 3)
        note("clients", start)
        client.release_concurrency_slots_with_lease(resp.json()["lease_id"])


@task(tags=["serial"])
def serial(i):
    start = time.time()
    time.sleep(HOLD)
    note("tasks", start)
    return i


@flow(name="serial-tasks")
def serial_tasks():
    futures = [serial.submit(i) for i in range(4)]
    return sorted(f.result() for f in futures)


def in_threads(target, n):
    threads = [threading.Thread(target=target) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main():
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name="db", limit=2))
        client.create_concurrency_limit(tag="serial", concurrency_limit=1)
    flows = threading.Thread(target=in_threads, args=(hold_db, 10))
    flows.start()
    assert serial_tasks() == [0, 1, 2, 3]
    flows.join()
    # Last: the clients' denials, counted on "db", lengthen the waits
    # Retry-After tells the flows.
    in_threads(raw_client, 10)
    with open(os.environ["PRAETOR_COMPAT_RECORD"], "w") as f:
        json.dump(record, f)


def hold():
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name="held", limit=1))
    with concurrency("held", occupy=1, lease_duration=float(os.environ["PRAETOR_COMPAT_LEASE"])):
        print(f"holding since {time.time()}", flush=True)
        time.sleep(600)


if __name__ == "__main__":
    hold() if sys.argv[1:] == ["hold"] else main()
