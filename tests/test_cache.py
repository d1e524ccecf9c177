"""Caches hold data, never code (issue 25, item 5): every file a build keeps for the next one is
data only and authenticated with a key that is not in the cache; a damaged, planted, foreign or
stale file is ignored and computed again, and can never change the output."""

from __future__ import annotations

import array
import dataclasses
import math
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator import cache

# -- the facility -------------------------------------------------------------------------------


def test_an_entry_is_read_back_only_with_its_purpose_its_inputs_and_the_key(tmp_path, monkeypatch):
    found = cache.entry(tmp_path, "test/1", "batch", b"\x00digest", 3, prefix="b-")
    assert found.path.parent == tmp_path and found.path.name.startswith("b-") and found.path.suffix == ".msgpack"
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


def test_prune_deletes_what_no_build_used_for_a_day(tmp_path):
    used, old, recent = (tmp_path / name for name in ("used", "old", "recent"))
    for path in (used, old, recent):
        path.write_bytes(b"x")
    os.utime(used, (0, 0))
    os.utime(old, (0, 0))
    cache.prune(tmp_path, [used])
    assert used.exists() and recent.exists() and not old.exists()


values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**100, 2**100) | st.floats(allow_nan=False) | st.text(max_size=5)
    | st.binary(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.frozensets(st.integers(), max_size=3)
    | st.dictionaries(st.text(max_size=3) | st.tuples(st.text(max_size=2), st.integers()), inner, max_size=3),
    max_leaves=20)


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
    again = cache.unpack(cache.pack({"spans": spans, "set": {"x"}, "grid": np.arange(6, dtype=np.int32).reshape(2, 3)}))
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


def test_a_search_layout_comes_back_as_it_was_and_only_for_its_universe(tmp_path):
    from types import SimpleNamespace

    import numpy as np

    from generator.search import layout_entry, load_layout, save_layout, segment_layout

    cfg = SimpleNamespace(SEARCH_SHARD_POSTINGS=7, SEARCH_TOKEN_CAP=3, SEARCH_BUCKET_SIZE=4)
    rows = [(seq, "penalty", f"{seq:016x}", {"行政相对人名称": f"盐城市示例{seq % 3}号公司", "行政处罚决定书文号": f"盐示罚〔2026〕{seq}号",
                                             "处罚决定日期": f"2026-0{seq % 9 + 1}-01"}) for seq in range(30)]
    layout = segment_layout(list(rows), 33, cfg)
    found = layout_entry(tmp_path, "universe-a")
    save_layout(found, layout)
    again = load_layout(found)
    for name, value in vars(layout).items():
        if isinstance(value, np.ndarray):
            assert getattr(again, name).dtype == value.dtype and np.array_equal(getattr(again, name), value), name
        else:
            assert getattr(again, name) == value and type(getattr(again, name)) is type(value), name
    assert load_layout(layout_entry(tmp_path, "universe-b")) is None
    other = layout_entry(tmp_path, "universe-b")
    other.path.write_bytes(found.path.read_bytes())  # a valid layout under another universe's name
    assert load_layout(other) is None
