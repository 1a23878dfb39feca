"""Settings -> a ready :class:`~lihmr_ros.pipeline.StreamingPipeline`, checking what the checkpoint implies.

Kept apart from the node (and free of rclpy) so bag replay can build the same
pipeline from the same settings.  Checks run cheapest first, so a wrong
``window`` or a missing checkpoint fails in milliseconds instead of after the
backend has been built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lihmr_ros.body import load_template
from lihmr_ros.body.template import MeshTemplate
from lihmr_ros.keypoints.multi_person import MultiPersonBlazePose
from lihmr_ros.model.checkpoint import CheckpointMismatchError, read_metadata
from lihmr_ros.pipeline.streaming import StreamingPipeline
from lihmr_ros.ros.locked_source import LockedExternalKeypointSource
from lihmr_ros.ros.settings import NodeSettings, SettingsError
from lihmr_ros.runtime.backend import BackendUnavailableError
from lihmr_ros.runtime.flip_averaging import AsymmetricTemplateError


@dataclass(frozen=True)
class LoadedPipeline:
    """The pipeline plus what the ROS layer needs next to it."""

    pipeline: StreamingPipeline
    template: MeshTemplate
    """The mesh template of the checkpoint (faces for ``mesh_topology``, preview for markers)."""
    external_source: LockedExternalKeypointSource | None
    """Set when ``keypoint_source`` is ``topic``: the node feeds it from the ``keypoints`` subscription."""


def load_pipeline(settings: NodeSettings, logger: Any) -> LoadedPipeline:
    """Build backend, keypoint source and pipeline; raises :class:`SettingsError` naming the parameter at fault."""
    try:
        metadata = read_metadata(settings.weights)
    except CheckpointMismatchError as error:
        raise SettingsError(f"invalid parameter 'weights': {error}") from error
    network_config = metadata["network_config"]
    if network_config.window != settings.window:
        raise SettingsError(
            f"invalid parameter 'window': {settings.window}, but checkpoint {settings.weights} was trained with a "
            f"window of {network_config.window} frames; set window:={network_config.window}"
        )
    template = load_template()
    if metadata["template_fingerprint"] != template.fingerprint():
        raise SettingsError(
            f"invalid parameter 'weights': checkpoint {settings.weights} was trained with mesh template "
            f"{metadata['template_fingerprint']}, not the installed {template.body_model}/"
            f"{template.coarse_topology} template ({template.fingerprint()})"
        )

    from lihmr_ros.runtime import create_backend

    try:
        backend = create_backend(
            settings.backend,
            settings.weights,
            max_people=settings.max_people,
            device=settings.device,
            cache_dir=settings.engine_cache_dir,
            logger=logger,
            flip_averaging=settings.flip_averaging,
        )
    except BackendUnavailableError as error:
        raise SettingsError(f"invalid parameter 'backend' ({settings.backend!r}): {error}") from error
    except CheckpointMismatchError as error:
        raise SettingsError(f"invalid parameter 'weights': {error}") from error
    except AsymmetricTemplateError as error:
        raise SettingsError(f"invalid parameter 'flip_averaging': {error}; set it to false") from error

    external_source = None
    if settings.keypoint_source == "topic":
        external_source = LockedExternalKeypointSource(settings.keypoint_max_time_difference)
        source: Any = external_source
    else:
        source = MultiPersonBlazePose(settings.detection)
        source.warm_up()
    try:
        pipeline = StreamingPipeline(backend, source, network_config.crop, settings.tracker,
                                     ground=settings.ground, ground_config=settings.ground_scale)
    except ValueError:
        backend.close()
        source.close()
        raise
    return LoadedPipeline(pipeline=pipeline, template=template, external_source=external_source)
