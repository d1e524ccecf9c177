"""Progress on long stages: a tqdm bar in a terminal, a line per 10 % in CI, nothing otherwise.

``DISCLOSE_PROGRESS`` = ``bar`` / ``lines`` / ``off`` overrides the choice. Lines go to stderr, so
stdout stays the command's result (``batch: …``, ``已构建 …``).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

_START = time.perf_counter()  # this module is imported as the command starts


def timing(name: str) -> None:
    """``DISCLOSE_TIMING=1``: print the seconds since the command started and the stage just done
    (speed is a feature: every build can say where its time went)."""
    if os.environ.get("DISCLOSE_TIMING"):
        print(f"  [{time.perf_counter() - _START:7.1f} s] {name}", file=sys.stderr, flush=True)


def progress_mode() -> str | None:
    forced = os.environ.get("DISCLOSE_PROGRESS", "").strip().lower()
    if forced:
        return None if forced == "off" else forced
    if os.environ.get("CI"):
        return "lines"
    return "bar" if sys.stderr.isatty() else None


class StageProgress:
    """Thread-safe: worker results arrive on the executor's thread."""

    def __init__(self, label: str, total: int | None, unit: str, every: int = 100_000):
        self.label, self.total, self.unit, self.every = label, total, unit, every
        self.mode = progress_mode()
        self.done = 0
        # A small file's ingest prints nothing before its one-line result
        self._next = 0 if total else every
        self._lock = threading.Lock()
        self._bar: Any = None
        if self.mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, unit=unit, desc=label, file=sys.stderr, leave=False, dynamic_ncols=True
            )

    def advance(self, count: int = 1) -> None:
        if not self.mode or not count:
            return
        with self._lock:
            self.done += count
            if self._bar is not None:
                self._bar.update(count)
            elif self.mode == "lines":
                self._line()

    def _line(self) -> None:
        if self.total:
            percent = self.done * 100 // self.total
            if percent >= self._next:
                print(
                    f"{self.label}：{percent}%（{self.done}/{self.total} {self.unit}）",
                    file=sys.stderr,
                    flush=True,
                )
                self._next = (percent // 10 + 1) * 10
        elif self.done >= self._next:
            print(f"{self.label}：{self.done} {self.unit}", file=sys.stderr, flush=True)
            self._next = self.done + self.every

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
