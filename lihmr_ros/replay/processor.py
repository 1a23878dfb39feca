"""Run the node's pipeline over every image of a bag, in order, and write input plus results to a new bag.

What matches the live node (so the same frames give the same meshes):

* the pipeline is built by the node's start-up code from the node's
  parameters (:func:`lihmr_ros.ros.startup.load_pipeline`);
* each image is decoded by the node's converters and processed with the
  camera_info received before it, or with the assumed camera after an unusable
  camera_info; an unusable image is skipped and counted, as the node does;
* output headers carry the image's stamp (the bag's receive time for an
  unstamped image, which is what a node on ``use_sim_time`` uses) and its
  frame (``frame_id`` parameter when empty); outputs are stored at the image's
  bag time.

Unlike the live node nothing is dropped: every image is processed.  Images
before the first camera_info use the bag's first camera_info (a recording
usually starts a few milliseconds before the driver's first camera_info).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from lihmr_ros.bag import BagReader, BagWriter
from lihmr_ros.geometry.intrinsics import CameraIntrinsics
from lihmr_ros.imaging import ImageConversionError, compressed_to_rgb, image_to_rgb
from lihmr_ros.replay.outputs import OUTPUT_TYPES, OutputBuilder, output_header
from lihmr_ros.replay.topics import ReplayTopicError, ReplayTopics, choose_topics
from lihmr_ros.ros.settings import NodeSettings
from lihmr_ros.ros.startup import load_pipeline

LOGGER = logging.getLogger("lihmr_ros.replay")


@dataclass(frozen=True)
class ReplayOptions:
    """What to process and how, beyond the node's parameters."""

    image_topic: str | None = None
    """Camera image topic; ``None``: the bag's only image topic (see :func:`choose_topics`)."""
    camera_info_topic: str | None = None
    """``None``: ``camera_info`` beside the image topic, or the bag's only CameraInfo topic."""
    intrinsics: tuple[float, float, float, float] | None = None
    """``(fx, fy, cx, cy)`` in pixels of the bag's images, for bags without camera_info."""
    assume_intrinsics: bool = False
    """Without camera_info, place people with the assumed camera (distances are then guesses)."""
    namespace: str = "/replay"
    """Output topics are ``<namespace>/humans`` etc."""
    overlay: bool = False
    storage: str | None = None
    """Output bag storage, ``mcap`` or ``sqlite3``; ``None``: the input's."""


@dataclass
class ReplaySummary:
    """What one replay did, for the command's report."""

    input_path: Path
    output_path: Path
    topics: ReplayTopics
    images: int = 0
    processed: int = 0
    bad_images: int = 0
    bad_camera_infos: int = 0
    frames_with_people: int = 0
    people: int = 0
    floor_sized_people: int = 0
    """Person-frames whose size and distance the floor (``ground.*``) set."""
    floor_clamped_people: int = 0
    """Of those, person-frames held at the floor-scale clamp: the floor and the body disagree (check the mount)."""
    pipeline_ms: float = 0.0
    wall_s: float = 0.0
    written: dict[str, int] = field(default_factory=dict)
    """Messages in the output bag per topic."""
    skipped_topics: list[str] = field(default_factory=list)
    """Input topics not copied to the output."""
    camera: str = ""
    """Where the intrinsics came from."""
    first_error: str = ""
    """The first image or camera_info problem, to show the user (the rest are only counted)."""


def output_topics(namespace: str) -> dict[str, str]:
    """Output topic name -> type, under ``namespace``."""
    prefix = "/" + namespace.strip("/") if namespace.strip("/") else ""
    return {f"{prefix}/{name}": msgtype for name, msgtype in OUTPUT_TYPES.items()}


def _input_storage(path: Path) -> str:
    return "sqlite3" if any(path.glob("*.db3")) else "mcap"


def _stamp_seconds(sec: int, nanosec: int) -> float:
    return float(sec) + 1e-9 * float(nanosec)


class _CameraState:
    """The intrinsics for the next image: latest camera_info, the first one before it, or the command line's."""

    def __init__(self, fixed: tuple[float, float, float, float] | None) -> None:
        self._fixed = fixed
        self.current: CameraIntrinsics | None = None

    def for_image(self, width: int, height: int) -> CameraIntrinsics | None:
        if self._fixed is not None:
            fx, fy, cx, cy = self._fixed
            return CameraIntrinsics(fx=fx, fy=fy, cx=cx, cy=cy, width=width, height=height)
        return self.current


def process_bag(
    input_path: Path,
    output_path: Path,
    settings: NodeSettings,
    options: ReplayOptions = ReplayOptions(),
    progress: Callable[[int, int], None] | None = None,
) -> ReplaySummary:
    """Process every image of ``input_path`` into ``output_path``; ``progress(done, total)`` after each image.

    Raises :class:`ReplayTopicError` when the camera topics cannot be chosen or
    there are no intrinsics, :class:`~lihmr_ros.ros.settings.SettingsError` for
    parameters the node would refuse, ``FileExistsError`` for an existing output.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    if output_path.exists():
        raise FileExistsError(f"output bag {output_path} exists already; remove it or choose another path")
    started = time.monotonic()
    with BagReader(input_path) as reader:
        topics = choose_topics(reader.topics, options.image_topic, options.camera_info_topic)
        summary = ReplaySummary(input_path, output_path, topics)
        camera = _CameraState(options.intrinsics)
        summary.camera = _check_intrinsics_source(reader, topics, options, camera)
        outputs = output_topics(options.namespace)
        clashes = sorted(set(outputs) & set(reader.topics))
        if clashes:
            raise ReplayTopicError(
                f"the bag already has {', '.join(clashes)}; choose another output namespace with --namespace"
            )
        if not options.overlay:
            outputs = {name: msgtype for name, msgtype in outputs.items() if not name.endswith("/overlay")}
        total = reader.counts.get(topics.image, 0)
        loaded = load_pipeline(settings, LOGGER)
        try:
            with BagWriter(output_path, options.storage or _input_storage(input_path), reader.typestore) as writer:
                for name, msgtype in reader.topics.items():
                    if msgtype in reader.typestore.types:
                        writer.add_topic(name, msgtype)
                    else:
                        summary.skipped_topics.append(f"{name} ({msgtype}: definition unknown, not copied)")
                for name, msgtype in outputs.items():
                    writer.add_topic(name, msgtype, latched=name.endswith("/mesh_topology"))
                _replay(reader, writer, loaded, settings, topics, camera, options, outputs, summary,
                        lambda: progress(summary.images, total) if progress else None)
                summary.written = dict(writer.counts)
        finally:
            loaded.pipeline.close()
    summary.wall_s = time.monotonic() - started
    return summary


def _check_intrinsics_source(
    reader: BagReader, topics: ReplayTopics, options: ReplayOptions, camera: _CameraState
) -> str:
    """Where intrinsics come from; preloads the bag's first camera_info. No source at all is an error."""
    if options.intrinsics is not None:
        try:
            camera.for_image(1, 1)
        except ValueError as error:
            raise ReplayTopicError(f"invalid --intrinsics: {error}") from error
        return "command line (--intrinsics)"
    if topics.camera_info is not None:
        first = next(reader.messages([topics.camera_info]), None)
        if first is not None:
            try:
                camera.current = CameraIntrinsics.from_camera_info(reader.decode(first))
            except ValueError:
                camera.current = None
            return f"camera_info topic {topics.camera_info}"
    if options.assume_intrinsics:
        return "assumed camera (--assume-intrinsics): distances are guesses"
    raise ReplayTopicError(
        f"the bag has no camera_info for {topics.image}, so people cannot be placed at metric distances; give "
        "the camera's intrinsics with --intrinsics FX FY CX CY, name the topic with --camera-info-topic, or "
        "accept guessed distances with --assume-intrinsics"
    )


def _replay(
    reader: BagReader,
    writer: BagWriter,
    loaded: Any,
    settings: NodeSettings,
    topics: ReplayTopics,
    camera: _CameraState,
    options: ReplayOptions,
    outputs: dict[str, str],
    summary: ReplaySummary,
    report_progress: Callable[[], None],
) -> None:
    builder = OutputBuilder.for_template(loaded.template)
    topic_of = {name.rsplit("/", 1)[-1]: name for name in outputs}
    decode = compressed_to_rgb if topics.compressed else image_to_rgb
    topology_written = False
    for message in reader.messages():
        if message.topic in writer.counts:
            writer.write_raw(message.topic, message.timestamp_ns, message.data)
        if message.topic == topics.camera_info:
            try:
                camera.current = CameraIntrinsics.from_camera_info(reader.decode(message))
            except ValueError as error:
                camera.current = None
                summary.bad_camera_infos += 1
                summary.first_error = summary.first_error or f"camera_info at {message.timestamp_ns} ns: {error}"
            continue
        if message.topic != topics.image:
            continue
        summary.images += 1
        image = reader.decode(message)
        stamp = image.header.stamp
        sec, nanosec = (stamp.sec, stamp.nanosec) if (stamp.sec or stamp.nanosec) else divmod(
            message.timestamp_ns, 1_000_000_000)
        header = output_header(sec, nanosec, image.header.frame_id or settings.frame_id)
        if not topology_written:
            writer.write_raw(topic_of["mesh_topology"], message.timestamp_ns, builder.topology(header))
            topology_written = True
        try:
            image_rgb = decode(image)
        except ImageConversionError as error:
            summary.bad_images += 1
            summary.first_error = summary.first_error or f"image at {message.timestamp_ns} ns: {error}"
            report_progress()
            continue
        height, width = image_rgb.shape[:2]
        result = loaded.pipeline.process(image_rgb, _stamp_seconds(sec, nanosec), camera.for_image(width, height))
        for name, data in builder.frame(result, header, image_rgb if options.overlay else None).items():
            writer.write_raw(topic_of[name], message.timestamp_ns, data)
        summary.processed += 1
        summary.frames_with_people += bool(result.people)
        summary.people += len(result.people)
        sized, clamped = settings.ground_scale.count_floor_sized(person.ground_scale for person in result.people)
        summary.floor_sized_people += sized
        summary.floor_clamped_people += clamped
        summary.pipeline_ms += result.timings_ms["total"]
        report_progress()
