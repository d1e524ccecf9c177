"""The build's pipeline pieces on their own, without a Pelican run: the plan's order of steps and
the workers' queue (docs/architecture.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.incremental import Manifest
from generator.parallel import Workers
from generator.plan import BuildPlan
from generator.publication import State
from generator.settings import Config


def test_a_plan_step_run_before_the_one_it_needs_fails_loudly():
    """On an incremental build, grouping the archives before the changed records are known would
    silently rewrite no changed archive: the plan refuses instead."""
    plan = BuildPlan(
        Path("."), Config(), State(dt.date(2026, 11, 20)), Manifest("new"), Manifest("old")
    )
    with pytest.raises(AssertionError, match="record_tasks"):
        plan.group_entities()
    with pytest.raises(AssertionError, match="group_entities"):
        plan.archive_tasks()


@dataclass
class Double:
    value: int
    pages: int = 1


class Doubler:
    def __init__(self) -> None:
        self.here: list[int] = []  # the tasks run in this process

    def run(self, task: Double, setup: dict | None = None) -> int:
        self.here.append(task.value)
        return 2 * task.value + (setup or {}).get("add", 0)


@pytest.mark.parametrize("count", [0, 2])
def test_workers_return_every_result_in_queue_order(count):
    """With two forked workers or none, every task's result comes back in the order submitted;
    tasks the workers have not started when this process waits run here (work stealing)."""
    runner = Doubler()
    workers = Workers(runner, count)
    assert workers.parallel == (count > 1)
    workers.submit([Double(i) for i in range(200)], {"add": 1})
    workers.start("测试")
    results = workers.wait()
    # In a worker the setup arrives with the task; in this process the runner has its own context.
    assert [r - (1 if r % 2 else 0) for r in results] == [2 * i for i in range(200)]
    if count == 0:
        assert runner.here == list(range(200))
    assert not workers.parallel  # closed once waited for
