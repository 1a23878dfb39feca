"""Person crops and the normalised network inputs built from them.

This is the single implementation of cropping and normalisation used both by
the runtime and by the synthetic data engine.  Training and inference must see
bit-identical geometry (same box rule, same pixel-centre convention, same
border handling), otherwise the network learns one mapping and is fed another;
keeping it in one module makes that impossible to get wrong by accident.

Conventions
-----------
* Pixel coordinates follow OpenCV: the centre of pixel ``(i, j)`` is at
  ``x = j, y = i``; an image of width ``W`` spans ``[-0.5, W - 0.5]``.
* A *box* is an axis-aligned square ``(cx, cy, size)`` in image pixels.
* *Crop-normalised* coordinates put the box's left/top edge at -1 and its
  right/bottom edge at +1, independent of the crop resolution ``S``.
* ``crop_info = ((cx - K[0,2]) / fx, (cy - K[1,2]) / fy, size / fx)``: where the
  crop sits in the camera's normalised image plane.  This is how the
  intrinsics reach the network: a crop alone cannot tell a near child from a
  far adult, its position and size relative to the focal length can.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

NUM_KEYPOINTS = 17


@dataclass(frozen=True)
class CropSpec:
    """How a person crop is cut; stored with the network so training and runtime agree."""

    size: int = 128
    """Crop resolution S in pixels (square)."""
    margin: float = 1.25
    """Box side = margin x the longer side of the tight keypoint / detector box."""
    min_keypoint_confidence: float = 0.3
    """Keypoints below this confidence do not shape the box."""
    min_box_size: float = 16.0
    """Smallest box side in image pixels, so one or two visible keypoints still give a usable crop."""

    def __post_init__(self) -> None:
        if int(self.size) != self.size or self.size < 8:
            raise ValueError(f"crop size must be an integer >= 8, got {self.size}")
        if not self.margin >= 1.0:
            raise ValueError(f"crop margin must be >= 1.0 (a factor on the tight box), got {self.margin}")
        if not 0.0 <= self.min_keypoint_confidence <= 1.0:
            raise ValueError(f"min_keypoint_confidence must be in [0, 1], got {self.min_keypoint_confidence}")
        if not self.min_box_size > 0.0:
            raise ValueError(f"min_box_size must be positive, got {self.min_box_size}")


def _as_boxes(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.shape[-1:] != (3,):
        raise ValueError(f"boxes must have shape (..., 3) as (cx, cy, size), got {boxes.shape}")
    if np.any(~np.isfinite(boxes)) or np.any(boxes[..., 2] <= 0):
        raise ValueError("boxes must be finite with a positive size")
    return boxes


def box_from_keypoints(keypoints: np.ndarray, spec: CropSpec) -> np.ndarray:
    """Square box (cx, cy, size) around the confident keypoints of one person.

    ``keypoints`` is (17, 3) in pixels with confidence, or (..., 17, 3) for
    several persons / frames at once; returns (..., 3).  The box is centred on
    the tight box of the confident keypoints and grown by ``spec.margin``
    because COCO joints stop at the ankles and the nose, not at the soles and
    the top of the head.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim < 2 or keypoints.shape[-2:] != (NUM_KEYPOINTS, 3):
        raise ValueError(f"keypoints must have shape (..., 17, 3) as (x, y, confidence), got {keypoints.shape}")
    confident = keypoints[..., 2] >= spec.min_keypoint_confidence
    if not np.all(confident.any(axis=-1)):
        raise ValueError(
            f"cannot place a crop: a person has no keypoint with confidence >= {spec.min_keypoint_confidence}"
        )
    xy = keypoints[..., :2]
    lower = np.where(confident[..., None], xy, np.inf).min(axis=-2)
    upper = np.where(confident[..., None], xy, -np.inf).max(axis=-2)
    return box_from_corners(np.concatenate([lower, upper], axis=-1), spec)


def box_from_corners(corners: np.ndarray, spec: CropSpec) -> np.ndarray:
    """Square box (cx, cy, size) around a detector box ``(x0, y0, x1, y1)`` (shape (..., 4))."""
    corners = np.asarray(corners, dtype=np.float64)
    if corners.shape[-1:] != (4,):
        raise ValueError(f"corners must have shape (..., 4) as (x0, y0, x1, y1), got {corners.shape}")
    if np.any(~np.isfinite(corners)):
        raise ValueError("box corners must be finite")
    if np.any(corners[..., 2] < corners[..., 0]) or np.any(corners[..., 3] < corners[..., 1]):
        raise ValueError("box corners must satisfy x0 <= x1 and y0 <= y1")
    centre = 0.5 * (corners[..., :2] + corners[..., 2:])
    extent = np.maximum(corners[..., 2] - corners[..., 0], corners[..., 3] - corners[..., 1])
    size = np.maximum(extent * spec.margin, spec.min_box_size)
    return np.concatenate([centre, size[..., None]], axis=-1)


def crop_matrix(box: np.ndarray, crop_size: int) -> np.ndarray:
    """2x3 affine matrix mapping image pixels to crop pixels for one box.

    The box edges land on the crop's outer pixel edges (-0.5 and S - 0.5), so
    that :func:`keypoints_to_crop` and the warped image agree exactly.
    """
    cx, cy, size = _as_boxes(box)
    scale = crop_size / size
    offset = 0.5 * crop_size - 0.5
    return np.array(
        [[scale, 0.0, offset - scale * cx], [0.0, scale, offset - scale * cy]],
        dtype=np.float64,
    )


def crop_image(image: np.ndarray, box: np.ndarray, crop_size: int, border_value: float = 0.0) -> np.ndarray:
    """Cut the square ``box`` out of ``image`` (H, W, C) resampled to (S, S, C), same dtype.

    Outside the image the crop is filled with ``border_value`` (people near
    the image edge keep their position in the crop instead of being shifted).
    Always bilinear: one interpolation rule keeps training and runtime equal.
    """
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise ValueError(f"image must be (H, W, 1|3), got {image.shape}")
    matrix = crop_matrix(box, crop_size)
    crop = cv2.warpAffine(
        image,
        matrix,
        (crop_size, crop_size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(border_value,) * 4,
    )
    return crop.reshape(crop_size, crop_size, image.shape[2])


def crops_to_network(crops: np.ndarray) -> np.ndarray:
    """uint8 RGB crops (..., S, S, 3) -> float32 (..., 3, S, S) in [0, 1], the network's layout."""
    crops = np.asarray(crops)
    if crops.dtype != np.uint8 or crops.ndim < 3 or crops.shape[-1] != 3:
        raise ValueError(f"crops must be uint8 RGB (..., S, S, 3), got {crops.dtype} {crops.shape}")
    return np.moveaxis(crops, -1, -3).astype(np.float32) / np.float32(255.0)


def keypoints_to_crop(keypoints: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Pixel keypoints (..., 17, 2|3) -> crop-normalised ([-1, 1] inside the box); confidence passes through."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    boxes = _as_boxes(boxes)
    if keypoints.shape[-1] not in (2, 3):
        raise ValueError(f"keypoints must end in (x, y) or (x, y, confidence), got {keypoints.shape}")
    out = keypoints.copy()
    out[..., :2] = (keypoints[..., :2] - boxes[..., None, :2]) / (0.5 * boxes[..., None, 2:3])
    return out


def keypoints_from_crop(normalised: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Inverse of :func:`keypoints_to_crop`: crop-normalised (..., N, 2|3) -> image pixels."""
    normalised = np.asarray(normalised, dtype=np.float64)
    boxes = _as_boxes(boxes)
    if normalised.shape[-1] not in (2, 3):
        raise ValueError(f"keypoints must end in (x, y) or (x, y, confidence), got {normalised.shape}")
    out = normalised.copy()
    out[..., :2] = normalised[..., :2] * (0.5 * boxes[..., None, 2:3]) + boxes[..., None, :2]
    return out


def _check_intrinsics(intrinsics: np.ndarray) -> np.ndarray:
    intrinsics = np.asarray(intrinsics, dtype=np.float64)
    if intrinsics.shape != (3, 3):
        raise ValueError(f"intrinsics must be a 3x3 camera matrix K, got shape {intrinsics.shape}")
    if not (intrinsics[0, 0] > 0 and intrinsics[1, 1] > 0):
        raise ValueError("intrinsics must have positive focal lengths K[0,0] and K[1,1]")
    return intrinsics


def crop_info(boxes: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Boxes (..., 3) in pixels -> crop_info (..., 3) in the normalised image plane of K."""
    boxes = _as_boxes(boxes)
    k = _check_intrinsics(intrinsics)
    fx, fy, px, py = k[0, 0], k[1, 1], k[0, 2], k[1, 2]
    return np.stack(
        [(boxes[..., 0] - px) / fx, (boxes[..., 1] - py) / fy, boxes[..., 2] / fx], axis=-1
    )


def boxes_from_crop_info(info: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Inverse of :func:`crop_info`: (..., 3) normalised -> boxes (cx, cy, size) in pixels."""
    info = np.asarray(info, dtype=np.float64)
    if info.shape[-1:] != (3,):
        raise ValueError(f"crop_info must have shape (..., 3), got {info.shape}")
    k = _check_intrinsics(intrinsics)
    fx, fy, px, py = k[0, 0], k[1, 1], k[0, 2], k[1, 2]
    return np.stack([info[..., 0] * fx + px, info[..., 1] * fy + py, info[..., 2] * fx], axis=-1)


@dataclass(frozen=True)
class PersonFrameInput:
    """Everything the network needs from one person in one frame, plus the box to map back."""

    crop: np.ndarray
    """(3, S, S) float32 RGB in [0, 1]."""
    keypoints: np.ndarray
    """(17, 3) float32 crop-normalised (x, y) and confidence."""
    crop_info: np.ndarray
    """(3,) float32, see :func:`crop_info`."""
    box: np.ndarray
    """(3,) float64 square box (cx, cy, size) in image pixels."""


def prepare_person_frame(
    image_rgb: np.ndarray,
    keypoints_px: np.ndarray,
    intrinsics: np.ndarray,
    spec: CropSpec,
    box: np.ndarray | None = None,
) -> PersonFrameInput:
    """Crop and normalise one person: uint8 RGB image (H, W, 3) + pixel keypoints (17, 3) + K.

    The box comes from the keypoints unless one is given (for example a
    detector box already squared with :func:`box_from_corners`, or a jittered
    box during training).
    """
    image_rgb = np.asarray(image_rgb)
    if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
        raise ValueError(f"image must be uint8 RGB (H, W, 3), got {image_rgb.dtype} {image_rgb.shape}")
    person_box = box_from_keypoints(keypoints_px, spec) if box is None else _as_boxes(box)
    crop = crops_to_network(crop_image(image_rgb, person_box, spec.size))
    return PersonFrameInput(
        crop=crop,
        keypoints=keypoints_to_crop(keypoints_px, person_box).astype(np.float32),
        crop_info=crop_info(person_box, intrinsics).astype(np.float32),
        box=person_box,
    )
