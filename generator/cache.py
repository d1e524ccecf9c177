"""Caches hold data, never code: the one store for everything a build keeps for the next one.

The state's parsed rows (``.cache/state/``), the search segments' layouts (``.cache/search/``), the
statistics (``.cache/stats/``), the build manifest (``.output.disclose-manifest``) and the build
report's memory of the last build are all written and read here.

Threat model: a file this build did not write is untrusted, whoever could write it. CI restores
``.cache/`` and the manifest from its cache, which anyone who can run a job on the branch may
poison. So a cache file

- is data only: MessagePack (:func:`pack`, :func:`unpack`) with a few extension types for what JSON
  lacks (tuples, sets, integers past 64 bits, ``array.array`` and NumPy arrays of plain numbers,
  and the dataclasses registered with :func:`record_type`, rebuilt from their fields). Nothing in
  a file names code to run: no pickle, no ``allow_pickle``;
- is authenticated: a BLAKE3 keyed hash (:func:`mac_key`: a CI secret, else a random key in the
  user's configuration folder, never in the cache) over its purpose, its key (every input it was
  computed from, see :func:`entry`) and its bytes. A file whose tag does not match (damaged,
  planted, written for other inputs or by another format, or with another key) reads as missing,
  and the build computes the value again: a cache can make a build slower, never different.

File layout: :data:`MAGIC` (16 bytes), the tag (32 bytes), the payload.
"""

from __future__ import annotations

import array
import contextlib
import dataclasses
import hashlib
import hmac
import importlib.metadata
import logging
import os
import re
import secrets
import struct
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import blake3
import msgpack

log = logging.getLogger(__name__)

MAGIC = b"disclose-cache\x00\x01"  # the file format: 16 bytes, then the tag, then the payload
TAG_SIZE = 32
SUFFIX = ".msgpack"
KEY_ENV = "DISCLOSE_CACHE_KEY"
KEY_FILE = ("disclose", "cache.key")  # under $XDG_CONFIG_HOME, else ~/.config
KEEP_SECONDS = 86_400  # a cache file no build has used for this long may be deleted (prune)


# -- the key ------------------------------------------------------------------------------------


def mac_key() -> bytes:
    """The 32-byte key every cache file is authenticated with, never stored in a cache.

    ``DISCLOSE_CACHE_KEY`` (a CI secret: any string, 32 or more random characters) when set; else a
    random key made once in ``$XDG_CONFIG_HOME/disclose/cache.key`` (``~/.config/…``), mode 0600,
    and used only while it is ours and no one else can read or write it. Without either (no
    home, a read-only one) each process uses a random key of its own: its caches are cold, not wrong."""
    secret = os.environ.get(KEY_ENV, "")
    path = key_path()
    memo = (secret, str(path))
    if _KEY[0] != memo:
        _KEY[:] = [memo, _derive(secret.encode("utf-8")) if secret else _key_from_file(path)]
    return _KEY[1]


_KEY: list[Any] = [None, b""]
_KEY_CONTEXT = "xinyong-yancheng disclose 2026-12 cache authentication key"


def _derive(material: bytes) -> bytes:
    return blake3.blake3(material, derive_key_context=_KEY_CONTEXT).digest()


def key_path() -> Path | None:
    base = os.environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(base):  # unset, empty or relative: ignored, as the XDG specification says
        try:
            base = str(Path.home() / ".config")
        except RuntimeError:  # no home directory
            return None
    return Path(base).joinpath(*KEY_FILE)


def _key_from_file(path: Path | None) -> bytes:
    if path is not None:
        try:
            try:
                return _derive(_read_key_file(path))
            except FileNotFoundError:
                # Another process made it first: that one is used
                with contextlib.suppress(FileExistsError):
                    _create_key_file(path)
                return _derive(_read_key_file(path))
        except (OSError, ValueError) as error:
            log.warning("缓存密钥文件 %s 不可用（%s）：本次构建不使用以前的缓存", path, error)
    return secrets.token_bytes(32)  # this process only: nothing it writes is read by another


def _read_key_file(path: Path) -> bytes:
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        if hasattr(os, "geteuid") and (st.st_uid != os.geteuid() or st.st_mode & 0o077):
            raise ValueError("它不属于当前用户，或其他用户可以读写它（应为 0600）")
        data = fh.read()
    if len(data) < 32:
        raise ValueError("内容太短")
    return data


def _create_key_file(path: Path) -> None:
    """Write a new random key, complete before it is visible: a temporary file linked to ``path``
    (FileExistsError when another process made one first: that one is used)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".cache.key-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_hex(32).encode("ascii") + b"\n")
        os.link(tmp, path)
    finally:
        os.unlink(tmp)


# -- entries ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Entry:
    """Where a cached value lives, what it is for, and the inputs it was computed from."""

    path: Path
    purpose: str  # what the payload is and its format version, e.g. "state-rows/2"
    key: bytes  # every input, as bytes: authenticated with the payload


def entry(folder: Path, purpose: str, *inputs: Any, prefix: str = "") -> Entry:
    """The entry of the value computed for ``purpose`` from ``inputs`` (strings, numbers, bytes,
    None and tuples of them: their ``repr`` is the key). Its file is named by a digest of the key,
    so each set of inputs has a file of its own; the key itself is authenticated with the value."""
    key = repr(inputs).encode("utf-8")
    name = hashlib.blake2b(purpose.encode("utf-8") + b"\0" + key, digest_size=12).hexdigest()
    return Entry(folder / f"{prefix}{name}{SUFFIX}", purpose, key)


Buffer = bytes | bytearray | memoryview


def _tag(purpose: str, key: bytes, parts: Sequence[Any]) -> bytes:
    h = blake3.blake3(key=mac_key())
    for field in (MAGIC, purpose.encode("utf-8"), key):
        h.update(len(field).to_bytes(8, "big"))
        h.update(field)
    for part in parts:
        h.update(part)
    return h.digest()


def write(found: Entry, parts: Sequence[Any], atomic: bool = True) -> bool:
    """Write a payload given as ``parts`` (bytes-like objects, written one after the other, never
    joined); False when it cannot be written (a cache that cannot be written is only slower).
    ``atomic``: through a temporary file and a rename, so a reader never sees half of it."""
    path = found.path
    # Bytes as they are in memory (arrays too)
    parts = [memoryview(part).cast("B") for part in parts]
    head = MAGIC + _tag(found.purpose, found.key, parts)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not atomic:
            with open(path, "wb") as fh:
                _write_parts(fh, head, parts)
            return True
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                _write_parts(fh, head, parts)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as error:
        log.debug("cache %s not written: %s", path, error)
        return False
    return True


def _write_parts(fh: Any, head: bytes, parts: Sequence[Any]) -> None:
    fh.write(head)
    for part in parts:
        fh.write(part)


def read(found: Entry) -> memoryview | None:
    """The payload of an entry's file, or None when it is missing or not authentic for this
    purpose and key (never an error)."""
    try:
        with open(found.path, "rb") as fh:
            head = fh.read(len(MAGIC) + TAG_SIZE)
            payload = fh.read()
    except OSError:
        return None
    if len(head) != len(MAGIC) + TAG_SIZE or head[: len(MAGIC)] != MAGIC:
        return None
    if not hmac.compare_digest(head[len(MAGIC) :], _tag(found.purpose, found.key, [payload])):
        log.debug("cache %s ignored: not written by this build's key for these inputs", found.path)
        return None
    return memoryview(payload)


def put(found: Entry, value: Any) -> bool:
    """Write ``value`` (see :func:`pack`); False when it cannot be (nothing is raised)."""
    try:
        payload = pack(value)
    except (TypeError, ValueError, OverflowError) as error:
        log.debug("cache %s not written: %s", found.path, error)
        return False
    return write(found, [payload])


def get(found: Entry) -> Any:
    """The value of an authentic entry, or None (missing, damaged, planted or foreign)."""
    payload = read(found)
    if payload is None:
        return None
    try:
        return unpack(payload)
    except Exception as error:  # noqa: BLE001 - authentic but unreadable (another version's): a miss
        log.debug("cache %s unreadable: %s", found.path, error)
        return None


def prune(folder: Path, used: Iterable[Path]) -> None:
    """Mark the cache files this build ``used`` (their mtime is now) and delete the others that no
    build has used for :data:`KEEP_SECONDS` (leftover temporary files included): two outputs of
    one site root with different settings do not delete each other's files, and a cache does not
    grow without end."""
    keep = set()
    for path in used:
        with contextlib.suppress(OSError):
            os.utime(path)
            keep.add(path.name)
    limit = time.time() - KEEP_SECONDS
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            with contextlib.suppress(OSError):
                if path.name not in keep and path.is_file() and path.stat().st_mtime < limit:
                    path.unlink()


# -- what a cached value depends on ---------------------------------------------------------------


def code_digest(*modules: str, lazy: Iterable[str] = (), libraries: Iterable[str] = ()) -> str:
    """A digest of what a cached value is computed by: the source of ``modules`` (names in this
    package, e.g. ``"publication"``) and of every module they import at module level, transitively
    (:func:`code_modules`); of ``lazy``, modules imported inside a function, which are not followed
    unless declared here, and theirs; of this module (the file format); the versions of
    ``libraries`` and Python's. Each file is read once per process, when first asked for (at import
    time by the modules that use it), so the digest describes the code that runs."""
    h = hashlib.blake2b(
        f"python {sys.version}\nmsgpack {msgpack.version}\n".encode(), digest_size=16
    )
    for name in sorted(code_modules(*modules, *lazy) | {"cache"}):
        source = _source(name)
        h.update(f"{name} {len(source)}\n".encode())
        h.update(source)
    for library in sorted(libraries):
        try:
            h.update(f"{library} {importlib.metadata.version(library)}\n".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{library} -\n".encode())
    return h.hexdigest()


def code_modules(*modules: str) -> frozenset[str]:
    """``modules`` and every module of this package they import at module level, transitively
    (``""`` is the package's ``__init__``). Function-level imports are not followed: an import
    that a value depends on is either at the top or declared (``code_digest(lazy=...)``)."""
    found = set(modules)
    todo = list(modules)
    while todo:
        for name in module_imports(todo.pop()):
            if name not in found:
                found.add(name)
                todo.append(name)
    return frozenset(found)


def module_imports(name: str) -> frozenset[str]:
    """The package's modules that module ``name`` imports at module level: its relative
    ``from .x import y`` and ``from . import x`` statements that start a line (indented ones are
    inside a function or an ``if TYPE_CHECKING:``). Read from the source, not by importing it;
    tests/test_imports.py checks it against the syntax tree of every module."""
    found = _IMPORTS.get(name)
    if found is None:
        package = name.split(".") if _is_package(name) else name.split(".")[:-1]
        targets = set()
        for dots, module, names in _FROM_IMPORT.findall(_source(name)):
            base = ".".join(
                package[: len(package) - (len(dots) - 1)]
                + (module.decode().split(".") if module else [])
            )
            if not _is_package(base):  # from .x import y: x
                targets.add(base)
                continue
            # From . import x: x if a module
            for item in _COMMENT.sub(b"", names).strip(b"()\\ \t\n").split(b","):
                sub = f"{base}.{item.split()[0].decode()}".lstrip(".") if item.strip() else ""
                targets.add(sub if sub and _path(sub) is not None else base)
        targets.discard(name)
        found = _IMPORTS[name] = frozenset(targets)
    return found


_FROM_IMPORT = re.compile(
    rb"^from[ \t]+(\.+)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)", re.MULTILINE
)
_COMMENT = re.compile(rb"#[^\n]*")
_PACKAGE = Path(__file__).parent
_SOURCES: dict[str, bytes] = {}
_IMPORTS: dict[str, frozenset[str]] = {}
_PATHS: dict[str, Path | None] = {}


def _path(name: str) -> Path | None:
    """The file of module ``name`` of this package (``""``: its ``__init__``), or None."""
    if name not in _PATHS:
        base = _PACKAGE.joinpath(*name.split(".")) if name else _PACKAGE
        found = [
            path
            for path in (base.with_suffix(".py") if name else None, base / "__init__.py")
            if path and path.is_file()
        ]
        _PATHS[name] = found[0] if found else None
    return _PATHS[name]


def _is_package(name: str) -> bool:
    path = _path(name)
    return path is not None and path.name == "__init__.py"


def _source(name: str) -> bytes:
    source = _SOURCES.get(name)
    if source is None:
        path = _path(name)
        if path is None:
            raise ModuleNotFoundError(f"generator.{name}: no such module")
        source = _SOURCES[name] = path.read_bytes()
    return source


# -- data-only serialisation ----------------------------------------------------------------------
#
# MessagePack keeps None, booleans, integers, floats, strings, bytes, lists and dicts as they are
# (exact types only: a subclass is refused, so nothing comes back as another type). Extension
# types add tuples (dict keys among them), sets, integers past 64 bits, arrays of plain numbers and
# registered dataclasses. Chosen over JSON lines (no bytes, tuples or big integers; slower to
# read here), NumPy files (arrays only) and Arrow (a 100 MB dependency, slower to Python objects);
# see docs/dependencies.md.

_TUPLE, _SET, _FROZENSET, _BIGINT, _ARRAY, _NDARRAY, _RECORD = range(1, 8)
_ARRAY_CODES = frozenset("bBhHiIlLqQfd")
_NDARRAY_KINDS = frozenset("biuf")  # bool, signed, unsigned, float: never object arrays
_RECORDS: dict[str, type] = {}
_RECORD_NAMES: dict[type, str] = {}


def record_type(cls: type) -> type:
    """Register a dataclass whose instances may be cached: written as its name and its fields'
    values, read back by calling it with them (a dataclass's ``__init__`` only assigns them).
    Only registered classes are ever made from a cache file."""
    name = f"{cls.__module__}.{cls.__qualname__}"
    if not dataclasses.is_dataclass(cls) or getattr(cls, "__post_init__", None) is not None:
        raise TypeError(f"{name}: only a plain dataclass can be cached")
    _RECORDS[name], _RECORD_NAMES[cls] = cls, name
    return cls


def _default(obj: Any) -> msgpack.ExtType:
    kind = type(obj)
    if kind is tuple:
        return msgpack.ExtType(_TUPLE, pack(list(obj)))
    if kind is set or kind is frozenset:
        return msgpack.ExtType(_SET if kind is set else _FROZENSET, pack(list(obj)))
    if kind is int:  # past 64 bits (MessagePack's own integers hold the others)
        return msgpack.ExtType(
            _BIGINT, obj.to_bytes((obj.bit_length() + 8) // 8, "big", signed=True)
        )
    if kind is array.array:
        return msgpack.ExtType(_ARRAY, obj.typecode.encode("ascii") + obj.tobytes())
    if kind in _RECORD_NAMES:
        values = [getattr(obj, f.name) for f in dataclasses.fields(obj)]
        return msgpack.ExtType(_RECORD, pack([_RECORD_NAMES[kind], values]))
    if (
        kind.__module__ == "numpy"
        and kind.__name__ == "ndarray"
        and obj.dtype.kind in _NDARRAY_KINDS
    ):
        return msgpack.ExtType(_NDARRAY, pack([obj.dtype.str, list(obj.shape), obj.tobytes()]))
    raise TypeError(f"cannot cache a {kind.__module__}.{kind.__qualname__}")


def _ext(code: int, data: bytes) -> Any:
    if code == _TUPLE:
        return tuple(unpack(data))
    if code == _SET:
        return set(unpack(data))
    if code == _FROZENSET:
        return frozenset(unpack(data))
    if code == _BIGINT:
        return int.from_bytes(data, "big", signed=True)
    if code == _ARRAY:
        typecode = data[:1].decode("ascii")
        if typecode not in _ARRAY_CODES:
            raise ValueError(f"array type {typecode!r}")
        found = array.array(typecode)
        found.frombytes(data[1:])
        return found
    if code == _NDARRAY:
        import numpy as np

        dtype, shape, raw = unpack(data)
        dtype = np.dtype(dtype)
        if dtype.kind not in _NDARRAY_KINDS or dtype.hasobject:
            raise ValueError(f"array dtype {dtype}")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if code == _RECORD:
        name, values = unpack(data)
        cls = _RECORDS.get(name)
        if cls is None or len(values) != len(dataclasses.fields(cls)):
            raise ValueError(f"record {name!r}")
        return cls(*values)
    raise ValueError(f"extension type {code}")


def pack(value: Any) -> bytes:
    """``value`` as MessagePack; TypeError for anything that would not come back as it is."""
    return msgpack.packb(
        value, default=_default, strict_types=True, use_bin_type=True, datetime=False
    )


def unpack(data: Buffer) -> Any:
    """What :func:`pack` made (any error for anything else: callers treat it as a miss)."""
    return msgpack.unpackb(
        data, ext_hook=_ext, raw=False, use_list=True, strict_map_key=False, timestamp=0
    )


# -- a payload of several parts -----------------------------------------------------------------


def join_parts(parts: Sequence[Any]) -> list[Any]:
    """Parts (bytes-like: bytes, memoryviews, NumPy arrays) to write one after the other
    (:func:`write`) as one payload that :func:`split_parts` cuts again without copying: their
    count and sizes (8 bytes each, so a part whose predecessors are multiples of 8 bytes long
    starts 8-byte aligned), then the parts."""
    sizes = [memoryview(part).nbytes for part in parts]
    return [struct.pack(f"<{len(parts) + 1}Q", len(parts), *sizes), *parts]


def split_parts(payload: memoryview) -> list[memoryview]:
    (count,) = struct.unpack_from("<Q", payload)
    sizes = struct.unpack_from(f"<{count}Q", payload, 8)
    at, found = 8 + 8 * count, []
    for size in sizes:
        found.append(payload[at : at + size])
        at += size
    if at != len(payload):
        raise ValueError("payload parts do not cover it")
    return found
