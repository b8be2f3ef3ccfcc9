"""Sets up the workers workload with the real client: POOL as a process
work pool with the process worker's default job template, and a deployment
of worker_flow.py from this directory on local disk (no image, no push), its
runs recording who ran them in RECORD_DIR. Prints the deployment's id.

python workers.py POOL RECORD_DIR"""

import json
import os
import sys

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.workers.process import ProcessWorker

pool, record_dir = sys.argv[1], sys.argv[2]
with get_client(sync_client=True) as client:
    client.create_work_pool(
        WorkPoolCreate(name=pool, type="process", base_job_template=ProcessWorker.get_default_base_job_template())
    )
here = os.path.dirname(os.path.abspath(__file__))
deployment_id = flow.from_source(source=here, entrypoint="worker_flow.py:bench_worker").deploy(
    name="bench-workers",
    work_pool_name=pool,
    job_variables={"env": {"BENCH_RECORD_DIR": record_dir}},
    print_next_steps=False,
)
print(json.dumps({"deployment_id": str(deployment_id)}))
