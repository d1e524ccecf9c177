"""What every ``disclose`` sub-command shares: the site, the clock option, the error handling and
the ``cli`` group they register on. Below the sub-command modules, which import it (not the
package), so the package's ``__init__`` can import them without a cycle.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .. import clock, pii
from ..errors import DiscloseError, UserError
from ..settings import SETTINGS_FILE, Config, load_config

_UNPRINTABLE = str.maketrans(
    {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
    | {0x2028: "\\u2028", 0x2029: "\\u2029"}
)


def one_line(message: object) -> str:
    """An error's text as the one line it must be: a file name, a cell or an argument quoted in it
    may hold line breaks or control characters, which are shown escaped (``a\\x0ab.csv``), and
    personal numbers, which are masked."""
    return pii.mask(str(message)).translate(_UNPRINTABLE)


def pin_environment() -> None:
    """Same bytes everywhere: Asia/Shanghai clock and a fixed locale for anything locale-aware."""
    os.environ["TZ"] = "Asia/Shanghai"
    os.environ.setdefault("LC_ALL", "C.UTF-8")
    if hasattr(time, "tzset"):
        time.tzset()


class Site:
    """What every command needs: the site root and its configuration."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        if not (self.root / SETTINGS_FILE).exists():
            raise UserError(
                f"{self.root} 不是站点根目录（找不到 {SETTINGS_FILE}）；请在站点根目录运行，或用 --root 指定"
            )
        self.cfg: Config = load_config(self.root)

    def today(self, value: str | None) -> dt.date:
        return parse_today(value, self.cfg.TIMEZONE)


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def parse_today(value: str | None, tz: str = "Asia/Shanghai") -> dt.date:
    """The ``--today`` clock: today in ``tz`` when the option is not given; otherwise exactly
    ``YYYY-MM-DD`` (ASCII digits) naming a real day. An empty value is refused, never the wall clock."""
    if value is None:
        return clock.today(tz)
    shown = json.dumps(value, ensure_ascii=False)[:40]  # control characters escaped: one line
    if not value.strip():
        raise UserError(
            "--today 的值为空：请写成 YYYY-MM-DD（例如 2026-11-28），或去掉 --today 以上海时间的今天为准"
        )
    if not _ISO_DAY.fullmatch(value):
        raise UserError(f"--today 的日期格式应为 YYYY-MM-DD（例如 2026-11-28）：{shown}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UserError(f"--today 的日期不存在：{shown}") from None


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our exceptions into one line + exit code; unexpected ones into exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DiscloseError as exc:
            click.echo(f"错误：{one_line(exc)}", err=True)
            sys.exit(exc.exit_code)
        except BrokenPipeError:  # output piped into `head`: not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except KeyboardInterrupt:
            click.echo("已中断", err=True)
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # pragma: no cover - last resort, still one line
            if os.environ.get("DISCLOSE_DEBUG"):
                raise
            click.echo(
                f"内部错误：{type(exc).__name__}: {one_line(exc)}（设置 DISCLOSE_DEBUG=1 可查看详细信息）",
                err=True,
            )
            sys.exit(1)

    return wrapper


def pass_site(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give the command its :class:`Site` (built lazily, so ``--help`` works anywhere)."""

    @functools.wraps(func)
    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        try:
            site = Site(ctx.find_root().obj)
        except UserError as exc:
            click.echo(f"错误：{one_line(exc)}", err=True)
            sys.exit(exc.exit_code)
        return func(site, *args, **kwargs)

    return wrapper


key_option = click.option(
    "--key",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The signing editor's private key file (default: NAME in $DISCLOSE_KEY_DIR or ~/.config/disclose/keys).",
)
today_option = click.option(
    "--today",
    metavar="YYYY-MM-DD",
    help="The clock: the day to act as (default: today in Asia/Shanghai).",
)


class DiscloseGroup(click.Group):
    """click's group, whose usage errors (a bad ``--kind`` value …) quote the value through
    :func:`one_line` like our own errors: masked, line breaks escaped."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            # click declares message Final, yet it is a plain attribute read when the error is shown
            exc.message = one_line(exc.message)  # type: ignore[misc]
            raise


@click.group(cls=DiscloseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Site root: the folder holding pelicanconf.py.",
)
@click.version_option(package_name="xinyong-yancheng", prog_name="disclose")
@click.pass_context
def cli(ctx: click.Context, root: Path) -> None:
    """信用盐城 disclosure site: ingest exports, review and approve batches, build the site."""
    pin_environment()
    ctx.obj = root
