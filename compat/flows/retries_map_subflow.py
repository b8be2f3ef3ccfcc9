"""Task retries, a mapped task feeding another task, and a subflow.

The compat tests run this against a server and then inspect what the server
recorded. PRAETOR_COMPAT_ATTEMPTS_FILE names a file in which every attempt of
the flaky task appends one line, so the first attempt can fail and the retry
succeed, independently of how the task is executed.
"""

import os

from prefect import flow, task

ATTEMPTS_FILE = os.environ["PRAETOR_COMPAT_ATTEMPTS_FILE"]


@task(name="flaky", retries=2)
def flaky():
    with open(ATTEMPTS_FILE, "a+") as fh:
        fh.seek(0)
        attempt = len(fh.read().splitlines()) + 1
        fh.write(f"attempt {attempt}\n")
    if attempt == 1:
        raise RuntimeError("first attempt fails on purpose")
    return attempt


@task(name="double")
def double(x):
    return x * 2


@task(name="add_all")
def add_all(values):
    return sum(values)


@flow(name="child")
def child(n):
    return n + 1


@flow(name="retries-map-subflow")
def retries_map_subflow():
    attempts = flaky()
    mapped = double.map([1, 2, 3])
    total = add_all(mapped)
    sub = child(total)
    return attempts, total, sub


if __name__ == "__main__":
    result = retries_map_subflow()
    if result != (2, 12, 13):
        raise SystemExit(f"unexpected flow result {result!r}, want (2, 12, 13)")
    print(f"flow result {result!r}")
