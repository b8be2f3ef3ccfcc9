"""F async flows of T async tasks each at once in one process
(asyncio.gather); prints how many returned and the errors of the rest."""

import asyncio
import json
import sys

from prefect import flow, task

flows, tasks = int(sys.argv[1]), int(sys.argv[2])


@task
async def noop(i):
    return i


@flow(name="bench-burst")
async def burst(k):
    await asyncio.gather(*[noop(i) for i in range(tasks)])
    return k


async def main():
    results = await asyncio.gather(*[burst(k) for k in range(flows)], return_exceptions=True)
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    print(json.dumps({"returned": len(results) - len(errors), "errors": errors}))


asyncio.run(main())
