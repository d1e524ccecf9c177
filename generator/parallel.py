"""The build's parallel machinery, behind one small interface: page workers, their queue, their
priority, the side process and the garbage collector's pauses.

Nothing here knows what a page is. :class:`Workers` runs typed tasks (:mod:`generator.tasks`)
with a :class:`Runner` that each worker process gets through the fork, not pickled:

- the workers are forked before the publication state exists, so they inherit a small heap and
  nothing of the parent's million records is copied on write into them; a task's data travels
  pickled with it;
- tasks are taken in the order they were submitted; when this process runs out of its own work it
  takes back the tasks no worker has started, from the back of the queue (work stealing with the
  standard API: a future that has not started can be cancelled);
- without a pool (one core, a small site, no ``fork``) the same tasks run here, in the same order.

Every task depends only on its own data, so the bytes written are the same either way: the tests
in ``tests/test_build.py`` build the same site with and without workers and compare them, and
``tests/test_pipeline.py`` runs the queue with a fake runner.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol

from .forked import Forked
from .progress import StageProgress

log = logging.getLogger(__name__)


class Task(Protocol):
    """What :class:`Workers` needs of a task: how many pages it writes (for the progress line)."""

    @property
    def pages(self) -> int: ...


class Runner(Protocol):
    """Runs one task, in a worker or in this process; ``setup`` is the page context a worker forked
    before the context existed needs (None in this process)."""

    def run(self, task: Any, setup: dict[str, Any] | None = None) -> Any: ...


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


class Workers:
    """A queue of tasks for ``count`` forked worker processes running ``runner``; with ``count`` ≤ 1
    (or no ``fork``) the tasks run in this process when :meth:`start` is called."""

    def __init__(self, runner: Runner, count: int):
        self.runner = runner
        self.tasks: list[Any] = []
        self._futures: list[Future] = []
        self._results: list[Any] | None = None
        self._progress: StageProgress | None = None
        self._pool: ProcessPoolExecutor | None = None
        if count > 1 and can_fork():
            self._pool = ProcessPoolExecutor(
                max_workers=count,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_bind,
                initargs=(runner,),
            )
            # A fork pool starts all its processes on the first task
            self._pool.submit(int).result()
        self.count = count if self._pool is not None else 0

    @property
    def parallel(self) -> bool:
        return self._pool is not None

    def lower_priority(self, nice: int) -> None:
        """Lower the workers' priority by ``nice`` levels (an incremental build: the main process's
        stages are its longest path). The executor keeps its processes in a private mapping;
        without it the workers keep their priority (the bytes written do not depend on it)."""
        if self._pool is None or nice <= 0:
            return
        for process in list(getattr(self._pool, "_processes", {}).values()):
            with contextlib.suppress(OSError):
                os.setpriority(
                    os.PRIO_PROCESS, process.pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice)
                )

    def pids(self) -> list[int]:
        return (
            [process.pid for process in getattr(self._pool, "_processes", {}).values()]
            if self._pool
            else []
        )

    def run_now(self, tasks: list[Any], here: Callable[[Any], Any]) -> Callable[[], list[Any]]:
        """Hand ``tasks`` to the workers at once, outside the queue; the returned call waits for
        their results, running ``here(task)`` in this process (from the back) for those no worker
        has started (a result that need not cross a pipe may take a cheaper form)."""
        if self._pool is None:
            return lambda: [here(task) for task in tasks]
        futures = [self._pool.submit(_run, (task, None)) for task in tasks]

        def results() -> list[Any]:
            done = {
                i: here(tasks[i]) for i in range(len(futures) - 1, -1, -1) if futures[i].cancel()
            }
            return [done[i] if i in done else future.result() for i, future in enumerate(futures)]

        return results

    def submit(self, tasks: list[Any], setup: dict[str, Any] | None = None) -> None:
        """Queue ``tasks``; a worker starts on one as soon as it is free."""
        for task in tasks:
            self.tasks.append(task)
            if self._pool is not None:
                self._futures.append(self._pool.submit(_run, (task, setup)))

    def start(self, label: str) -> None:
        """Count the queued pages for the progress line; without workers, run the tasks now."""
        self._progress = progress = StageProgress(
            label, sum(task.pages for task in self.tasks), "页"
        )
        if self._pool is None:
            self._results = []
            for task in self.tasks:
                self._results.append(self.runner.run(task))
                progress.advance(task.pages)
            progress.close()
            return
        for future, task in zip(self._futures, self.tasks):
            future.add_done_callback(
                # mypy cannot infer a lambda whose default argument binds the loop's task
                lambda f, n=task.pages: None if f.cancelled() else progress.advance(n)  # type: ignore[misc]
            )

    def wait(self) -> list[Any]:
        """Every queued task's result, in queue order; a worker's error is raised here (the build
        fails and the old site stays). Tasks no worker has started run in this process."""
        if self._results is not None:
            return self._results
        try:
            results: dict[int, Any] = {}
            for index in range(len(self._futures) - 1, -1, -1):
                if self._futures[index].cancel():
                    results[index] = self.runner.run(self.tasks[index])
                    if self._progress is not None:
                        self._progress.advance(self.tasks[index].pages)
            self._results = [
                results[i] if i in results else future.result()
                for i, future in enumerate(self._futures)
            ]
        finally:
            if self._progress is not None:
                self._progress.close()
            self.close()
        return self._results

    def close(self) -> None:
        """Stop the workers (of a finished build, or of one that failed: queued tasks are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
        self._pool = None


class _Bound:
    """The runner of this worker process: bound once, when the pool forks it."""

    runner: Runner | None = None


def _bind(runner: Runner) -> None:
    _Bound.runner = runner


def _run(task_and_setup: tuple[Any, dict[str, Any] | None]) -> Any:
    assert _Bound.runner is not None
    return _Bound.runner.run(*task_and_setup)


def fork_side(work: Callable[[], Any], nice: int) -> Forked | None:
    """``work`` in a forked side process (:class:`generator.forked.Forked`) ``nice`` levels below
    this one; None when it cannot be forked: the caller then runs it in-process, only slower."""
    try:
        return Forked(work, nice=max(0, min(19, nice)))
    except OSError as error:  # no memory or processes left to fork
        log.warning("side process not started (%s): running in-process", error)
        return None


@contextlib.contextmanager
def long_lived() -> Any:
    """Build objects that live until the build ends (the state, the archives) without the cyclic
    garbage collector, then freeze them out of its scans: its full collections would otherwise walk
    millions of them again and again (docs/scaling.md gives the share of the build's time). Nothing
    built here forms reference cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.freeze()
