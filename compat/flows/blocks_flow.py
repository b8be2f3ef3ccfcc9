"""Blocks from the real client: a Secret saved and loaded, two blocks of
types the client registers itself, and task results persisted to a
LocalFileSystem block set as the default result storage, where a second run
finds its task's cached result instead of running it."""

import os
from typing import Any

from prefect import flow, task
from prefect.blocks.core import Block
from prefect.blocks.system import Secret
from prefect.cache_policies import INPUTS
from prefect.filesystems import LocalFileSystem

COUNTER = os.environ["PRAETOR_COMPAT_COUNTER"]
SECRET = os.environ["PRAETOR_COMPAT_SECRET"]


# Prefect 3 has no JSON or String blocks any more; these are user-defined
# blocks of their shape, whose types and schemas the client registers on
# save().
class JSON(Block):
    value: Any


class String(Block):
    value: str


@task(persist_result=True, cache_policy=INPUTS)
def square(x: int) -> int:
    # The side effect counts the runs: a cached result does not run.
    with open(COUNTER, "a") as f:
        f.write("ran\n")
    return x * x


@flow
def blocks_flow(x: int) -> int:
    Secret(value=SECRET).save("api-token", overwrite=True)
    assert Secret.load("api-token").get() == SECRET
    JSON(value={"a": [1, 2.5], "b": None}).save("config", overwrite=True)
    assert JSON.load("config").value == {"a": [1, 2.5], "b": None}
    String(value="hello").save("greeting", overwrite=True)
    assert String.load("greeting").value == "hello"
    return square(x)


if __name__ == "__main__":
    # The result storage block must exist before a run resolves it from
    # PREFECT_DEFAULT_RESULT_STORAGE_BLOCK.
    LocalFileSystem(basepath=os.environ["PRAETOR_COMPAT_RESULTS"]).save("results", overwrite=True)
    # The workspace's default result storage, which the test sets.
    LocalFileSystem(basepath=os.environ["PRAETOR_COMPAT_SERVER_RESULTS"]).save("server-results", overwrite=True)
    print("results", blocks_flow(7), blocks_flow(7), flush=True)
