"""The side process of a nightly build (generator.forked): results and errors come back, and the
child never runs its parent's cleanup (which would remove the staging folder being built); and
``stream``, the memory-capped child that reads workbooks."""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import pytest

from generator.forked import Forked


def test_a_result_and_an_error_come_back_from_the_child() -> None:
    assert Forked(lambda: {"pid": os.getpid(), "rows": list(range(3))}).result()["rows"] == [
        0,
        1,
        2,
    ]
    assert Forked(lambda: os.getpid()).result() != os.getpid()

    def fails() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left") as raised:
        Forked(fails).result()
    assert any("in the side process" in note for note in raised.value.__notes__)


def test_the_child_never_unwinds_into_the_parents_cleanup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second Ctrl-C while the child reports its first error (simulated: formatting the traceback
    is interrupted) must still end the child where it is, not in the caller's ``finally``."""
    cleanups = tmp_path / "cleanups"

    def interrupted(*args: object, **kwargs: object) -> str:
        raise KeyboardInterrupt

    def fails() -> None:
        raise ValueError("first error")

    monkeypatch.setattr(traceback, "format_exc", interrupted)
    with pytest.raises(RuntimeError, match="辅助进程意外退出"):
        try:
            side = Forked(fails)
            side.result()
        finally:
            with cleanups.open("a", encoding="utf-8") as fh:
                fh.write(f"{os.getpid()}\n")
    assert cleanups.read_text(encoding="utf-8").split() == [str(os.getpid())]


def test_a_killed_child_is_reaped() -> None:
    import time

    side = Forked(lambda: time.sleep(30))
    pid = side.pid
    side.kill()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


# -- stream: a capped child that hands its items back one by one (the Excel reader) ----------------


def test_stream_hands_back_items_in_order_and_raises_the_childs_error() -> None:
    from generator.forked import stream

    def produce():
        yield os.getpid()
        yield from range(3)

    pid, *rest = stream(produce)
    assert pid != os.getpid() and rest == [0, 1, 2]

    def fails():
        yield 1
        raise OSError(28, "No space left on device")

    items = stream(fails)
    assert next(items) == 1
    with pytest.raises(OSError, match="No space left"):
        next(items)


def test_stream_caps_the_childs_memory() -> None:
    """128 MiB over what it inherited: a 512 MiB allocation fails in the child, never here."""
    from generator.forked import ChildDied, stream

    def greedy():
        yield len(bytearray(512 << 20))

    with pytest.raises(ChildDied) as died:
        list(stream(greedy, memory_limit=128 << 20))
    assert died.value.out_of_memory
    assert list(stream(greedy, memory_limit=1 << 30)) == [512 << 20]  # within its cap


def test_closing_a_stream_early_kills_its_child() -> None:
    import time

    from generator.forked import stream

    def endless():
        yield os.getpid()
        while True:
            yield b"x" * 65536  # blocks on the full pipe

    items = stream(endless)
    child = next(items)
    items.close()
    time.sleep(0.1)
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)  # reaped already
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
