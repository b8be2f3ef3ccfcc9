"""After `praetor cloud login`, in one process: Prefect's `config view`, a
flow run, `cloud workspace ls`; then Prefect's own `cloud login` into a new
profile "python" (argv: the Cloud API URL, a key, a workspace), for praetor
to read back."""

import os
import sys

from basic_flow import basic_flow
from prefect_cli import prefect

if __name__ == "__main__":
    cloud, key, workspace = sys.argv[1:4]  # prefect() rewrites sys.argv
    prefect("config", "view")
    basic_flow()
    prefect("cloud", "workspace", "ls")
    # As the settings page tells Prefect users, from here on only.
    os.environ["PREFECT_CLOUD_API_URL"] = cloud
    prefect("profile", "create", "python")
    prefect("--profile", "python", "cloud", "login", "--key", key, "--workspace", workspace)
