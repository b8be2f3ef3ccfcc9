"""Prefect's own CLI against the server, in one process: each command as
`prefect …` runs it, one JSON line of its exit code and output per command.
A flow runs first, so the flow-run commands have a run to show."""

import contextlib
import io
import json
import sys

from prefect import flow, get_run_logger
from prefect.blocks.system import Secret
from prefect.cli._app import app


@flow(name="cli-flow")
def cli_flow() -> None:
    get_run_logger().info("hello from the cli flow")


def prefect(*args: str) -> None:
    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        sys.argv = ["prefect", *args]
        try:
            app()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    print(json.dumps({"args": list(args), "code": code, "out": out.getvalue()}), flush=True)


if __name__ == "__main__":
    run = cli_flow(return_state=True).state_details.flow_run_id
    Secret(value="s3cr3t-cli").save("cli-secret", overwrite=True)
    for args in [
        ("gcl", "create", "db", "--limit", "2"),
        ("gcl", "update", "db", "--limit", "3"),
        ("gcl", "ls"),
        ("gcl", "inspect", "db"),
        ("gcl", "create", "gone", "--limit", "1"),
        ("gcl", "delete", "gone"),
        ("concurrency-limit", "create", "small", "1"),
        ("concurrency-limit", "inspect", "small"),
        ("concurrency-limit", "reset", "small"),
        ("concurrency-limit", "ls"),
        ("block", "register", "-m", "prefect.blocks.system"),
        ("block", "type", "ls"),
        ("block", "type", "inspect", "secret"),
        ("block", "ls"),
        ("block", "inspect", "secret/cli-secret"),
        ("variable", "set", "cli_var", "42"),
        ("variable", "get", "cli_var"),
        ("variable", "ls"),
        ("work-queue", "create", "cli-queue", "--limit", "2"),
        ("work-queue", "inspect", "cli-queue"),
        ("work-queue", "preview", "cli-queue"),
        ("work-queue", "pause", "cli-queue", "--pool", "default-agent-pool"),
        ("work-queue", "ls"),
        ("flow-run", "ls"),
        ("flow-run", "inspect", str(run)),
        ("flow-run", "logs", str(run)),
        ("flow-run", "delete", str(run)),
    ]:
        prefect(*args)
