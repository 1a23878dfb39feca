"""``sensor_msgs/CompressedImage`` (JPEG, PNG) <-> numpy RGB via OpenCV's codecs.

The ``format`` field follows image_transport's compressed plugin: a bare
``"jpeg"``/``"png"``, or ``"<encoding>; <codec> compressed <stored encoding>"``
such as ``"rgb8; jpeg compressed bgr8"``.  OpenCV decodes to BGR, which is
what that plugin stores for colour images; only a stored ``rgb8`` is kept as is.
"""

from __future__ import annotations

import array
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from lihmr_ros.imaging.errors import ImageConversionError
from lihmr_ros.imaging.raw import byte_array

_JPEG_START = b"\xff\xd8"
_JPEG_END = b"\xff\xd9"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND"
_TRAILER_SEARCH_BYTES = 64
"""Some encoders pad after the end marker; look for it this far from the end."""


@dataclass(frozen=True)
class CompressedFields:
    """The payload fields of a ``sensor_msgs/CompressedImage``."""

    format: str
    data: array.array

    def apply_to(self, message: Any) -> None:
        """Set these fields on a ``sensor_msgs/CompressedImage`` (or any object with them)."""
        message.format = self.format
        message.data = self.data


def _codec(format_field: str, payload: bytes) -> str:
    """``jpeg`` or ``png``, from the format field or, when it is empty, from the data's signature."""
    lowered = str(format_field).lower()
    if "jpeg" in lowered or "jpg" in lowered:
        return "jpeg"
    if "png" in lowered:
        return "png"
    if not lowered.strip():
        if payload.startswith(_JPEG_START):
            return "jpeg"
        if payload.startswith(_PNG_SIGNATURE):
            return "png"
    raise ImageConversionError(
        f"unsupported compressed format {format_field!r}: only jpeg and png are decoded "
        "(republish with image_transport's compressed plugin, or send raw sensor_msgs/Image)"
    )


def compressed_to_rgb(message: Any) -> np.ndarray:
    """(H, W, 3) uint8 RGB from any object with ``format`` and ``data`` (a ``CompressedImage``)."""
    payload = byte_array(message.data).tobytes()
    if not payload:
        raise ImageConversionError("empty compressed image: the message has no data")
    codec = _codec(message.format, payload)
    if codec == "jpeg":
        if not payload.startswith(_JPEG_START):
            raise ImageConversionError(
                f"format says JPEG but the data does not start with a JPEG marker ({payload[:4]!r})"
            )
        if _JPEG_END not in payload[-_TRAILER_SEARCH_BYTES:]:
            raise ImageConversionError(f"truncated JPEG: no end-of-image marker in {len(payload)} bytes")
    else:
        if not payload.startswith(_PNG_SIGNATURE):
            raise ImageConversionError(
                f"format says PNG but the data does not start with the PNG signature ({payload[:8]!r})"
            )
        if _PNG_END not in payload[-_TRAILER_SEARCH_BYTES:]:
            raise ImageConversionError(f"truncated PNG: no IEND chunk in {len(payload)} bytes")
    decoded = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
    if decoded is None:
        raise ImageConversionError(f"corrupt {codec} data ({len(payload)} bytes): OpenCV could not decode it")
    stored_rgb = "compressed rgb8" in str(message.format).lower()
    return decoded if stored_rgb else cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def rgb_to_compressed(rgb: np.ndarray, codec: str = "jpeg", jpeg_quality: int = 90) -> CompressedFields:
    """CompressedImage fields for ``rgb`` (H, W, 3) uint8, in image_transport's format naming."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ImageConversionError(f"expected non-empty uint8 RGB pixels (H, W, 3), got {rgb.dtype} {rgb.shape}")
    if codec not in ("jpeg", "png"):
        raise ImageConversionError(f"unsupported codec {codec!r}: use 'jpeg' or 'png'")
    if not 0 <= jpeg_quality <= 100:
        raise ImageConversionError(f"jpeg_quality must lie in [0, 100], got {jpeg_quality}")
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if codec == "jpeg" else []
    ok, encoded = cv2.imencode(".jpg" if codec == "jpeg" else ".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise ImageConversionError(f"OpenCV could not encode a {rgb.shape[1]}x{rgb.shape[0]} image as {codec}")
    data = array.array("B")
    data.frombytes(encoded)
    return CompressedFields(format=f"rgb8; {codec} compressed bgr8", data=data)
