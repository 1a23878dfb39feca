"""Generate a sharded data set: planning, workers, resume, manifest, progress.

Shard ``k`` always holds sequences ``k*N .. k*N+N-1`` and every sequence
draws from its own seed (:func:`lihmr_ros.synth.shards.sequence_seed`), so
the bytes of a shard depend only on (config, seed, k), never on the number of
workers or on which run produced it.  A rerun into the same directory skips
shards whose file still matches the hash in the manifest and regenerates the
rest, which makes long generations resumable after a crash or a kill.

Torch runs single-threaded during generation: multi-threaded reductions may
round differently from run to run, which would break byte-identical output;
parallelism comes from worker processes instead (one per core).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from lihmr_ros.synth.config import SynthConfig, config_from_dict
from lihmr_ros.synth.shards import (
    FORMAT_NAME,
    FORMAT_VERSION,
    file_sha256,
    pack_sequences,
    read_manifest,
    sequence_seed,
    shard_entry,
    shard_name,
    totals,
    write_manifest,
    write_npz,
)


@dataclass(frozen=True)
class ShardTask:
    index: int
    first_sequence: int
    count: int


@dataclass(frozen=True)
class GenerationSummary:
    """What a run did; ``samples_per_second`` counts frames generated in this run."""

    shards_written: int
    shards_skipped: int
    sequences_generated: int
    frames_generated: int
    seconds: float
    manifest: dict[str, Any]

    @property
    def samples_per_second(self) -> float:
        return self.frames_generated / self.seconds if self.seconds > 0 else 0.0


def plan_shards(sequences: int, per_shard: int) -> list[ShardTask]:
    if sequences < 1:
        raise ValueError(f"the number of sequences must be >= 1, got {sequences}")
    return [
        ShardTask(index=k, first_sequence=start, count=min(per_shard, sequences - start))
        for k, start in enumerate(range(0, sequences, per_shard))
    ]


def base_seed(seed: int, config: SynthConfig) -> int:
    """The seed sequences are derived from: the user's seed shifted by the split's offset."""
    return int(seed) + int(config.seed_offset)


@contextmanager
def single_threaded_torch() -> Iterator[None]:
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


WORKER_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Thread-pool sizes that numpy's BLAS and OpenMP read once, when a worker process imports them."""


@contextmanager
def single_threaded_children() -> Iterator[None]:
    """Processes spawned inside start with one BLAS / OpenMP thread each (a user's own setting wins).

    Workers limit torch and OpenCV themselves, but numpy's BLAS sizes its thread pool from the environment when
    the worker imports numpy, before any initializer runs; with one pool of every core per worker, 15 workers on
    a 16-core GPU machine made 120 sequences in 330 s, and 2,456 in 240 s with one thread each
    (docs/model_card.md, phase 12).
    """
    added = [name for name in WORKER_THREAD_VARIABLES if name not in os.environ]
    os.environ.update({name: "1" for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _new_manifest(config: SynthConfig, seed: int, sequences: int) -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "split": config.split,
        "seed": int(seed),
        "sequences": int(sequences),
        "config": config.to_dict(),
        "software": _software_versions(),
        "shards": [],
        "counts": {},
        "timing": {},
    }


def _software_versions() -> dict[str, str]:
    from importlib import metadata

    versions = {}
    for package in ("anny", "mediapipe", "torch", "numpy", "opencv-contrib-python", "moderngl"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "missing"
    return versions


def _as_read_today(stored: Any) -> Any:
    """A manifest's config as this code reads it: settings added since it was written take their defaults, which
    reproduce what the older code did, so a new setting does not orphan the data sets being resumed."""
    if not isinstance(stored, dict):
        return stored
    values = dict(stored)
    split = values.pop("split", "train")
    try:
        # The stored dict already holds its split's overrides: read it as "train" so they are not applied twice.
        return {**config_from_dict(values, "train").to_dict(), "split": split}
    except ValueError:  # settings this code does not know (a newer version wrote it): differs as it is
        return stored


def _check_compatible(existing: dict[str, Any], fresh: dict[str, Any], directory: Path) -> None:
    existing = {**existing, "config": _as_read_today(existing.get("config"))}
    for key in ("format", "format_version", "split", "seed", "config"):
        if existing.get(key) != fresh[key]:
            raise ValueError(
                f"{directory} already holds a synthetic data set with a different {key} "
                f"({existing.get(key)!r:.80} != {fresh[key]!r:.80}); choose another --out directory or delete it"
            )


def _reusable(entry: dict[str, Any], task: ShardTask, directory: Path) -> bool:
    path = directory / shard_name(task.index)
    return (
        entry.get("file") == path.name
        and entry.get("first_sequence") == task.first_sequence
        and entry.get("sequences") == task.count
        and path.is_file()
        and path.stat().st_size == entry.get("bytes")
        and file_sha256(path) == entry.get("sha256")
    )


_WORKER_GENERATOR = None


def _worker_init(config: SynthConfig, limit_threads: bool) -> None:
    """Build one generator per worker process (model loading and GL context cost ~2-3 s once)."""
    global _WORKER_GENERATOR
    if limit_threads:
        os.environ.setdefault("LP_NUM_THREADS", "1")  # llvmpipe: one render thread per worker process
    import cv2
    import torch

    from lihmr_ros.synth.generator import SequenceGenerator

    torch.set_num_threads(1)
    if limit_threads:
        cv2.setNumThreads(1)
    _WORKER_GENERATOR = SequenceGenerator(config)


def _produce_shard(task: ShardTask, directory: str, seed: int) -> tuple[ShardTask, dict[str, Any]]:
    generator = _WORKER_GENERATOR
    sequences = [generator.generate(sequence_seed(seed, index)) for index in range(task.first_sequence, task.first_sequence + task.count)]
    arrays = pack_sequences(sequences)
    path = Path(directory) / shard_name(task.index)
    write_npz(path, arrays)
    return task, shard_entry(path, task.first_sequence, arrays)


def _produce_shard_star(arguments: tuple[ShardTask, str, int]) -> tuple[ShardTask, dict[str, Any]]:
    return _produce_shard(*arguments)


def generate_dataset(
    directory: Path,
    config: SynthConfig,
    seed: int,
    sequences: int,
    workers: int = 1,
    progress: bool = True,
) -> GenerationSummary:
    """Generate (or complete) the data set in ``directory``; returns what was done."""
    global _WORKER_GENERATOR
    from tqdm import tqdm

    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tasks = plan_shards(sequences, config.output.sequences_per_shard)
    manifest = _new_manifest(config, seed, sequences)
    existing = read_manifest(directory)
    previous_entries: dict[str, dict[str, Any]] = {}
    if existing is not None:
        _check_compatible(existing, manifest, directory)
        previous_entries = {entry["file"]: entry for entry in existing.get("shards", [])}

    entries: dict[int, dict[str, Any]] = {}
    todo: list[ShardTask] = []
    for task in tasks:
        entry = previous_entries.get(shard_name(task.index))
        if entry is not None and _reusable(entry, task, directory):
            entries[task.index] = entry
        else:
            todo.append(task)
    skipped = len(entries)

    def record(task: ShardTask, entry: dict[str, Any]) -> None:
        entries[task.index] = entry
        manifest["shards"] = [entries[k] for k in sorted(entries)]
        manifest["counts"] = totals(manifest["shards"])
        write_manifest(directory, manifest)

    record_start = time.perf_counter()
    frames_generated = 0
    bar = tqdm(total=sum(t.count for t in todo), unit="seq", disable=not progress, desc=f"synth {config.split}")
    seed_base = base_seed(seed, config)
    try:
        if workers == 1 or len(todo) <= 1:
            with single_threaded_torch():
                from lihmr_ros.synth.generator import SequenceGenerator

                _WORKER_GENERATOR = SequenceGenerator(config) if todo else None
                try:
                    for task in todo:
                        done, entry = _produce_shard(task, str(directory), seed_base)
                        frames_generated += entry["frames"]
                        record(done, entry)
                        bar.update(done.count)
                        bar.set_postfix(samples_per_s=f"{frames_generated / (time.perf_counter() - record_start):.1f}")
                finally:
                    if _WORKER_GENERATOR is not None:
                        _WORKER_GENERATOR.close()
                    _WORKER_GENERATOR = None
        else:
            context = multiprocessing.get_context("spawn")
            with single_threaded_children(), context.Pool(
                workers, initializer=_worker_init, initargs=(config, True)
            ) as pool:
                arguments = [(task, str(directory), seed_base) for task in todo]
                for done, entry in pool.imap_unordered(_produce_shard_star, arguments):
                    frames_generated += entry["frames"]
                    record(done, entry)
                    bar.update(done.count)
                    bar.set_postfix(samples_per_s=f"{frames_generated / (time.perf_counter() - record_start):.1f}")
    finally:
        bar.close()
    seconds = time.perf_counter() - record_start
    manifest["shards"] = [entries[k] for k in sorted(entries)]
    manifest["counts"] = totals(manifest["shards"])
    manifest["timing"] = {
        "seconds": round(seconds, 3),
        "frames_generated": frames_generated,
        "samples_per_second": round(frames_generated / seconds, 3) if seconds > 0 else 0.0,
        "workers": workers,
    }
    write_manifest(directory, manifest)
    return GenerationSummary(
        shards_written=len(todo),
        shards_skipped=skipped,
        sequences_generated=sum(t.count for t in todo),
        frames_generated=frames_generated,
        seconds=seconds,
        manifest=manifest,
    )
