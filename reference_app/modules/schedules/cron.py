"""Refuse a bad cron line or time zone where it is given, not when it should have run.

taskiq's scheduler checks a cron line only when it evaluates it: a malformed one is logged as a
warning every second and never runs, and one pycron reads but that can never match
(``61 * * * *``) is silently never due. ``check_cron`` says what is wrong at once.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# minute hour day-of-month month day-of-week, with the ranges pycron understands
FIELDS = [("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
          ("day of week", 0, 6)]  # fmt: skip
NAMES = {
    "month": ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    "day of week": ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}
ITEM = re.compile(r"^(\*|(\w+)(?:-(\w+))?)(?:/(\d+))?$")


def _number(field: str, text: str, low: int, high: int) -> int:
    names = NAMES.get(field, [])
    if text.lower() in names:
        return names.index(text.lower()) + (1 if field == "month" else 0)
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{field} {text!r} is not in {low}-{high}")
    return int(text)


def check_cron(line: str) -> str:
    """``line`` if it is a valid 5-field cron line; else ValueError saying which field."""
    parts = line.split()
    if len(parts) != 5:
        raise ValueError(
            f"a cron line has 5 fields (minute hour day month weekday), not {len(parts)}"
        )
    for part, (field, low, high) in zip(parts, FIELDS, strict=True):
        for item in part.split(","):
            match = ITEM.match(item)
            if match is None:
                raise ValueError(f"{field} {item!r} is not a number, range, list or */step")
            _star, first, last, step = match.groups()
            if first is not None:
                start = _number(field, first, low, high)
                if last is not None and _number(field, last, low, high) < start:
                    raise ValueError(f"{field} range {item!r} goes backwards")
            if step is not None and int(step) == 0:
                raise ValueError(f"{field} step in {item!r} is 0")
    return line


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone this machine knows (``Europe/Paris``, ``UTC``)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. Europe/Paris)") from None
    return name
