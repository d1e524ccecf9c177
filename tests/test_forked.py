"""The side process of a nightly build (generator.forked): results and errors come back, and the
child never runs its parent's cleanup (which would remove the staging folder being built)."""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import pytest

from generator.forked import Forked


def test_a_result_and_an_error_come_back_from_the_child() -> None:
    assert Forked(lambda: {"pid": os.getpid(), "rows": list(range(3))}).result()["rows"] == [0, 1, 2]
    assert Forked(lambda: os.getpid()).result() != os.getpid()

    def fails() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left") as raised:
        Forked(fails).result()
    assert any("in the side process" in note for note in raised.value.__notes__)


def test_the_child_never_unwinds_into_the_parents_cleanup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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
