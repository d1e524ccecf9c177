"""Caches hold data, never code (issue 25, item 5): every file a build keeps for the next one is
data only and authenticated with a key that is not in the cache; a damaged, planted, foreign or
stale file is ignored and computed again, and can never change the output."""

from __future__ import annotations

import array
import dataclasses
import datetime as dt
import json
import math
import os
import pickle
import shlex
import shutil
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator import cache
from generator.synthetic import synth_rows, write_export

from .conftest import TODAY, SiteRoot
from .sitecheck import tree_digest

# -- the facility -------------------------------------------------------------------------------


def test_an_entry_is_read_back_only_with_its_purpose_its_inputs_and_the_key(tmp_path, monkeypatch):
    found = cache.entry(tmp_path, "test/1", "batch", b"\x00digest", 3, prefix="b-")
    assert (
        found.path.parent == tmp_path
        and found.path.name.startswith("b-")
        and found.path.suffix == ".msgpack"
    )
    assert cache.get(found) is None  # nothing yet
    assert cache.put(found, {"rows": [("a", 1), ("b", 2)]})
    assert cache.get(found) == {"rows": [("a", 1), ("b", 2)]}
    # The same file under other inputs or for another purpose is not authentic for them.
    other = cache.entry(tmp_path, "test/1", "batch", b"\x00digest", 4)
    other.path.write_bytes(found.path.read_bytes())
    assert cache.get(other) is None
    assert cache.get(cache.Entry(found.path, "test/2", found.key)) is None
    # Another key (another user, another CI secret): not authentic either.
    monkeypatch.setenv(cache.KEY_ENV, "another secret of at least 32 characters")
    assert cache.get(found) is None
    monkeypatch.delenv(cache.KEY_ENV)
    assert cache.get(found) == {"rows": [("a", 1), ("b", 2)]}
    # One byte changed anywhere, or the file cut short: ignored.
    data = found.path.read_bytes()
    for at in (0, len(cache.MAGIC), len(data) - 1):
        found.path.write_bytes(data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :])
        assert cache.get(found) is None, at
    found.path.write_bytes(data[:-1])
    assert cache.get(found) is None


def test_the_key_is_made_once_per_user_readable_by_its_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv(cache.KEY_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = tmp_path / "config" / "disclose" / "cache.key"
    first = cache.mac_key()
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) == 32
    assert cache.mac_key() == first
    monkeypatch.setattr(cache, "_KEY", [None, b""])  # another process: the same key, from the file
    assert cache.mac_key() == first
    # A relative XDG_CONFIG_HOME is ignored (XDG Base Directory Specification): ~/.config.
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.key_path() == tmp_path / "home" / ".config" / "disclose" / "cache.key"
    # The secret wins over the file; the same secret gives the same key.
    monkeypatch.setenv(cache.KEY_ENV, "a CI secret")
    assert cache.mac_key() == cache.mac_key() != first
    monkeypatch.delenv(cache.KEY_ENV)
    # A key file others can read or write is not used: this process gets a key of its own.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path.chmod(0o644)
    own = cache.mac_key()
    assert own != first and len(own) == 32
    path.chmod(0o600)
    monkeypatch.setattr(cache, "_KEY", [None, b""])  # the next process
    assert cache.mac_key() == first
    # No folder can be made for it (here: a file stands in the way): a key of this process's own.
    (tmp_path / "not a folder").write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "not a folder"))
    assert len(cache.mac_key()) == 32 and cache.mac_key() not in (first, own)


def test_prune_deletes_what_no_build_used_for_a_day(tmp_path):
    used, old, recent = (tmp_path / name for name in ("used", "old", "recent"))
    for path in (used, old, recent):
        path.write_bytes(b"x")
    os.utime(used, (0, 0))
    os.utime(old, (0, 0))
    cache.prune(tmp_path, [used])
    assert used.exists() and recent.exists() and not old.exists()


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**100), 2**100)
    | st.floats(allow_nan=False)
    | st.text(max_size=5)
    | st.binary(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.frozensets(st.integers(), max_size=3)
        | st.dictionaries(
            st.text(max_size=3) | st.tuples(st.text(max_size=2), st.integers()), inner, max_size=3
        )
    ),
    max_leaves=20,
)


@given(values)
def test_values_come_back_as_they_were_type_for_type(value):
    again = cache.unpack(cache.pack(value))
    assert again == value and _types(again) == _types(value)


def _types(value):
    if isinstance(value, dict):
        return ("dict", [(_types(k), _types(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_types(v) for v in value])
    return type(value).__name__


@cache.record_type
@dataclasses.dataclass
class Spans:
    keys: bytes
    offsets: array.array
    digests: tuple[str, str]
    stamps: tuple = ()


def test_arrays_sets_and_registered_records_come_back_and_nothing_else_is_written():
    import numpy as np

    spans = Spans(b"k" * 12, array.array("q", [0, 5]), ("a", "b"), ((1, 2, 3),))
    again = cache.unpack(
        cache.pack(
            {"spans": spans, "set": {"x"}, "grid": np.arange(6, dtype=np.int32).reshape(2, 3)}
        )
    )
    assert again["spans"] == spans and again["set"] == {"x"}
    assert again["grid"].dtype == np.int32 and again["grid"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert math.isnan(cache.unpack(cache.pack(float("nan"))))

    class Unknown:
        pass

    for value in (Unknown(), np.array([Unknown()], dtype=object), np.int64(3), Path("x")):
        with pytest.raises(TypeError):
            cache.pack(value)
    # A record type that is not registered (here: renamed in the file) is never made.
    renamed = cache.pack(spans).replace(b"test_cache.Spans", b"test_cache.Spanz")
    with pytest.raises(ValueError):
        cache.unpack(renamed)


# -- what a cached value depends on -------------------------------------------------------------


def _package(folder: Path, files: dict[str, str], monkeypatch) -> None:
    """Make ``cache.code_digest`` read the package ``files`` (name → source) in ``folder``."""
    folder.mkdir(exist_ok=True)
    for name, source in files.items():
        (folder / name).write_text(source, encoding="utf-8")
    monkeypatch.setattr(cache, "_PACKAGE", folder)
    for memo in ("_SOURCES", "_IMPORTS", "_PATHS"):  # a fresh process: every file read again
        monkeypatch.setattr(cache, memo, {})


def test_a_new_top_level_import_changes_the_digest_of_the_modules_above_it(tmp_path, monkeypatch):
    files = {
        "cache.py": "",
        "__init__.py": "",
        "a.py": "from . import b\n",
        "b.py": "X = 1\n",
        "c.py": "Y = 1\n",
        "d.py": "Z = 1\n",
    }
    _package(tmp_path / "pkg", files, monkeypatch)
    before = cache.code_digest("a")
    assert cache.code_modules("a") == {"a", "b"}

    files["b.py"] = "from .c import (\n    Y,  # a comment\n)\n\n\ndef f():\n    from .d import Z\n"
    _package(tmp_path / "pkg", files, monkeypatch)
    # D is imported inside a function: not followed
    assert cache.code_modules("a") == {
        "a",
        "b",
        "c",
    }
    assert cache.code_modules("a", "d") == {"a", "b", "c", "d"}
    after = cache.code_digest("a")
    assert after != before

    files["c.py"] = "Y = 2\n"  # a change in the new dependency reaches the digest
    _package(tmp_path / "pkg", files, monkeypatch)
    assert cache.code_digest("a") != after
    plain, lazy = cache.code_digest("a"), cache.code_digest("a", lazy=("d",))
    files["d.py"] = "Z = 2\n"  # a lazily imported module counts only when declared
    _package(tmp_path / "pkg", files, monkeypatch)
    assert cache.code_digest("a") == plain and cache.code_digest("a", lazy=("d",)) != lazy


def test_the_state_rows_digest_covers_what_parses_them():
    found = cache.code_modules("publication")
    assert {
        "publication",
        "schema",
        "normalize",
        "checkdigits",
        "entities",
        "batches",
        "incremental",
    } <= found
    # Above publication: not what makes its rows
    assert "sitemodel" not in found and "plugin" not in found


def test_a_search_layout_comes_back_as_it_was_and_only_for_its_universe(tmp_path):
    from types import SimpleNamespace

    import numpy as np

    from generator.search import layout_entry, load_layout, save_layout, segment_layout

    cfg = SimpleNamespace(
        SEARCH_SHARD_POSTINGS=7,
        SEARCH_TOKEN_CAP=3,
        SEARCH_BUCKET_SIZE=4,
        SEARCH_CODE_SHARD_WINDOWS=16,
    )
    rows = [
        (
            seq,
            "penalty",
            f"{seq:016x}",
            {
                "行政相对人名称": f"盐城市示例{seq % 3}号公司",
                "行政处罚决定书文号": f"盐示罚〔2026〕{seq}号",
                "处罚决定日期": f"2026-0{seq % 9 + 1}-01",
                "行政相对人代码_1(统一社会信用代码)": f"91320922MWW4{seq:04d}GW",
            },
        )
        for seq in range(30)
    ]
    layout = segment_layout(list(rows), 33, cfg)
    assert len(layout.windows) == 30 * 10
    found = layout_entry(tmp_path, "universe-a")
    save_layout(found, layout)
    again = load_layout(found)
    for name, value in vars(layout).items():
        if isinstance(value, np.ndarray):
            assert getattr(again, name).dtype == value.dtype and np.array_equal(
                getattr(again, name), value
            ), name
        else:
            assert getattr(again, name) == value and type(getattr(again, name)) is type(value), name
    assert load_layout(layout_entry(tmp_path, "universe-b")) is None
    other = layout_entry(tmp_path, "universe-b")
    other.path.write_bytes(found.path.read_bytes())  # a valid layout under another universe's name
    assert load_layout(other) is None


# -- builds: planted and forged cache files never run and never change the output -----------------

SIZES = {
    "penalty": 40,
    "license": 20,
    "judgment": 8,
    "pledge": 8,
    "dishonesty": 8,
    "commendation": 8,
    "evaluation": 8,
}


def _site(site: SiteRoot, monkeypatch) -> SiteRoot:
    """Every kind approved; page workers on, batches parsed in chunks by them, several search segments."""
    from generator import publication

    conf = site.path / "pelicanconf.py"
    conf.write_text(
        conf.read_text(encoding="utf-8") + "\nBUILD_WORKERS = 2\nBUILD_PARALLEL_MIN_RECORDS = 0\n"
        "SEARCH_SEGMENT_RECORDS = 30\nLIST_PAGE_SIZE = 5\n",
        encoding="utf-8",
    )
    # The forked workers parse the chunks
    monkeypatch.setattr(publication, "PARSE_CHUNK_BYTES", 4_000)
    for kind, count in SIZES.items():
        rows = synth_rows(kind, count, seed=3, today=dt.date(2026, 11, 20))
        export = write_export(site.path.parent / f"{kind}.csv", kind, rows)
        site.stage_and_approve(export, kind)
    return site


def _kept(site: SiteRoot, output: str = "output") -> dict[str, list[Path]]:
    """Every file a build keeps for the next one, by kind."""
    found = {
        folder.name: sorted(p for p in folder.iterdir() if p.is_file())
        for folder in (site.path / ".cache").iterdir()
    }
    found["manifest"] = [site.path / f".{output}.disclose-manifest"]
    found["memory"] = sorted((site.path / "reports" / "build").glob("last-published.*"))
    return found


def _clean(site: SiteRoot, today: str = TODAY) -> dict[str, str]:
    """The output of a build from scratch (no cache, no manifest) of the same input."""
    shutil.rmtree(site.path / ".cache")
    result = site.run("build", "--today", today, "--output", "clean", "--full")
    assert result.exit_code == 0, result.stderr
    return tree_digest(site.path / "clean")


class Planted:
    """A pickle that runs a shell command when it is loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


@pytest.mark.slow
def test_planted_pickles_never_run_and_never_change_the_output(site, monkeypatch, tmp_path):
    _site(site, monkeypatch)
    assert site.build().exit_code == 0
    kept = _kept(site)
    assert all(kept[name] for name in ("state", "search", "stats", "manifest", "memory")), kept
    marker = tmp_path / "planted-code-ran"
    payload = pickle.dumps(Planted(marker))
    pickle.loads(payload)  # the payload is live: loading it runs the command
    assert marker.exists()
    marker.unlink()
    # Every kept file replaced by the payload, the manifest too: the build is a clean one.
    for path in (p for files in kept.values() for p in files):
        path.write_bytes(payload)
    result = site.build()
    assert result.exit_code == 0 and "Traceback" not in result.stderr, result.stderr
    assert not marker.exists()
    # Each computed again
    assert not [p for files in _kept(site).values() for p in files if p.read_bytes() == payload]
    assert tree_digest(site.path / "output") == _clean(site)
    # Planted beside an authentic manifest, a year later: an incremental build reads every cache.
    later = "2027-11-28"
    for path in (p for name, files in _kept(site).items() if name != "manifest" for p in files):
        path.write_bytes(payload)
    result = site.build(today=later)
    assert result.exit_code == 0 and "增量" in result.stdout, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists()
    assert tree_digest(site.path / "output") == _clean(site, later)


def _forge(path: Path, edit) -> None:
    """Change the value in a kept file, keeping its format and its tag (made for the true value)."""
    from generator import cache

    data = path.read_bytes()
    head = len(cache.MAGIC) + cache.TAG_SIZE
    forged = edit(memoryview(data[head:]))
    assert forged != data[head:]
    path.write_bytes(data[:head] + forged)


def _joined(parts: list) -> bytes:
    from generator import cache

    return b"".join(bytes(memoryview(part).cast("B")) for part in cache.join_parts(parts))


def _forged_rows(payload: memoryview) -> bytes:
    """Every record's 信息来源 and subject's name forged, in the state cache's own format."""
    from generator import cache
    from generator.publication import pack_rows, unpack_rows

    def forged(row: tuple) -> tuple:
        brief = {
            name: "伪造的名称" if name in ("行政相对人名称", "当事人名称") else value
            for name, value in row[2].items()
        }
        return (*row[:2], brief, *row[3:8], "伪造的信息来源", *row[9:])

    return _joined(
        [
            pack_rows([forged(row) for row in unpack_rows(part)])
            for part in cache.split_parts(payload)
        ]
    )


def _forged_layout(payload: memoryview) -> bytes:
    """Every display row of a search layout names another subject."""
    from generator import cache

    *arrays, head = cache.split_parts(payload)
    letters, rows, sizes, tokens = cache.unpack(head)
    rows = [row.replace("盐城市", "伪造市") for row in rows]
    return _joined([*arrays, cache.pack([letters, rows, sizes, tokens])])


def _forged_value(payload: memoryview) -> bytes:
    """Statistics: the timeliness count, the overview's counts; the manifest: the downloads' counts."""
    from generator import cache
    from generator.stats import TimelinessNumbers

    value = cache.unpack(payload)
    if isinstance(value, TimelinessNumbers):
        value.count += 1000
    elif isinstance(value, dict):  # the build manifest
        for catalog in value["data"]["downloads"].values():
            for entry in catalog:
                entry["count"] += 1000
    else:  # the overview's parts: [batch key, four counters as [keys, counts]]
        for part in value:
            for _keys, counts in part[1:]:
                counts[:] = [n + 1000 for n in counts]
    return cache.pack(value)


@pytest.mark.slow
def test_forged_values_in_well_formed_cache_files_never_change_the_output(site, monkeypatch):
    """A planted wrong value: each kept file decoded, a value in it changed (a record's 信息来源 and
    subject in the state's rows, the search's display rows, the statistics, the downloads' counts in
    the manifest), written back well formed with the true value's tag."""
    _site(site, monkeypatch)
    assert site.build().exit_code == 0
    reference = tree_digest(site.path / "output")  # a build from scratch
    kept = _kept(site)
    for path in kept["state"]:
        _forge(path, _forged_rows)
    for path in kept["search"]:
        _forge(path, _forged_layout)
    for path in kept["stats"]:
        _forge(path, _forged_value)
    # Every page made from the (forged) caches
    result = site.run("build", "--today", TODAY, "--full")
    assert result.exit_code == 0 and "Traceback" not in result.stderr, result.stderr
    assert tree_digest(site.path / "output") == reference
    # The manifest forged: a build without changes would keep the downloads page it describes.
    _forge(_kept(site)["manifest"][0], _forged_value)
    result = site.build()
    assert result.exit_code == 0 and "Traceback" not in result.stderr, result.stderr
    assert tree_digest(site.path / "output") == reference
    forged = "伪造".encode()
    # Computed again
    assert not [p for files in _kept(site).values() for p in files if forged in p.read_bytes()]


def test_a_restored_manifest_publishes_its_own_source_again(site, messy):
    """Issue 25: an approved batch's manifest with another ``source`` (信息来源 of each record that
    names none) was built once; restored, a ``--full`` build still published the edited source,
    because the state cache's key left the manifest out."""
    batch = site.stage_and_approve(messy["files"]["judgment"], "judgment")
    manifest = site.batches / batch / "manifest.json"
    original = manifest.read_bytes()
    source = json.loads(original)["source"]
    edited = {**json.loads(original), "source": "伪造的信息来源"}
    manifest.write_text(json.dumps(edited, ensure_ascii=False), encoding="utf-8")
    # Published, or refused by a check of manifests: either way
    site.run("build", "--today", TODAY, "--full")
    manifest.write_bytes(original)
    result = site.run("build", "--today", TODAY, "--full")
    assert result.exit_code == 0, result.stderr
    pages = [
        p.read_text(encoding="utf-8")
        for p in (site.path / "output" / "records" / "judgment").rglob("*.html")
    ]
    assert pages and all(f"<dd>{source}</dd>" in page and "伪造" not in page for page in pages)
    assert tree_digest(site.path / "output") == _clean(site)
