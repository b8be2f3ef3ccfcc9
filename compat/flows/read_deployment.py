# Reads a deployment through the client's typed models: by name, by id and
# by filter; prints what the server said, one line each.
import asyncio
import sys

from prefect.client.orchestration import get_client


async def main(name):
    async with get_client() as client:
        by_name = await client.read_deployment_by_name(name)
        by_id = await client.read_deployment(by_name.id)
        listed = await client.read_deployments()
        schedules = await client.read_deployment_schedules(by_id.id)
        print("status", by_id.status.value if by_id.status else None)
        print("paused", by_id.paused)
        print("listed", len(listed))
        print("schedules", len(schedules), type(schedules[0].schedule).__name__)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
