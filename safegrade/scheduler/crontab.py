"""Crontab expressions read the way cron reads them, as APScheduler 3 triggers.

APScheduler 3's `CronTrigger.from_crontab` numbers weekdays from Monday = 0 (its issue #286): given
"0 8 * * 1-5" it runs Tuesday to Saturday. So the day-of-week field is read here with cron's meaning
(0 and 7 = Sunday, 1 = Monday; or the names sun…sat) and handed to APScheduler as day names, which
both agree on. Cron also runs a job when *either* a restricted day of month or a restricted weekday
matches, where APScheduler needs both: such an expression is refused rather than silently read
another way.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from apscheduler.triggers.cron import CronTrigger

WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
FORMAT_HINT = ("five fields 'minute hour day month weekday' in the scheduler's time zone, e.g. '0 8 * * mon-fri' "
               "(weekdays 0-7 with 0 and 7 = Sunday, or sun-sat)")
_ITEM = re.compile(r"^(?P<range>\*|(?P<first>[a-z0-9]+)(?:-(?P<last>[a-z0-9]+))?)(?:/(?P<step>\d+))?$")


class CrontabError(ValueError):
    """A crontab expression that cron would not read, or would read differently from APScheduler."""


def _day_number(token: str, *, end_of_range: bool) -> int:
    """Cron's number for a weekday token: 0-7, or a name (sun is 7 at the end of a range: fri-sun)."""
    if token.isdigit():
        number = int(token)
        if number > 7:
            raise CrontabError(f"weekday {token} is out of range 0-7")
        return number
    if token in WEEKDAYS:
        number = WEEKDAYS.index(token)
        return 7 if number == 0 and end_of_range else number
    raise CrontabError(f"unknown weekday {token!r}; use 0-7 or {', '.join(WEEKDAYS)}")


def weekday_names(field: str) -> str:
    """The day-of-week field of a crontab as a list of day names (or '*'), with cron's numbering."""
    field = field.strip().lower()
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.split(","):
        match = _ITEM.match(item)
        if match is None:
            raise CrontabError(f"weekday item {item!r} is not N, N-M, */S or N-M/S")
        if match["range"] == "*":
            first, last = 0, 6
        else:
            first = _day_number(match["first"], end_of_range=False)
            last = _day_number(match["last"], end_of_range=True) if match["last"] else first
        if last < first:
            raise CrontabError(f"weekday range {item!r} runs backwards; write it as two items, e.g. fri-sat,sun-mon")
        if match["step"] and not match["last"] and match["range"] != "*":
            raise CrontabError(f"weekday item {item!r}: a step needs a range (N-M/S or */S)")
        step = int(match["step"]) if match["step"] else 1
        if step == 0:
            raise CrontabError(f"weekday item {item!r} has a step of 0")
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(WEEKDAYS[day] for day in sorted(days))


def cron_trigger(expression: str, timezone: tzinfo | str) -> CronTrigger:
    """An APScheduler CronTrigger that fires when cron would fire `expression`, in `timezone`."""
    fields = expression.split()
    if len(fields) != 5:
        raise CrontabError(f"{expression!r} has {len(fields)} field(s); a crontab has {FORMAT_HINT}")
    minute, hour, day, month, weekday = fields
    if not day.startswith("*") and not weekday.startswith("*"):
        raise CrontabError(f"{expression!r} restricts both the day of month ({day}) and the weekday ({weekday}): "
                           "cron runs on either, APScheduler only on both; restrict one of them")
    try:
        names = weekday_names(weekday)
        return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=names, timezone=timezone)
    except CrontabError as exc:
        raise CrontabError(f"{expression!r}: {exc}") from None
    except ValueError as exc:
        raise CrontabError(f"{expression!r} is not a valid crontab ({exc}); use {FORMAT_HINT}") from None


def check_crontab(expression: str) -> str:
    """`expression` if it is a crontab this scheduler reads as cron does; CrontabError otherwise."""
    cron_trigger(expression, "UTC")
    return expression
