"""The build: check the batches, run Pelican into a temporary folder, swap it in atomically.

A failure at any point (tampered batch, template error, disk full) leaves the previous
output exactly as it was: the new site is built beside it and only a complete one is
swapped in (``renameat2(RENAME_EXCHANGE)`` where the kernel has it, else two renames).
A build killed at any point leaves the old site or the new one: the next build first rolls
back what it left unfinished and frees its folders (:func:`generator.journal.recover`).
"""

from __future__ import annotations

import ctypes
import datetime as dt
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import incremental, journal
from .batches import BatchStore
from .errors import BuildError
from .fileio import forget_checksums, prefetch_checksums, wait_for_checksums
from .ledger import HEAD_FILE, Ledger, read_head
from .progress import timing
from .publication import refuse_problems
from .settings import SETTINGS_FILE, Config
from .sitemodel import entity_url, record_url

if TYPE_CHECKING:
    from .incremental import Manifest
    from .publication import State

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@dataclass
class BuildResult:
    """What a build made, filled in by the generator during the Pelican run (it reaches it through
    the setting ``DISCLOSE_RESULT``) and by :func:`build` after it."""

    state: State | None = None  # the publication state the site was built from
    old_manifest: Manifest | None = None  # the last build's page keys (None: a clean build)
    manifest: Manifest | None = None  # this build's page keys
    report: Any = None  # the build report's figures, prepared while the page workers finish
    # What an in-place build changed (None: swapped in)
    applied: incremental.ApplyResult | None = None
    # The pages a proving build (verify's cold shadow) found equal to the live site's and did not
    # write (:class:`generator.proof.PagesProved`, one per page task)
    proved: list[Any] = field(default_factory=list)
    abort: Callable[[], None] | None = None  # stops the generator's workers and side process

    @property
    def total(self) -> int:
        """The number of published records."""
        assert self.state is not None
        return self.state.total


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directory entries (Linux ≥ 3.15); False when unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def swap_in(new: Path, target: Path) -> None:
    """Make ``new`` the ``target`` folder. The old one leaves under a trash name at once and is
    freed by a detached ``rm -r`` (:func:`incremental.free_detached`), with any trash an
    interrupted build left: the new site is complete and live when this returns, and deleting
    the old one took longer than building it (on this project's VM; see docs/scaling.md,
    "Measurements behind the code") while nobody needs to wait for it. Killed after the exchange,
    the old site is left under the new one's building name, which the next build frees; the two
    renames of the fallback are journaled (:func:`journal.swap`)."""
    leftovers = incremental.abandoned_trash(target)
    try:
        if target.exists():
            # A fresh name each time: a detached free of an earlier build with this process id
            # (a container's entrypoint, a test process) may still hold the old one.
            trash = Path(
                tempfile.mkdtemp(
                    prefix=f".{target.name}.replaced-{os.getpid()}-", dir=target.parent
                )
            )
            leftovers.append(trash)
            if _exchange(new, target):
                journal.fault("swap", "exchanged")
                os.rename(new, trash)  # the old site, now at `new` (onto the empty folder)
            else:
                # No output folder between the two renames
                with journal.swap(target, old=trash, new=new):
                    os.rename(target, trash)
                    journal.fault("swap", "aside")
                    os.rename(new, target)
            journal.fault("swap", "done")
        else:
            os.rename(new, target)
    finally:
        incremental.free_detached(leftovers)


def pelican_settings(
    root: Path,
    output: Path,
    today: dt.date,
    previous: Path | None = None,
    full: bool = False,
    report: bool = True,
    result: BuildResult | None = None,
    prove_against: Path | None = None,
) -> dict:
    from pelican.settings import read_settings

    return read_settings(
        str(root / SETTINGS_FILE),
        override={
            "PATH": str(root / "content"),
            "THEME": str(root / "theme"),
            "OUTPUT_PATH": str(output),
            "DISCLOSE_TODAY": today,  # the clock, as the command made it
            "PLUGIN_PATHS": [str(root)],
            "DISCLOSE_PREVIOUS_OUTPUT": str(previous) if previous else "",
            "DISCLOSE_FULL": full,
            # A clean build's page tasks compare with this site instead of writing equal pages
            "DISCLOSE_PROVE_AGAINST": str(prove_against) if prove_against else "",
            "DISCLOSE_BUILD_REPORT": report,  # prepare the build report while the page workers finish
            "DISCLOSE_RESULT": result
            if result is not None
            else BuildResult(),  # what the generator made
        },
    )


def rollback_problem(ledger: Ledger, output: Path, published_head: Path | None = None) -> str:
    """Why a log that does not extend the head the live site (or ``published_head``, the deployed
    site's ``log-head.json``) published cannot be built, or "": entries were removed, rewritten or
    rolled back."""
    if ledger.problems:
        return ""  # a broken log is refused for what breaks it, not for the head it cannot reach
    for path in (published_head, output / HEAD_FILE):
        if path is None:
            continue
        head = read_head(path)
        if head is not None and not ledger.extends(head):
            return (
                f"发布日志没有延续上次发布的日志头（{path.name}：第 {head.entries} 条，{head.hash[:12]}…）："
                "日志被改写、删减或回退到旧版本"
            )
    return ""


def build(
    root: Path,
    cfg: Config,
    today: dt.date,
    output: Path,
    quiet: bool = True,
    full: bool = False,
    published_head: Path | None = None,
    report: bool = True,
    prove_against: Path | None = None,
) -> BuildResult:
    """Build the site for ``today`` into ``output``; return what it made (:class:`BuildResult`).

    With the manifest of the last build of ``output`` (see :mod:`generator.incremental`) only
    changed pages are rendered and applied in place; else, or with ``full``, the whole site is
    rendered into a new folder and swapped in. ``prove_against`` (verify's shadow build): when the
    build is a clean one, for whatever reason, the record and archive pages equal to that site's
    files are not written (:class:`generator.proof.Prover`); :attr:`BuildResult.proved` lists them.
    """
    result = BuildResult()
    root = root.resolve()
    output = output if output.is_absolute() else (root / output)
    _refuse_bad_inputs(root, cfg, output, published_head)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(
        tempfile.mkdtemp(prefix=f".{output.name}.building-{os.getpid()}-", dir=output.parent)
    )
    try:
        settings = pelican_settings(
            root,
            tmp,
            today,
            output if output.is_dir() else None,
            full,
            report,
            result,
            prove_against,
        )
        _run_pelican(root, settings, quiet)
        if not (tmp / "index.html").exists():
            raise BuildError("构建未生成首页，已放弃本次结果，网站保持不变")
        _put_live(tmp, output, result)
    except BaseException:
        if result.abort is not None:
            result.abort()  # queued pages must not be written into a folder being removed
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _finish(root, cfg, output, result, report)
    return result


def _refuse_bad_inputs(root: Path, cfg: Config, output: Path, published_head: Path | None) -> None:
    """Roll back a killed build's unfinished apply; refuse a tampered batch, a broken publication
    log or a rollback before anything is touched (checksums only: the plugin computes the
    publication state itself, and does the same check again). The batches are hashed on every
    core while Pelican is imported."""
    journal.recover(output)  # a killed build's unfinished apply rolled back, its folders freed
    journal.fault("build", "recovered")
    forget_checksums()
    store = BatchStore(root, cfg)
    prefetch_checksums(
        [(batch.records_path, batch.algorithm) for batch in store.all()],
        cfg.BUILD_WORKERS or os.cpu_count() or 1,
    )
    import pelican  # noqa: F401 - imported while the batches are hashed

    publication = store.publication()
    wait_for_checksums()  # no hashing thread may run when the page workers are forked
    rollback = rollback_problem(publication.ledger, output, published_head)
    refuse_problems(([rollback] if rollback else []) + publication.problems)


def _run_pelican(root: Path, settings: dict[str, Any], quiet: bool) -> None:
    from pelican import Pelican

    if quiet:
        logging.getLogger("pelican").setLevel(logging.WARNING)
        from pelican.log import console

        console.quiet = True  # Pelican's "Done: Processed 0 articles …" would confuse editors
    cwd = os.getcwd()
    os.chdir(root)
    try:
        Pelican(settings).run()
    finally:
        os.chdir(cwd)
    timing("pelican done")


def _put_live(tmp: Path, output: Path, result: BuildResult) -> None:
    """The built folder ``tmp`` swapped in as ``output`` (a clean build), or applied in place
    (an incremental one); the manifest saved with it."""
    old, new = result.old_manifest, result.manifest
    assert new is not None, "the generator did not run"
    in_units = {f for _key, files in new.units.values() for f in files}
    new.files = [
        f for f in incremental.walk_files(tmp, incremental.KEYED_TOP_FOLDERS) if f not in in_units
    ]
    if old is None:
        incremental.forget(output)
        swap_in(tmp, output)
        incremental.save(new, output)
    else:
        result.applied = incremental.apply(tmp, output, old, new, record_url, entity_url)
        shutil.rmtree(tmp)
    timing("output applied, manifest saved")


def _finish(root: Path, cfg: Config, output: Path, result: BuildResult, report: bool) -> None:
    """The build report, once the build is live; the replaced files freed."""
    from .buildreport import write_build_report

    assert result.state is not None
    try:
        if report:
            write_build_report(root, cfg, result.state, output, result.report)
    finally:
        if result.applied is not None and result.applied.trash is not None:
            result.applied.trash.wait()  # the replaced files, freed beside the manifest and the report
        if not cfg.BUILD_FREE_DETACHED:
            incremental.wait_detached()
    timing("build report written")
