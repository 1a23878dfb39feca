"""The streaming pipeline: one camera image in, every tracked person's placed 3D mesh out.

Stages, each timed (:data:`~lihmr_ros.pipeline.results.STAGES`):

1. **keypoints**: the keypoint source (BlazePose, or keypoints from a topic)
   finds the people in the image.
2. **tracking**: the tracker gives them stable ids; windows of ended tracks are
   freed.
3. **crops**: each tracked person's crop, crop-normalised keypoints and
   crop placement (``crop_info``), cut by :mod:`lihmr_ros.model.inputs`, the
   same code the training data went through.
4. **encode**: the image encoder runs on the NEWEST crop of each person only;
   features of earlier frames stay cached in the person's window, which is
   what makes a temporal model affordable per frame.
5. **infer**: one batched call of stages 1 + 2 over every person's window
   (chunked by the backend's ``max_people``).
6. **placement**: each root-relative body is moved to where its 3D joints
   reproject onto the 2D keypoints, with the camera's intrinsics; without
   them an assumed camera (focal length = image width) places the body and
   the result says ``root_is_metric=False``.  With a known floor
   (:class:`~lihmr_ros.geometry.ground.GroundPlane`) and real intrinsics,
   each person is then scaled about the camera until their feet stand on it
   (:mod:`lihmr_ros.geometry.ground`), which fixes size and distance together
   where the network could only guess them.

The pipeline holds no ROS and no threads and is deterministic for a given
backend and input sequence, so the node, offline bag replay and evaluation
share it unchanged.  Frames must arrive in time order (tracking and the
keypoint source keep state).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lihmr_ros.body.coco import mid_hip
from lihmr_ros.geometry.ground import GroundPlane, GroundScaleConfig, GroundScaler
from lihmr_ros.geometry.intrinsics import CameraIntrinsics
from lihmr_ros.geometry.placement import PlacementConfig, PlacementError, place_root
from lihmr_ros.keypoints.person import PersonKeypoints
from lihmr_ros.keypoints.source import KeypointSource
from lihmr_ros.model.inputs import CropSpec, box_from_corners, box_from_keypoints, prepare_person_frame
from lihmr_ros.pipeline.batching import encode_in_chunks, infer_in_chunks
from lihmr_ros.pipeline.results import STAGES, FrameResult, PersonResult
from lihmr_ros.pipeline.timing import StageClock
from lihmr_ros.runtime.backend import InferenceBackend, InferenceResult
from lihmr_ros.tracking.tracker import PersonTracker, TrackedPerson, TrackerConfig
from lihmr_ros.tracking.window import TrackWindows


@dataclass(frozen=True)
class WindowEntry:
    """What one frame of one person contributes to that person's window (computed once, then cached)."""

    feature: np.ndarray
    """(D,) float32 image-encoder feature of the person's crop."""
    keypoints: np.ndarray
    """(17, 3) float32 crop-normalised keypoints with confidence."""
    crop_info: np.ndarray
    """(3,) float32 crop position and size in the camera's normalised image plane."""


class StreamingPipeline:
    """Keypoints -> tracking -> per-person windows -> batched network -> metric placement."""

    def __init__(
        self,
        backend: InferenceBackend,
        keypoint_source: KeypointSource,
        crop_spec: CropSpec,
        tracker_config: TrackerConfig = TrackerConfig(),
        placement_config: PlacementConfig = PlacementConfig(),
        ground: GroundPlane | None = None,
        ground_config: GroundScaleConfig = GroundScaleConfig(),
    ) -> None:
        """The pipeline owns ``backend`` and ``keypoint_source`` and closes them in :meth:`close`.

        ``crop_spec`` must be the one the network was trained with (it is in
        the checkpoint's config): a different crop margin would feed the
        network people at a scale it never saw.  ``ground``: the floor in the
        camera frame (a static camera mount), None to keep the network's sizes.
        """
        if crop_spec.size != backend.crop_size:
            raise ValueError(
                f"crop size {crop_spec.size} does not match the backend's {backend.crop_size}: "
                "take the crop spec from the checkpoint the backend was built from"
            )
        self.backend = backend
        self.keypoint_source = keypoint_source
        self.crop_spec = crop_spec
        self.placement_config = placement_config
        self._tracker = PersonTracker(tracker_config)
        self._windows: TrackWindows[WindowEntry] = TrackWindows(backend.window)
        self.ground = ground
        """The floor people are scaled onto (None: the network's sizes); may be replaced between frames,
        e.g. from TF when the camera moves."""
        self._ground_scaler = GroundScaler(ground_config)
        self._frame_size: tuple[int, int] | None = None

    @property
    def window(self) -> int:
        """Frames per person window (the network's T)."""
        return self._windows.size

    def process(
        self, image_rgb: np.ndarray, timestamp: float, intrinsics: CameraIntrinsics | None = None
    ) -> FrameResult:
        """Recover every tracked person's mesh in ``image_rgb`` (H, W, 3) uint8, taken at ``timestamp`` s.

        ``intrinsics`` of another resolution than the image (a binned or
        resized stream) are scaled to it; ``None`` uses the assumed camera.
        """
        image_rgb = np.asarray(image_rgb)
        if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or 0 in image_rgb.shape:
            raise ValueError(f"image must be non-empty uint8 RGB (H, W, 3), got {image_rgb.dtype} {image_rgb.shape}")
        if not np.isfinite(timestamp):
            raise ValueError(f"timestamp must be a finite number of seconds, got {timestamp}")
        height, width = image_rgb.shape[:2]
        camera = _camera_for(intrinsics, width, height)
        clock = StageClock()
        ended = self._restart_if_resized(width, height)

        with clock.stage("keypoints"):
            detections = self.keypoint_source.detect(image_rgb, timestamp)
        with clock.stage("tracking"):
            tracking = self._tracker.update(detections, timestamp)
            self._forget(tracking.ended)
            ended += tracking.ended
        tracked = tracking.tracked

        people: list[PersonResult] = []
        failed = 0
        if tracked:
            with clock.stage("crops"):
                frames = [
                    prepare_person_frame(image_rgb, t.person.keypoints, camera.matrix, self.crop_spec,
                                         box=_crop_box(t.person, self.crop_spec))
                    for t in tracked
                ]
            with clock.stage("encode"):
                features = encode_in_chunks(self.backend, np.stack([frame.crop for frame in frames]))
            with clock.stage("infer"):
                window_lengths = []
                for person, frame, feature in zip(tracked, frames, features):
                    window = self._windows.push(
                        person.track_id, WindowEntry(feature, frame.keypoints, frame.crop_info)
                    )
                    window_lengths.append(len(window))
                batch = [self._windows.window(person.track_id).padded() for person in tracked]
                output = infer_in_chunks(
                    self.backend,
                    np.array([[entry.feature for entry in entries] for entries in batch], dtype=np.float32),
                    np.array([[entry.keypoints for entry in entries] for entries in batch], dtype=np.float32),
                    np.array([[entry.crop_info for entry in entries] for entries in batch], dtype=np.float32),
                )
            with clock.stage("placement"):
                for index, person in enumerate(tracked):
                    placed = self._place(person, index, output, camera, window_lengths[index])
                    if placed is None:
                        failed += 1
                    else:
                        people.append(placed)

        return FrameResult(
            timestamp=float(timestamp),
            image_width=width,
            image_height=height,
            camera=camera,
            people=people,
            ended_track_ids=ended,
            detections=len(detections),
            encoded_crops=len(tracked),
            failed_placements=failed,
            timings_ms=clock.finish(STAGES),
        )

    def reset(self) -> list[int]:
        """Forget every person (e.g. the camera was switched); returns the ids that ended."""
        ended = self._tracker.reset()
        self._forget(ended)
        self._frame_size = None
        return ended

    def _forget(self, track_ids: list[int]) -> None:
        """Drop the per-track state (windows, floor-scale history) of tracks that ended."""
        self._windows.discard(track_ids)
        self._ground_scaler.discard(track_ids)

    def close(self) -> None:
        """Release the keypoint source and the backend."""
        self.keypoint_source.close()
        self.backend.close()

    def _restart_if_resized(self, width: int, height: int) -> list[int]:
        """End all tracks when the resolution changes: boxes and cached crop placements no longer apply."""
        ended: list[int] = []
        if self._frame_size is not None and self._frame_size != (width, height):
            ended = self.reset()
        self._frame_size = (width, height)
        return ended

    def _place(
        self,
        tracked: TrackedPerson,
        index: int,
        output: InferenceResult,
        camera: CameraIntrinsics,
        window_frames: int,
    ) -> PersonResult | None:
        person = tracked.person
        relative_joints = output.joints3d[index].astype(np.float64)
        try:
            placement = place_root(relative_joints, person.keypoints, camera, box=person.box,
                                   config=self.placement_config)
        except PlacementError:
            return None
        translation = placement.translation
        joints3d = relative_joints + translation
        vertices = output.vertices[index].astype(np.float64) + translation
        scale = None
        if self.ground is not None and not camera.is_assumed:
            scale = self._ground_scaler.update(tracked.track_id, self.ground, vertices, joints3d, person.keypoints)
        if scale is not None:
            # Scaling about the camera centre keeps every point on its ray: the 2D fit is unchanged.
            joints3d, vertices = joints3d * scale, vertices * scale
        return PersonResult(
            track_id=tracked.track_id,
            score=person.score,
            window_frames=window_frames,
            vertices=vertices.astype(np.float32),
            joints3d=joints3d.astype(np.float32),
            joints2d=person.keypoints[:, :2].astype(np.float32),
            joint_confidence=person.keypoints[:, 2].astype(np.float32),
            root=mid_hip(joints3d),
            root_is_metric=placement.root_is_metric,
            placement_method=placement.method,
            reprojection_rms_px=placement.reprojection_rms_px,
            box=person.box.astype(np.float32),
            shape_params=output.shape[index].astype(np.float32),
            ground_scale=scale or 0.0,
        )


def _camera_for(intrinsics: CameraIntrinsics | None, width: int, height: int) -> CameraIntrinsics:
    """The intrinsics for an image of ``width`` x ``height``: given (rescaled if needed) or assumed."""
    if intrinsics is None:
        return CameraIntrinsics.assumed(width, height)
    if (intrinsics.width, intrinsics.height) != (width, height):
        return intrinsics.resized(width, height)
    return intrinsics


def _crop_box(person: PersonKeypoints, spec: CropSpec) -> np.ndarray:
    """The training box rule (around the confident keypoints), or the person's own box when none is confident."""
    if np.any(person.keypoints[:, 2] >= spec.min_keypoint_confidence):
        return box_from_keypoints(person.keypoints, spec)
    return box_from_corners(person.box, spec)
