"""Run a function in a forked child process beside the build, and take its result back.

A nightly build's main process makes a dozen passes over every published record, and the page
workers have little to do: the statistics, the feeds and the build report can run on the other
core. Forked, the child reads the parent's million records in place (copy-on-write), so nothing
is pickled to it; only its result comes back through a pipe. Its files go into the same staging
folder, which is swapped in only once everything succeeded.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
import traceback
from typing import Any, Callable


class Forked:
    """``fn()`` running in a forked child, ``nice`` levels below this process; :meth:`result`
    waits for it and returns its value or raises its exception (with the child's traceback as a note)."""

    def __init__(self, fn: Callable[[], Any], nice: int = 0):
        sys.stdout.flush()
        sys.stderr.flush()
        read, write = os.pipe()
        try:
            pid = os.fork()
        except BaseException:
            os.close(read)
            os.close(write)
            raise
        if pid == 0:
            try:
                _child(fn, nice, read, write)  # never returns
            finally:
                os._exit(1)
        os.close(write)
        self.pid, self._read = pid, read

    def result(self) -> Any:
        try:
            with os.fdopen(self._read, "rb") as pipe:
                self._read = -1
                data = pipe.read()
        except BaseException:
            self.kill()  # interrupted: do not wait for the child's work
            raise
        self._reap()
        if not data:
            raise RuntimeError("构建的辅助进程意外退出（可能内存不足），网站保持不变")
        outcome, value = pickle.loads(data)
        if outcome == "error":
            raise value
        return value

    def kill(self) -> None:
        """Stop the child of a build that failed elsewhere."""
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()
        if self._read >= 0:
            os.close(self._read)
            self._read = -1

    def _reap(self) -> None:
        if self.pid:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = 0


def _child(fn: Callable[[], Any], nice: int, read: int, write: int) -> None:
    """The forked child: run ``fn``, send its outcome, and leave with ``os._exit`` whatever
    happens (even a second Ctrl-C inside the error handler): it must never unwind into the
    parent's stack, whose cleanup would remove the staging folder the parent is building."""
    status = 1
    try:
        os.close(read)
        try:
            if nice:
                os.nice(nice)
            gc.disable()  # it lives for seconds; its garbage goes with it
            payload = pickle.dumps(("ok", fn()), protocol=5)
            status = 0
        except BaseException as error:  # noqa: BLE001 - handed to the parent, which re-raises it
            error.add_note("in the side process:\n" + traceback.format_exc())
            try:
                payload = pickle.dumps(("error", error), protocol=5)
            except Exception:  # noqa: BLE001 - an exception that cannot be pickled
                payload = pickle.dumps(("error", RuntimeError(traceback.format_exc())), protocol=5)
        with os.fdopen(write, "wb") as pipe:
            pipe.write(payload)
    finally:
        os._exit(status)  # no atexit handlers, no flushing of the parent's buffers
