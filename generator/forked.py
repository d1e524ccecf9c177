"""Run a function in a forked child process beside the build, and take its result back.

A nightly build's main process makes a dozen passes over every published record, and the page
workers have little to do: the statistics, the feeds and the build report can run on the other
core. Forked, the child reads the parent's million records in place (copy-on-write), so nothing
is pickled to it; only its result comes back through a pipe. Its files go into the same staging
folder, which is swapped in only once everything succeeded.

:func:`stream` runs a generator in a forked child whose memory is capped (``RLIMIT_AS``) and takes
its items back one by one: a reader of untrusted files (calamine, in Rust, aborts the whole process
when an allocation fails) can then only fail, never take the editor's machine down.
"""

from __future__ import annotations

import gc
import os
import pickle
import resource
import signal
import struct
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import Any


class Forked:
    """``fn()`` running in a forked child, ``nice`` levels below this process; :meth:`result`
    waits for it and returns its value or raises its exception (with the child's traceback as a note)."""

    def __init__(self, fn: Callable[[], Any], nice: int = 0):
        self.pid, self._read = _fork(lambda read, write: _child(fn, nice, read, write))

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


def _fork(child: Callable[[int, int], None]) -> tuple[int, int]:
    """Fork ``child(read, write)`` (which must end with ``os._exit``); return its pid and the
    pipe's read end."""
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
            child(read, write)  # never returns
        finally:
            os._exit(1)
    os.close(write)
    return pid, read


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


class ChildDied(Exception):
    """The child of :func:`stream` ended without finishing: killed by a signal (an allocation over
    its memory cap aborts a Rust library), out of memory, or crashed."""

    def __init__(self, status: int, out_of_memory: bool):
        super().__init__(f"child process ended early (exit status {status})")
        self.status = status
        self.out_of_memory = out_of_memory


_FRAME = struct.Struct("<Q")
_OUT_OF_MEMORY = 3  # the child's exit status after a MemoryError


def stream(produce: Callable[[], Iterator[Any]], memory_limit: int | None = None) -> Iterator[Any]:
    """The items ``produce()`` yields, produced in a forked child and pickled to this process
    through a pipe as they come (the pipe's buffer is the only backlog, so memory stays flat).

    The child's address space may grow by at most ``memory_limit`` bytes beyond what it inherited;
    its stderr goes to /dev/null (a Rust panic or abort prints a backtrace there). An exception the
    child raises is raised here; a child that dies (a failed allocation aborts it) raises
    :class:`ChildDied`, with ``out_of_memory`` when it ran into the cap. Closing the iterator
    early kills the child.
    """
    limit = None if memory_limit is None else _address_space() + memory_limit
    pid, read = _fork(lambda read, write: _stream_child(produce, limit, read, write))
    finished = False
    try:
        with os.fdopen(read, "rb") as pipe:
            while True:
                head = pipe.read(_FRAME.size)
                if len(head) < _FRAME.size:
                    break
                (size,) = _FRAME.unpack(head)
                data = pipe.read(size)
                if len(data) < size:  # died while sending
                    break
                outcome, value = pickle.loads(data)
                if outcome == "item":
                    yield value
                elif outcome == "end":
                    finished = True
                    return
                else:
                    finished = True
                    raise value
        _, status = os.waitpid(pid, 0)
        pid = 0
        memory = (
            os.WIFSIGNALED(status)
            and os.WTERMSIG(status) in (signal.SIGABRT, signal.SIGKILL, signal.SIGSEGV)
        ) or (os.WIFEXITED(status) and os.WEXITSTATUS(status) == _OUT_OF_MEMORY)
        raise ChildDied(status, memory)
    finally:
        if pid:
            if not finished:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _address_space() -> int:
    """This process's virtual size in bytes (what a forked child inherits), 0 if unknown."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _stream_child(
    produce: Callable[[], Iterator[Any]], limit: int | None, read: int, write: int
) -> None:
    """The child of :func:`stream`: cap its memory, send each item, then ``end`` or the error."""
    status = 1
    try:
        os.close(read)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        if limit and _address_space():
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            resource.setrlimit(
                resource.RLIMIT_AS,
                (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard),
            )
        with os.fdopen(write, "wb") as pipe:

            def send(outcome: str, value: Any) -> None:
                data = pickle.dumps((outcome, value), protocol=5)
                pipe.write(_FRAME.pack(len(data)))
                pipe.write(data)

            try:
                for item in produce():
                    send("item", item)
                send("end", None)
                status = 0
            except MemoryError:
                status = _OUT_OF_MEMORY
            except BaseException as error:  # noqa: BLE001 - handed to the parent, which re-raises it
                try:
                    send("error", error)
                except Exception:  # noqa: BLE001 - an exception that cannot be pickled (a Rust panic's)
                    send("error", RuntimeError(f"{type(error).__name__}: {error}"))
    finally:
        os._exit(status)
