"""On-disk cache of generated inference artefacts (ONNX graphs, TensorRT engines, timing caches).

Every cached file has a JSON *record* beside it naming what it was generated
from (the key) and its own SHA-256 and size.  A file is reused only when its
record's key equals the key wanted now and its bytes still hash to the
recorded digest, so a stale file (new checkpoint, other TensorRT version or
GPU), a file truncated by a crash or a full disk, or one edited by hand is
regenerated instead of being handed to onnxruntime or TensorRT.  Nothing here
unpickles: records are JSON and artefacts are opaque bytes.

Writes go to a temporary name in the same directory and are renamed into
place, artefact first and record last, so a reader never sees a record that
vouches for a half-written file, and two processes that build at the same
time both end up with a complete, consistent pair.

Unwritable cache directory: :func:`writable_cache_dir` logs a warning and
falls back to a private temporary directory that is deleted when the caller
is done, because a robot must still start when its home directory is
read-only; the price (re-export, and for TensorRT a full engine build, on
every start) is spelled out in the warning together with the fix.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Protocol

RECORD_SUFFIX = ".record.json"
CACHE_DIR_ENV = "LIHMR_ENGINE_CACHE"
"""Environment variable that overrides the default cache root (useful on robots with a data partition)."""


class Logger(Protocol):
    """What the runtime needs from a logger: satisfied by ``logging.Logger`` and rclpy's node logger."""

    def info(self, message: str) -> Any: ...

    def warning(self, message: str) -> Any: ...


def default_cache_root() -> Path:
    """``$LIHMR_ENGINE_CACHE``, else ``${XDG_CACHE_HOME:-~/.cache}/lihmr/engines``."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home).expanduser() / "lihmr" / "engines"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks (checkpoints and engines can be tens of MB)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_path(artifact: Path) -> Path:
    """Where the record of ``artifact`` lives (``<artifact>.record.json``)."""
    return artifact.with_name(artifact.name + RECORD_SUFFIX)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_record(artifact: Path) -> dict[str, Any] | None:
    """The record of ``artifact``, or None when it is missing or not a JSON object."""
    try:
        record = json.loads(record_path(artifact).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _key_problem(artifact: Path, key: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The record of ``artifact`` and None if it was made for ``key``; else (None, why not)."""
    record = read_record(artifact)
    if record is None:
        return None, "no readable record"
    stored_key = record.get("key") if isinstance(record.get("key"), dict) else {}
    if stored_key != dict(key):
        changed = sorted(name for name in set(key) | set(stored_key) if stored_key.get(name) != key.get(name))
        return None, f"key changed ({', '.join(changed)})"
    return record, None


def _content_problem(record: Mapping[str, Any], size: int, sha256: Callable[[], str]) -> str | None:
    if size != record.get("size"):
        return f"size {size} != recorded {record.get('size')} (truncated or partial write)"
    if sha256() != record.get("sha256"):
        return "content hash differs from the record (corrupt file)"
    return None


def mismatch_reason(artifact: Path, key: Mapping[str, Any]) -> str | None:
    """Why the cached ``artifact`` cannot be used for ``key``; None when it can.

    Checks, in order: record present and readable, key equal, file present,
    size and SHA-256 equal to the recorded ones.
    """
    record, problem = _key_problem(artifact, key)
    if record is None:
        return problem
    if not artifact.is_file():
        return "file missing"
    return _content_problem(record, artifact.stat().st_size, lambda: sha256_file(artifact))


def read_verified(artifact: Path, key: Mapping[str, Any]) -> tuple[bytes | None, str]:
    """``(bytes, "valid")`` of a cached artefact made for ``key``, else ``(None, why not)``.

    The bytes are read once and hashed in memory, so what is returned is
    exactly what was verified (a TensorRT engine is only deserialised after this).
    """
    record, problem = _key_problem(artifact, key)
    if record is None:
        return None, str(problem)
    try:
        data = artifact.read_bytes()
    except OSError as error:
        return None, f"unreadable ({error.strerror or error})"
    problem = _content_problem(record, len(data), lambda: sha256_bytes(data))
    return (None, problem) if problem else (data, "valid")


def store_artifact(artifact: Path, data: bytes, key: Mapping[str, Any]) -> None:
    """Write ``data`` to ``artifact`` and then its record for ``key``."""
    atomic_write_bytes(artifact, data)
    _write_record(artifact, key, sha256_bytes(data), len(data))


def record_artifact(artifact: Path, key: Mapping[str, Any]) -> None:
    """Write the record of an artefact already in place (e.g. an ONNX file written by the exporter)."""
    _write_record(artifact, key, sha256_file(artifact), artifact.stat().st_size)


def _write_record(artifact: Path, key: Mapping[str, Any], sha256: str, size: int) -> None:
    record = {"key": dict(key), "sha256": sha256, "size": size}
    atomic_write_bytes(record_path(artifact), (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())


def _is_writable_dir(path: Path) -> str | None:
    """None when ``path`` can be created and written to, else the reason it cannot."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as error:
        return f"{type(error).__name__}: {error.strerror or error}"
    return None


@contextmanager
def writable_cache_dir(requested: Path, logger: Logger) -> Iterator[tuple[Path, bool]]:
    """Yield ``(directory, persistent)``: ``requested`` if writable, else a temporary fallback.

    The fallback is removed on exit; callers load everything they need from it
    (sessions, engines) inside the ``with`` block.
    """
    requested = Path(requested).expanduser()
    problem = _is_writable_dir(requested)
    if problem is None:
        yield requested, True
        return
    fallback = Path(tempfile.mkdtemp(prefix="lihmr-engines-"))
    logger.warning(
        f"engine cache {requested} is not writable ({problem}); using temporary directory {fallback}, "
        "so ONNX graphs (and TensorRT engines) are regenerated on every start. Fix: make the directory "
        f"writable, or point the cache elsewhere (cache_dir parameter / --cache-dir / ${CACHE_DIR_ENV})"
    )
    try:
        yield fallback, False
    finally:
        shutil.rmtree(fallback, ignore_errors=True)
