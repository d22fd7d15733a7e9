"""Values from the outside (query parameters, headers) read into bounded Python values, or None for
the caller to answer with its own 400. Bounded because the obvious reads are not: `str.isdigit()`
accepts '²' (which `int()` refuses), an id past 64 bits overflows SQLite, and a date near year 1 or
9999 overflows as soon as a period is counted back or forward from it."""

from __future__ import annotations

import datetime
import re

ID_MAX = 2**31 - 1  # the largest id an integer primary key holds on every database we run on
COUNT_MAX = 2**63 - 1  # a byte count or offset: what a 64-bit integer column holds
DATE_MIN, DATE_MAX = datetime.date(1900, 1, 1), datetime.date(2999, 12, 31)

_ASCII_WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")


def whole_number(raw: str | None, *, maximum: int = ID_MAX) -> int | None:
    """A whole number written in ASCII digits, at most `maximum`; None for anything else."""
    if raw is None or not _ASCII_WHOLE_NUMBER.fullmatch(raw.strip()):
        return None
    value = int(raw.strip())
    return value if value <= maximum else None


def iso_date(raw: str | None) -> datetime.date | None:
    """An ISO date (YYYY-MM-DD) between DATE_MIN and DATE_MAX; None for anything else."""
    if raw is None:
        return None
    try:
        day = datetime.date.fromisoformat(raw.strip())
    except ValueError:
        return None
    return day if DATE_MIN <= day <= DATE_MAX else None
