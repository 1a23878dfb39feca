"""``lihmr eval-real``'s engine: do the recovered meshes fit real photos of people?

Real photos come with no 3D ground truth, so two 2D references stand in:

* **Silhouette IoU**: each person's full mesh, projected with the very camera
  the pipeline placed it with (``FrameResult.camera``: the assumed camera for
  photos without calibration), is rasterised into a mask and compared with
  MediaPipe's person segmentation (selfie segmentation, general model,
  probability > 0.5).  The segmentation does not tell people apart, so the
  comparison is restricted to a region around the person: their detection box
  grown by :data:`REGION_MARGIN` on each side, joined with the mesh's own
  bounding box so that mesh spilling out of the box still counts against it.
  The reference is itself a network: an IoU near 0.7-0.8 is already close
  agreement for a body model without hair and clothes.
* **Keypoint agreement**: the mesh-regressed 3D joints, projected the same
  way, against the BlazePose keypoints the pipeline detected (confidence
  above :data:`MIN_KEYPOINT_CONFIDENCE`): pixel error divided by the person's
  box height, and PCK@0.1 (share of joints closer than 0.1 box heights).  This
  measures how well the 3D body explains the 2D evidence it was given.

A still image has no temporal context, but the pipeline is causal and temporal
(a person is reported once the tracker confirmed them, from a window of
frames).  Each photo is therefore fed as a static video: the same image
``min_hits - 1 + window`` times, 1/30 s apart, through a fresh pipeline (new
tracker and keypoint source), so every person is confirmed and their window
is full of identical frames; the last frame's result is evaluated.

The photos come from Debian and PyPI packages (OpenCV's samples, matplotlib's
sample data, labelme's PASCAL VOC examples) and are read where those packages
installed them, never copied into the repository: their licences are not
stated per file.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lihmr_ros.body.coco import COCO17_SKELETON
from lihmr_ros.geometry.intrinsics import CameraIntrinsics
from lihmr_ros.pipeline.results import FrameResult, PersonResult

OPENCV_SAMPLES = Path("/usr/share/doc/opencv-doc/examples/data")
OPENCV_PHOTOS: tuple[str, ...] = ("messi5.jpg", "basketball1.png", "basketball2.png")
LABELME_VOC = Path("/usr/share/doc/labelme-examples/examples/bbox_detection/data_dataset_voc")
FRAME_INTERVAL_S = 1.0 / 30.0
MIN_KEYPOINT_CONFIDENCE = 0.5
PCK_THRESHOLD = 0.1
"""PCK counts joints closer than this fraction of the person's box height."""
REGION_MARGIN = 0.1
"""The comparison region grows the person's box by this fraction of its size on each side."""
SEGMENTATION_THRESHOLD = 0.5
MIN_DEPTH_M = 1e-3
SUBPIXEL_BITS = 4
"""Fractional bits of the fixed-point corners handed to OpenCV, so triangles are not snapped to whole pixels."""


@dataclass(frozen=True)
class RealPhoto:
    name: str
    path: Path


def find_real_photos() -> tuple[list[RealPhoto], list[str]]:
    """The installed photos of people, and a note for each expected one that is not installed."""
    photos: list[RealPhoto] = []
    missing: list[str] = []
    for name in OPENCV_PHOTOS:
        path = OPENCV_SAMPLES / name
        if path.is_file():
            photos.append(RealPhoto(Path(name).stem, path))
        else:
            missing.append(f"{path} not found (Debian package opencv-doc)")
    grace_hopper = _matplotlib_sample("grace_hopper.jpg")
    if grace_hopper is not None:
        photos.append(RealPhoto("grace_hopper", grace_hopper))
    else:
        missing.append("matplotlib's sample grace_hopper.jpg not found")
    voc_photos = _voc_photos_with_people(LABELME_VOC)
    if voc_photos:
        photos.extend(voc_photos)
    else:
        missing.append(f"no PASCAL VOC photo with a person under {LABELME_VOC} (Debian package labelme-examples)")
    return photos, missing


def _matplotlib_sample(name: str) -> Path | None:
    try:
        import matplotlib
    except ImportError:
        return None
    path = Path(matplotlib.get_data_path()) / "sample_data" / name
    return path if path.is_file() else None


def _voc_photos_with_people(voc_dir: Path) -> list[RealPhoto]:
    """Photos whose VOC annotation names a ``person`` (the others show buses and cars)."""
    photos = []
    for annotation in sorted((voc_dir / "Annotations").glob("*.xml")):
        try:
            names = {element.text for element in ElementTree.parse(annotation).iter("name")}
        except ElementTree.ParseError:
            continue
        image = voc_dir / "JPEGImages" / f"{annotation.stem}.jpg"
        if "person" in names and image.is_file():
            photos.append(RealPhoto(f"voc_{annotation.stem}", image))
    return photos


def read_rgb(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB pixels of an image file."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path} is not a readable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def rasterize_mesh(
    vertices: np.ndarray, faces: np.ndarray, camera: CameraIntrinsics, height: int, width: int
) -> np.ndarray:
    """(H, W) bool silhouette of a camera-frame mesh: every projected triangle in front of the camera, filled.

    One ``fillConvexPoly`` per triangle (~27k for the full Anny mesh, ~0.1 s):
    ``fillPoly`` over all triangles at once fills with the even-odd rule, so
    where triangles overlap (front and back of the body, an arm over the
    torso) they would cancel and punch holes into the silhouette.
    """
    mask = np.zeros((height, width), dtype=np.uint8)
    triangles = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]
    in_front = np.all(triangles[..., 2] > MIN_DEPTH_M, axis=1)
    if not in_front.any():
        return mask.astype(bool)
    pixels = camera.project(triangles[in_front])
    corners = np.round(pixels * (1 << SUBPIXEL_BITS)).astype(np.int64)
    limit = np.int64(1 << 28)  # OpenCV takes int32 corners; clip points far off-image (near the camera plane)
    for triangle in np.clip(corners, -limit, limit).astype(np.int32):
        cv2.fillConvexPoly(mask, triangle, 1, cv2.LINE_8, SUBPIXEL_BITS)
    return mask.astype(bool)


def mask_iou(first: np.ndarray, second: np.ndarray) -> float:
    """Intersection over union of two bool masks; NaN when both are empty (nothing to compare)."""
    union = np.count_nonzero(first | second)
    return float(np.count_nonzero(first & second) / union) if union else math.nan


def comparison_region(box: np.ndarray, silhouette: np.ndarray) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` pixel slice bounds: the box grown by :data:`REGION_MARGIN`, joined with the silhouette's."""
    height, width = silhouette.shape
    x0, y0, x1, y1 = (float(value) for value in box)
    grow_x, grow_y = REGION_MARGIN * (x1 - x0), REGION_MARGIN * (y1 - y0)
    x0, y0, x1, y1 = x0 - grow_x, y0 - grow_y, x1 + grow_x, y1 + grow_y
    rows, columns = np.nonzero(silhouette)
    if rows.size:
        x0, y0 = min(x0, columns.min()), min(y0, rows.min())
        x1, y1 = max(x1, columns.max() + 1), max(y1, rows.max() + 1)
    return (
        int(np.clip(math.floor(x0), 0, width)), int(np.clip(math.floor(y0), 0, height)),
        int(np.clip(math.ceil(x1), 0, width)), int(np.clip(math.ceil(y1), 0, height)),
    )


def region_iou(silhouette: np.ndarray, segmentation: np.ndarray, region: tuple[int, int, int, int]) -> float:
    """:func:`mask_iou` of the two masks inside ``region`` only."""
    x0, y0, x1, y1 = region
    return mask_iou(silhouette[y0:y1, x0:x1], segmentation[y0:y1, x0:x1])


def keypoint_errors(
    projected_joints: np.ndarray, detected: np.ndarray, confidence: np.ndarray, box: np.ndarray
) -> np.ndarray:
    """Distance of each confidently detected joint to its projected mesh joint, in box heights (1-D array)."""
    box_height = float(box[3] - box[1])
    if box_height <= 0:
        raise ValueError(f"person box {box} has no height")
    confident = (confidence > MIN_KEYPOINT_CONFIDENCE) & np.isfinite(projected_joints).all(axis=1)
    return np.linalg.norm(projected_joints[confident] - detected[confident], axis=1) / box_height


@dataclass(frozen=True)
class PersonEvaluation:
    """One person's agreement with the 2D references (the mesh and segmentation masks kept for drawing)."""

    person: PersonResult
    silhouette: np.ndarray
    projected_joints: np.ndarray
    region: tuple[int, int, int, int]
    silhouette_iou: float
    joint_errors: np.ndarray
    """Normalised errors of the compared joints (see :func:`keypoint_errors`)."""

    def summary(self) -> dict:
        errors = self.joint_errors
        return {
            "track_id": self.person.track_id,
            "box": [round(float(value), 1) for value in self.person.box],
            "silhouette_iou": _finite_or_none(self.silhouette_iou),
            "keypoint_error": _finite_or_none(float(errors.mean()) if errors.size else math.nan),
            "pck_0_1": _finite_or_none(float(np.mean(errors < PCK_THRESHOLD)) if errors.size else math.nan),
            "keypoints_compared": int(errors.size),
            "placement_method": self.person.placement_method,
        }


def evaluate_person(
    person: PersonResult, faces: np.ndarray, camera: CameraIntrinsics, segmentation: np.ndarray
) -> PersonEvaluation:
    """Compare one person's mesh with the segmentation and their detected keypoints."""
    height, width = segmentation.shape
    silhouette = rasterize_mesh(person.vertices, faces, camera, height, width)
    region = comparison_region(person.box, silhouette)
    in_front = person.joints3d[:, 2] > MIN_DEPTH_M
    projected = np.where(in_front[:, None], camera.project(person.joints3d), np.nan)
    return PersonEvaluation(
        person=person,
        silhouette=silhouette,
        projected_joints=projected,
        region=region,
        silhouette_iou=region_iou(silhouette, segmentation, region),
        joint_errors=keypoint_errors(projected, person.joints2d, person.joint_confidence, person.box),
    )


class PersonSegmenter:
    """MediaPipe's person segmentation as a bool mask (the general model: the landscape one is for video calls)."""

    def __init__(self) -> None:
        from mediapipe.python.solutions.selfie_segmentation import SelfieSegmentation

        self._model = SelfieSegmentation(model_selection=0)

    def mask(self, image_rgb: np.ndarray) -> np.ndarray:
        return self._model.process(image_rgb).segmentation_mask > SEGMENTATION_THRESHOLD

    def close(self) -> None:
        self._model.close()


def still_frame_count(window: int, min_hits: int) -> int:
    """Frames of a static video after which every person is confirmed and their window is full."""
    return min_hits - 1 + window


def run_still_image(pipeline, image_rgb: np.ndarray, frames: int) -> FrameResult:
    """Feed ``image_rgb`` ``frames`` times to a fresh ``pipeline``; the last frame's result."""
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    for index in range(frames - 1):
        pipeline.process(image_rgb, index * FRAME_INTERVAL_S)
    return pipeline.process(image_rgb, (frames - 1) * FRAME_INTERVAL_S)


@dataclass(frozen=True)
class PhotoEvaluation:
    photo: RealPhoto
    image_rgb: np.ndarray
    segmentation: np.ndarray
    result: FrameResult
    people: list[PersonEvaluation]


def evaluate_photo(
    pipeline, photo: RealPhoto, segmenter: PersonSegmenter, faces: np.ndarray, frames: int
) -> PhotoEvaluation:
    """Run the pipeline on one photo and compare every person it reports."""
    image = read_rgb(photo.path)
    result = run_still_image(pipeline, image, frames)
    segmentation = segmenter.mask(image)
    people = [evaluate_person(person, faces, result.camera, segmentation) for person in result.people]
    return PhotoEvaluation(photo, image, segmentation, result, people)


MESH_COLOR = (255, 140, 0)
SEGMENTATION_COLOR = (0, 220, 255)
DETECTED_COLOR = (255, 255, 255)
PROJECTED_COLOR = (255, 40, 40)
MESH_OPACITY = 0.45


def draw_photo_evaluation(evaluation: PhotoEvaluation) -> np.ndarray:
    """(H, W, 3) uint8 RGB picture: mesh silhouettes filled and outlined (orange), segmentation contour
    (cyan), detected keypoints and skeleton (white), projected mesh joints (red), each person's IoU."""
    canvas = evaluation.image_rgb.copy()
    line_width = max(1, round(max(canvas.shape[:2]) / 400))
    if evaluation.people:
        union = np.logical_or.reduce([person.silhouette for person in evaluation.people])
        layer = canvas.copy()
        layer[union] = MESH_COLOR
        cv2.addWeighted(layer, MESH_OPACITY, canvas, 1.0 - MESH_OPACITY, 0.0, dst=canvas)
        _draw_contours(canvas, union, MESH_COLOR, line_width)
    _draw_contours(canvas, evaluation.segmentation, SEGMENTATION_COLOR, line_width)
    for person in evaluation.people:
        seen = person.person.joint_confidence > MIN_KEYPOINT_CONFIDENCE
        detected = np.round(person.person.joints2d).astype(np.int32)
        for a, b in COCO17_SKELETON:
            if seen[a] and seen[b]:
                cv2.line(canvas, tuple(detected[a]), tuple(detected[b]), DETECTED_COLOR, line_width, cv2.LINE_AA)
        for point in detected[seen]:
            cv2.circle(canvas, tuple(point), line_width + 2, DETECTED_COLOR, -1, cv2.LINE_AA)
        for point in person.projected_joints[np.isfinite(person.projected_joints).all(axis=1)]:
            cv2.drawMarker(canvas, tuple(int(v) for v in np.round(point)), PROJECTED_COLOR, cv2.MARKER_TILTED_CROSS,
                           4 * line_width + 4, line_width, cv2.LINE_AA)
        x0, y0 = person.region[:2]
        cv2.putText(canvas, f"IoU {person.silhouette_iou:.2f}", (x0 + 2, max(y0 + 14 * line_width, 12)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45 * line_width, MESH_COLOR, line_width, cv2.LINE_AA)
    return canvas


def _draw_contours(canvas: np.ndarray, mask: np.ndarray, color: tuple[int, int, int], width: int) -> None:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(canvas, contours, -1, color, width, cv2.LINE_AA)


def summarize(evaluations: list[PhotoEvaluation], skipped: list[str]) -> dict:
    """The ``--json`` / ``results.json`` object.

    ``mean_iou`` averages people; ``mean_keypoint_error`` and ``pck_0_1`` pool
    every compared joint of every person (a person seen with few confident
    joints weighs less).  Values without anything to average are null.
    """
    people = [person for evaluation in evaluations for person in evaluation.people]
    ious = [person.silhouette_iou for person in people if math.isfinite(person.silhouette_iou)]
    errors = np.concatenate([person.joint_errors for person in people]) if people else np.zeros(0)
    return {
        "images": [
            {
                "image": evaluation.photo.name,
                "path": str(evaluation.photo.path),
                "width": evaluation.result.image_width,
                "height": evaluation.result.image_height,
                "camera_is_assumed": evaluation.result.camera.is_assumed,
                "people": [person.summary() for person in evaluation.people],
            }
            for evaluation in evaluations
        ],
        "people": len(people),
        "mean_iou": _finite_or_none(float(np.mean(ious)) if ious else math.nan),
        "mean_keypoint_error": _finite_or_none(float(errors.mean()) if errors.size else math.nan),
        "pck_0_1": _finite_or_none(float(np.mean(errors < PCK_THRESHOLD)) if errors.size else math.nan),
        "skipped": skipped,
    }


def _finite_or_none(value: float) -> float | None:
    """JSON has no NaN: an undefined metric becomes null."""
    return round(value, 4) if math.isfinite(value) else None
