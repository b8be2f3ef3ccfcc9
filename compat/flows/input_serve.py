# Serves a deployment whose runs wait for input, until interrupted. A run
# with mode "pause" blocks in pause_flow_run(wait_for_input=<a pydantic
# model>); one with mode "suspend" leaves its process with
# suspend_flow_run(wait_for_input=<a RunInput>) and, once resumed, is run
# again by this runner, its suspend then answered with the input. Each
# logs what it received and the pid of its process.
import os

import pydantic
from prefect import flow, get_run_logger
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from prefect.input import RunInput


class Answer(pydantic.BaseModel):
    name: str
    age: int


class Approval(RunInput):
    approver: str
    level: int = 1


@flow(name="awaiting-input")
def awaiting(mode: str = "pause"):
    log = get_run_logger()
    log.info(f"started pid={os.getpid()}")
    if mode == "pause":
        answer = pause_flow_run(wait_for_input=Answer, timeout=300, poll_interval=1)
        log.info(f"received name={answer.name} age={answer.age} pid={os.getpid()}")
        return answer.name
    approval = suspend_flow_run(wait_for_input=Approval, timeout=600)
    log.info(f"received approver={approval.approver} level={approval.level} pid={os.getpid()}")
    return approval.approver


if __name__ == "__main__":
    awaiting.serve(name="input")
