"""Compute golden schedule dates with Prefect's own server schedule classes.

Run from the repository root with the pinned virtualenv's Python:

    $PRAETOR_TEST_PYTHON internal/schedule/testdata/generate.py

It rewrites golden.json next to this file: for each case, the schedule as
sent, Prefect's normalised schedule (model_dump(mode="json")) and the dates
Prefect's server computes for (n, start, end) through get_dates, the call
its scheduler makes; and for each validity case whether Prefect accepts it.
"""

import asyncio
import datetime
import json
import os
import sys

import prefect
from pydantic import ValidationError
from prefect.server.schemas.actions import DeploymentScheduleCreate

HERE = os.path.dirname(os.path.abspath(__file__))

NY = "America/New_York"
BER = "Europe/Berlin"

# (name, schedule, start, end, n). start/end are ISO 8601 with offsets.
CASES = []


def case(name, schedule, start, end=None, n=None):
    CASES.append((name, schedule, start, end, n))


# --- interval ---------------------------------------------------------------
case("interval hourly UTC", {"interval": 3600, "anchor_date": "2025-01-01T00:00:00Z"}, "2025-06-01T10:30:00Z", n=5)
case("interval start on a boundary", {"interval": 3600, "anchor_date": "2025-01-01T00:00:00Z"}, "2025-06-01T10:00:00Z", n=3)
case("interval 3 s", {"interval": 3, "anchor_date": "2025-01-01T00:00:00.250000Z"}, "2025-01-01T00:00:10Z", n=5)
case("interval fractional", {"interval": 1.5, "anchor_date": "2025-01-01T00:00:00Z"}, "2025-01-01T00:00:01Z", n=6)
case("interval anchor in the future", {"interval": 600, "anchor_date": "2030-01-01T00:00:00Z"}, "2029-12-31T23:00:00Z", n=8)
case("interval anchor far in the future", {"interval": 86400, "anchor_date": "2030-01-01T09:00:00Z"}, "2025-03-03T12:00:00Z", n=4)
case("interval anchor with offset", {"interval": 7200, "anchor_date": "2025-01-01T00:15:00+05:30"}, "2025-02-01T00:00:00Z", n=4)
case("interval naive anchor", {"interval": 900, "anchor_date": "2025-01-01T00:05:00"}, "2025-02-01T00:00:00Z", n=4)
case("interval with end", {"interval": 3600, "anchor_date": "2025-01-01T00:00:00Z"}, "2025-06-01T00:00:00Z", "2025-06-01T05:00:00Z")
case("interval end before start", {"interval": 3600, "anchor_date": "2025-01-01T00:00:00Z"}, "2025-06-01T00:00:00Z", "2025-05-01T00:00:00Z")
case("interval n with end", {"interval": 60, "anchor_date": "2025-01-01T00:00:00Z"}, "2025-06-01T00:00:00Z", "2025-06-01T00:10:00Z", n=4)
case("interval weekly", {"interval": 7 * 86400, "anchor_date": "2025-01-06T09:00:00Z", "timezone": BER}, "2025-03-20T00:00:00Z", n=4)
case("interval 36 h NY", {"interval": 36 * 3600, "anchor_date": "2025-03-07T12:00:00-05:00", "timezone": NY}, "2025-03-07T00:00:00Z", n=6)
case("interval 1000 candidates", {"interval": 1, "anchor_date": "2025-01-01T00:00:00Z"}, "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z")
for tz, spring, fall in [(NY, "2025-03-09", "2025-11-02"), (BER, "2025-03-30", "2025-10-26")]:
    for day in (spring, fall):
        case(f"interval 1 h across DST {tz} {day}", {"interval": 3600, "anchor_date": "2025-01-01T00:00:00Z", "timezone": tz}, f"{day}T00:00:00Z", n=8)
        case(f"interval 30 min across DST {tz} {day}", {"interval": 1800, "anchor_date": "2025-01-01T00:30:00Z", "timezone": tz}, f"{day}T03:00:00Z", n=10)
        case(f"interval 1 day across DST {tz} {day} anchor before", {"interval": 86400, "anchor_date": f"{day[:8]}01T09:00:00", "timezone": tz}, f"{day[:8]}01T00:00:00Z", n=40)
        case(f"interval 1 day across DST {tz} {day} anchor local", {"interval": 86400, "anchor_date": "2025-01-15T01:30:00-05:00" if tz == NY else "2025-01-15T02:30:00+01:00", "timezone": tz}, f"{day[:8]}01T00:00:00Z", n=40)
        case(f"interval 2 days at 02:30 {tz} {day}", {"interval": 2 * 86400, "anchor_date": f"{day}T02:30:00" , "timezone": tz}, f"{day}T00:00:00Z", n=6)


async def dates(model, n, start, end):
    parse = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")) if s else None
    got = await model.get_dates(n=n, start=parse(start), end=parse(end))
    return [d.isoformat() for d in got]


async def main():
    out = {"prefect": prefect.__version__, "python": sys.version.split()[0], "cases": [], "validity": []}
    for name, schedule, start, end, n in CASES:
        model = DeploymentScheduleCreate.model_validate({"schedule": schedule}).schedule
        out["cases"].append({
            "name": name,
            "schedule": schedule,
            "normalized": model.model_dump(mode="json"),
            "start": start,
            "end": end,
            "n": n,
            "dates": await dates(model, n, start, end),
        })
    for schedule in VALIDITY:
        try:
            DeploymentScheduleCreate.model_validate({"schedule": schedule})
            ok = True
        except ValidationError:
            ok = False
        out["validity"].append({"schedule": schedule, "valid": ok})
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


VALIDITY = [
    {"interval": 0},
    {"interval": -5},
    {"interval": 0.0000001},
    {"interval": "PT1H"},
    {"interval": 60, "timezone": "Mars/Base"},
    {"interval": 60, "extra": 1},
    {"interval": 60, "anchor_date": "yesterday"},
    {},
    {"foo": 1},
]

asyncio.run(main())
