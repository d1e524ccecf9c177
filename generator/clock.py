"""The wall clock, read in the site's time zone (Asia/Shanghai by default): the one place that asks
the system what day or time it is. A command reads the day once (:func:`generator.cli.parse_today`,
``--today`` overriding it) and passes the date on; timestamps (a batch staged, approved or
withdrawn) are :func:`now_iso`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from .settings import Config


def today(tz: str = "Asia/Shanghai") -> dt.date:
    """Today in ``tz``."""
    return dt.datetime.now(ZoneInfo(tz)).date()


def now_iso(cfg: Config) -> str:
    """Now in the site's time zone, to the second: ``2026-11-20T09:00:00+08:00``."""
    return dt.datetime.now(ZoneInfo(cfg.TIMEZONE)).replace(microsecond=0).isoformat()
