# Deploys worker_project/pooled.py to a work pool with flow.deploy(), from
# the local directory (no image build, no push), as the docs show for
# process pools: python deploy_pooled.py POOL [JOB_VARIABLES_JSON]
#
# With PRAETOR_COMPAT_CREATE_POOL set, it first creates POOL as a process
# pool with the process worker's default job template, as `prefect
# work-pool create POOL --type process` does, sparing a Python process.
import json
import os
import sys

from prefect import flow

pool = sys.argv[1]
job_variables = json.loads(sys.argv[2]) if len(sys.argv) > 2 else None
if os.environ.get("PRAETOR_COMPAT_CREATE_POOL"):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        client.create_work_pool(
            WorkPoolCreate(name=pool, type="process", base_job_template=ProcessWorker.get_default_base_job_template())
        )
source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker_project")
deployment_id = flow.from_source(source=source, entrypoint="pooled.py:pooled").deploy(
    name="pooled-deployment", work_pool_name=pool, job_variables=job_variables, print_next_steps=False
)
print(f"deployment {deployment_id}")
