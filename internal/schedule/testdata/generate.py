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


# --- cron -------------------------------------------------------------------
for tz, spring, fall in [(NY, "2025-03-09", "2025-11-02"), (BER, "2025-03-30", "2025-10-26")]:
    for day in (spring, fall):
        for expr in ("30 1 * * *", "30 2 * * *", "0 2 * * *", "0 3 * * *", "0 * * * *", "*/30 * * * *", "0 9 * * *"):
            before = (datetime.date.fromisoformat(day) - datetime.timedelta(days=2)).isoformat()
            case(f"cron {expr} {tz} {day}", {"cron": expr, "timezone": tz}, f"{before}T00:00:00Z", n=60 if expr.startswith(("0 *", "*/")) else 6)
        case(f"cron minutely through the change {tz} {day}", {"cron": "* * * * *", "timezone": tz}, f"{day}T00:00:00Z", f"{day}T03:00:00Z")
        case(f"cron seconds through the change {tz} {day}", {"cron": "0 0 * * * */20", "timezone": tz}, f"{day}T00:30:00Z", n=30)
case("cron UTC no timezone", {"cron": "0 9 * * 1-5"}, "2025-06-01T00:00:00Z", n=10)
case("cron weekdays NY", {"cron": "0 9 * * 1-5", "timezone": NY}, "2025-06-01T00:00:00Z", n=10)
case("cron start on a match", {"cron": "0 9 * * *"}, "2025-06-01T09:00:00Z", n=3)
case("cron start with microseconds", {"cron": "0 9 * * *"}, "2025-06-01T09:00:00.5Z", n=3)
case("cron start in an offset", {"cron": "0 9 * * *", "timezone": BER}, "2025-06-01T09:00:00+02:00", n=3)
case("cron with end", {"cron": "*/10 * * * *"}, "2025-06-01T00:00:00Z", "2025-06-01T01:00:00Z")
case("cron month end 31", {"cron": "0 0 31 * *"}, "2025-01-15T00:00:00Z", n=8)
case("cron month end L", {"cron": "0 0 L * *"}, "2024-01-15T00:00:00Z", n=14)
case("cron 30 and L", {"cron": "0 0 30,L * *"}, "2024-01-15T00:00:00Z", n=14)
case("cron L-2", {"cron": "0 0 28-L * *"}, "2025-01-15T00:00:00Z", n=14)
case("cron leap day", {"cron": "0 0 29 2 *"}, "2025-01-01T00:00:00Z", n=4)
case("cron leap day 2100", {"cron": "0 0 29 2 *"}, "2096-03-01T00:00:00Z", n=2)
case("cron day_or true", {"cron": "0 9 1-7 * 1"}, "2025-01-01T00:00:00Z", n=20)
case("cron day_or false", {"cron": "0 9 1-7 * 1", "day_or": False}, "2025-01-01T00:00:00Z", n=6)
case("cron day_or false 13th Friday", {"cron": "0 0 13 * FRI", "day_or": False}, "2025-01-01T00:00:00Z", n=4)
case("cron all days with dow", {"cron": "0 0 1-31 * 1"}, "2025-01-01T00:00:00Z", n=5)
case("cron six fields seconds last", {"cron": "0 9 * * * 30", "timezone": BER}, "2025-06-01T00:00:00Z", n=3)
case("cron six fields every 15 s", {"cron": "* * * * * */15"}, "2025-06-01T00:00:07Z", n=6)
case("cron seven fields year", {"cron": "0 0 1 1 * 0 2027-2029"}, "2025-06-01T00:00:00Z", n=5)
case("cron names", {"cron": "0 9 * JAN-MAR/2 MON-FRI"}, "2025-01-01T00:00:00Z", n=12)
case("cron reversed dow", {"cron": "0 0 * * FRI-MON"}, "2025-01-01T00:00:00Z", n=10)
case("cron reversed minutes", {"cron": "50-10/5 * * * *"}, "2025-01-01T00:00:00Z", n=12)
case("cron reversed months step", {"cron": "0 0 1 APR-JAN/3 *"}, "2025-01-01T00:00:00Z", n=6)
case("cron same bounds is whole", {"cron": "0 5-5 * * *"}, "2025-01-01T00:00:00Z", n=5)
case("cron sunday 7", {"cron": "0 0 * * 7"}, "2025-01-01T00:00:00Z", n=3)
case("cron 0-7", {"cron": "0 0 * * 0-7"}, "2025-01-01T00:00:00Z", n=3)
case("cron nth weekday", {"cron": "0 9 * * 5#2", "timezone": NY}, "2025-01-01T00:00:00Z", n=6)
case("cron nth list", {"cron": "0 9 * * 1#1,1#3"}, "2025-01-01T00:00:00Z", n=6)
case("cron fifth monday", {"cron": "0 9 * * 1#5"}, "2025-01-01T00:00:00Z", n=4)
case("cron last friday", {"cron": "0 9 * * L5"}, "2025-01-01T00:00:00Z", n=6)
case("cron nth with day", {"cron": "0 9 1 * 5#2"}, "2025-01-01T00:00:00Z", n=6)
case("cron question mark", {"cron": "0 0 ? * MON"}, "2025-01-01T00:00:00Z", n=3)
case("cron step start", {"cron": "5/15 * * * *"}, "2025-01-01T00:00:00Z", n=6)
for alias in ("@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually", "@DAILY"):
    case(f"cron alias {alias}", {"cron": alias, "timezone": BER}, "2025-01-01T00:00:00Z", n=3)
case("cron impossible date", {"cron": "0 0 30 2 *"}, "2025-01-01T00:00:00Z", n=3)
case("cron 1000 candidates", {"cron": "* * * * * *"}, "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z")
case("cron n=None no end", {"cron": "0 0 * * *"}, "2025-01-01T00:00:00Z")
case("cron timezone empty", {"cron": "0 0 * * *", "timezone": ""}, "2025-01-01T00:00:00Z", n=2)


async def dates(model, n, start, end):
    parse = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")) if s else None
    got = await model.get_dates(n=n, start=parse(start), end=parse(end))
    return [d.isoformat() for d in got]


# --- rrule ------------------------------------------------------------------
case("rrule daily UTC", {"rrule": "DTSTART:20250101T090000\nRRULE:FREQ=DAILY"}, "2025-06-01T10:00:00Z", n=4)
case("rrule bare daily", {"rrule": "FREQ=DAILY;BYHOUR=9"}, "2025-06-01T10:00:00Z", n=3)
case("rrule bare with RRULE prefix", {"rrule": "RRULE:FREQ=WEEKLY;BYDAY=MO,FR"}, "2025-06-01T10:00:00Z", n=4)
case("rrule lower case", {"rrule": "dtstart:20250101T090000\nrrule:freq=daily;interval=2"}, "2025-06-01T10:00:00Z", n=3)
case("rrule start on an occurrence", {"rrule": "DTSTART:20250101T090000\nRRULE:FREQ=DAILY"}, "2025-06-01T09:00:00Z", n=2)
for tz, spring, fall in [(NY, "20250309", "20251102"), (BER, "20250330", "20251026")]:
    for day in (spring, fall):
        iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
        before = (datetime.date.fromisoformat(iso) - datetime.timedelta(days=2)).isoformat()
        for hhmm in ("013000", "023000", "090000"):
            case(f"rrule daily {hhmm} {tz} {day}", {"rrule": f"DTSTART:{day[:6]}01T{hhmm}\nRRULE:FREQ=DAILY", "timezone": tz}, f"{before}T00:00:00Z", n=5)
        case(f"rrule hourly {tz} {day}", {"rrule": f"DTSTART:{day}T000000\nRRULE:FREQ=HOURLY", "timezone": tz}, f"{iso}T00:00:00Z", n=8)
        case(f"rrule 30 min {tz} {day}", {"rrule": f"DTSTART:{day}T000000\nRRULE:FREQ=MINUTELY;INTERVAL=30", "timezone": tz}, f"{iso}T03:00:00Z", n=8)
case("rrule DTSTART TZID is relabelled", {"rrule": "DTSTART;TZID=Europe/Berlin:20250101T090000\nRRULE:FREQ=DAILY", "timezone": NY}, "2025-06-01T00:00:00Z", n=3)
case("rrule DTSTART Z is relabelled", {"rrule": "DTSTART:20250101T090000Z\nRRULE:FREQ=DAILY", "timezone": BER}, "2025-06-01T00:00:00Z", n=3)
case("rrule weekly BYDAY in Berlin", {"rrule": "DTSTART:20250106T090000\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR", "timezone": BER}, "2025-03-27T00:00:00Z", n=6)
case("rrule monthly BYMONTHDAY", {"rrule": "DTSTART:20250101T120000\nRRULE:FREQ=MONTHLY;BYMONTHDAY=15,-1", "timezone": NY}, "2025-01-01T00:00:00Z", n=8)
case("rrule monthly 31st skips", {"rrule": "DTSTART:20250131T000000\nRRULE:FREQ=MONTHLY"}, "2025-01-01T00:00:00Z", n=6)
case("rrule leap day", {"rrule": "DTSTART:20240229T000000\nRRULE:FREQ=YEARLY"}, "2024-01-01T00:00:00Z", n=3)
case("rrule second tuesday", {"rrule": "DTSTART:20250101T100000\nRRULE:FREQ=MONTHLY;BYDAY=2TU"}, "2025-01-01T00:00:00Z", n=5)
case("rrule last friday", {"rrule": "DTSTART:20250101T100000\nRRULE:FREQ=MONTHLY;BYDAY=-1FR"}, "2025-01-01T00:00:00Z", n=5)
case("rrule BYSETPOS", {"rrule": "DTSTART:20250101T100000\nRRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"}, "2025-01-01T00:00:00Z", n=5)
case("rrule COUNT", {"rrule": "DTSTART:20250101T090000\nRRULE:FREQ=DAILY;COUNT=5"}, "2025-01-03T00:00:00Z", n=10)
case("rrule COUNT before start", {"rrule": "DTSTART:20250101T090000\nRRULE:FREQ=DAILY;COUNT=5"}, "2025-02-01T00:00:00Z", n=10)
case("rrule UNTIL", {"rrule": "DTSTART:20250101T090000\nRRULE:FREQ=DAILY;UNTIL=20250106T090000"}, "2025-01-03T00:00:00Z", n=10)
case("rrule UNTIL Z with DTSTART Z", {"rrule": "DTSTART:20250101T090000Z\nRRULE:FREQ=DAILY;UNTIL=20250106T090000Z", "timezone": BER}, "2025-01-03T00:00:00Z", n=10)
case("rrule UNTIL Z with TZID", {"rrule": "DTSTART;TZID=America/New_York:20250101T090000\nRRULE:FREQ=DAILY;UNTIL=20250106T140000Z", "timezone": NY}, "2025-01-03T00:00:00Z", n=10)
case("rrule UNTIL Z digits are relabelled", {"rrule": "DTSTART;TZID=America/New_York:20250101T090000\nRRULE:FREQ=DAILY;UNTIL=20250106T100000Z", "timezone": NY}, "2025-01-03T00:00:00Z", n=10)
case("rrule UNTIL date", {"rrule": "DTSTART:20250101T090000\nRRULE:FREQ=DAILY;UNTIL=20250105"}, "2025-01-03T00:00:00Z", n=10)
case("rrule with end", {"rrule": "DTSTART:20250101T000000\nRRULE:FREQ=HOURLY"}, "2025-01-01T00:00:00Z", "2025-01-01T05:00:00Z")
case("rrule end through fall-back", {"rrule": "DTSTART:20251101T000000\nRRULE:FREQ=MINUTELY;INTERVAL=20", "timezone": NY}, "2025-11-02T04:00:00Z", "2025-11-02T06:00:00Z")
case("rrule set two rules", {"rrule": "DTSTART:20250101T090000\nRRULE:FREQ=WEEKLY;BYDAY=MO\nRRULE:FREQ=WEEKLY;BYDAY=FR;BYHOUR=17"}, "2025-01-01T00:00:00Z", n=6)
case("rrule set with EXDATE", {"rrule": "DTSTART:20250101T090000\nRRULE:FREQ=DAILY\nEXDATE:20250103T090000,20250105T090000"}, "2025-01-01T00:00:00Z", n=6)
case("rrule set with RDATE", {"rrule": "DTSTART:20250101T090000\nRRULE:FREQ=WEEKLY;COUNT=3\nRDATE:20250104T120000,20250101T090000", "timezone": BER}, "2025-01-01T00:00:00Z", n=10)
case("rrule set with EXRULE", {"rrule": "DTSTART:20250101T090000\nRRULE:FREQ=DAILY\nEXRULE:FREQ=WEEKLY;BYDAY=SA,SU"}, "2025-01-01T00:00:00Z", n=8)
case("rrule RDATE only", {"rrule": "RDATE:20250104T120000,20250201T120000"}, "2025-01-01T00:00:00Z", n=5)
case("rrule 1000 candidates", {"rrule": "DTSTART:20250101T000000\nRRULE:FREQ=SECONDLY"}, "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z")
# Not a case: with "timezone": null Prefect's get_dates raises a TypeError
# (Praetor computes in UTC).


async def dates_or_error(model, n, start, end):
    try:
        return {"dates": await dates(model, n, start, end)}
    except Exception as exc:  # croniter raises when nothing matches in 50 years
        # Prefect's get_dates then fails as a whole; record what its
        # generator yielded before the error, which is what Praetor returns.
        parse = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00")) if s else None
        yielded = []
        try:
            for d in model._get_dates_generator(n=n, start=parse(start), end=parse(end)):
                yielded.append(d)
        except Exception:
            pass
        return {"dates": [d.isoformat() for d in sorted(yielded)], "error": f"{type(exc).__name__}: {exc}"}


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
            **(await dates_or_error(model, n, start, end)),
        })
    for schedule in VALIDITY:
        try:
            DeploymentScheduleCreate.model_validate({"schedule": schedule})
            ok = True
        except ValidationError:
            ok = False
        out["validity"].append({"schedule": schedule, "valid": ok})
    from prefect._internal.schemas.validators import normalize_rrule_string
    out["normalize"] = [
        {"rrule": r, "timezone": tz, "now": now, "normalized": normalize_rrule_string(r, now=datetime.datetime.fromisoformat(now.replace("Z", "+00:00")), timezone=tz)}
        for r, tz, now in NORMALIZE
    ]
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
    {"cron": "bogus"},
    {"cron": "H * * * *"},
    {"cron": "h * * * *"},
    {"cron": "r * * * *"},
    {"cron": "* * * * *", "timezone": "Mars/Base"},
    {"cron": "0 0 * * * * *"},
    {"cron": "0 0 * * * * * *"},
    {"cron": "0 0 * *"},
    {"cron": "*/0 * * * *"},
    {"cron": "0 0 L * 5"},
    {"cron": "0 0 * * 5L"},
    {"cron": "0 0 1W * *"},
    {"cron": "0 0 ? * *"},
    {"cron": "0 0 * ? *"},
    {"cron": "0 0 ?? * *"},
    {"cron": "0 0 * * 7"},
    {"cron": "0 0 * * 8"},
    {"cron": "0 0 * * 0-7"},
    {"cron": "0 0 * * 1-7 0"},
    {"cron": "0 0 * * 7 0"},
    {"cron": "0 0 0 * * 0"},
    {"cron": "0 0 0 * *"},
    {"cron": "0 0 * 0 *"},
    {"cron": "0 0 * 13 *"},
    {"cron": "0 0 32 * *"},
    {"cron": "@reboot"},
    {"cron": "@daily "},
    {"cron": "60 * * * *"},
    {"cron": "0 24 * * *"},
    {"cron": "1-60/5 * * * *"},
    {"cron": "5-1 * * * *"},
    {"cron": "-5 * * * *"},
    {"cron": "0 0 * * 5#6"},
    {"cron": "0 0 * * 5#0"},
    {"cron": "0 0 * * 1,5#2"},
    {"cron": "0 0 * * MON-FRI#2"},
    {"cron": "0 0 * JAN-FOO *"},
    {"cron": "0 0 * * jan"},
    {"cron": "0 0 l * *"},
    {"cron": "0 0 L-3 * *"},
    {"cron": "0 0 1-L * *"},
    {"cron": "0 0 * * L"},
    {"cron": "0 0 * * * * 1969"},
    {"cron": "0 0 * * * * 2100"},
    {"cron": "a b c d e"},
    {"cron": "0 0 * * *", "day_or": "x"},
    {"cron": "0 0 * * *", "day_or": None},
    {"cron": None},
    {"cron": ""},
    {"cron": "0,,5 * * * *"},
    {"cron": "0-5-6 * * * *"},
    {"cron": "*/5/2 * * * *"},
    {"cron": "1/5 * * * *"},
    {"cron": "** * * * *"},
    {"rrule": "garbage"},
    {"rrule": ""},
    {"rrule": "FREQ=SOMETIMES"},
    {"rrule": "FREQ=DAILY;BYDAY=XX"},
    {"rrule": "FREQ=DAILY;FOO=1"},
    {"rrule": "FREQ=DAILY;COUNT=x"},
    {"rrule": "DTSTART:20250101T090000\nRRULE:FREQ=DAILY;UNTIL=20250106T090000Z"},
    {"rrule": "DTSTART:20250101T090000Z\nRRULE:FREQ=DAILY;UNTIL=20250106T090000"},
    {"rrule": "DTSTART:20250101T090000\nFOO:BAR"},
    {"rrule": "DTSTART:notadate\nRRULE:FREQ=DAILY"},
    {"rrule": "DTSTART;TZID=Mars/Base:20250101T090000\nRRULE:FREQ=DAILY"},
    {"rrule": "RRULE;X=1:FREQ=DAILY"},
    {"rrule": "FREQ=DAILY", "timezone": "Mars/Base"},
    {"rrule": "FREQ=DAILY", "timezone": ""},
    {"rrule": "FREQ=DAILY", "extra": 1},
    {"rrule": "RDATE:" + ",".join(["20250101T000000"] * 500)},
    {"rrule": None},
]

# (rrule, timezone, now): Prefect's DTSTART injection at a fixed "now".
NORMALIZE = [
    ("FREQ=DAILY", "UTC", "2026-05-05T12:34:56Z"),
    ("FREQ=MINUTELY;INTERVAL=7", "UTC", "2026-05-05T12:34:56Z"),
    ("RRULE:FREQ=SECONDLY;INTERVAL=10", "Europe/Berlin", "2026-05-05T12:34:56Z"),
    ("FREQ=MINUTELY;COUNT=5", "UTC", "2026-05-05T12:34:56Z"),
    ("RRULE:FREQ=MINUTELY\nRRULE:FREQ=HOURLY", "UTC", "2026-05-05T12:34:56Z"),
    ("DTSTART:20250101T000000\nRRULE:FREQ=MINUTELY", "UTC", "2026-05-05T12:34:56Z"),
    ("FREQ=MINUTELY;INTERVAL=15", "America/New_York", "2026-11-01T05:50:00Z"),
]

asyncio.run(main())
