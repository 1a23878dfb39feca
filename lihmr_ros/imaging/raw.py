"""``sensor_msgs/Image`` fields <-> numpy, without cv_bridge (which cannot be installed here).

Functions take and return plain values, or any object with the message's
attributes (``height, width, encoding, is_bigendian, step, data``), so they
are testable without ROS and work with every rclpy version.  Rows may be
padded (``step`` > ``width`` x bytes per pixel) and 16/32-bit data may be
big-endian; both are handled.

Every frame of the camera goes through :func:`image_to_rgb`, so it avoids
per-pixel Python: numpy views over the message buffer, OpenCV for colour
conversions.  Output data is an ``array.array('B')`` because assigning that to
an rclpy ``uint8[]`` field is a plain copy, while a numpy array is checked
element by element (59 ms for a 640x480 image).
"""

from __future__ import annotations

import array
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from lihmr_ros.imaging.encodings import PixelFormat, pixel_format
from lihmr_ros.imaging.errors import ImageConversionError

_TO_RGB = {
    "bgr8": cv2.COLOR_BGR2RGB,
    "rgba8": cv2.COLOR_RGBA2RGB,
    "bgra8": cv2.COLOR_BGRA2RGB,
    "yuv422": cv2.COLOR_YUV2RGB_UYVY,
    "yuv422_yuy2": cv2.COLOR_YUV2RGB_YUY2,
}
_FROM_RGB = {
    "bgr8": cv2.COLOR_RGB2BGR,
    "rgba8": cv2.COLOR_RGB2RGBA,
    "bgra8": cv2.COLOR_RGB2BGRA,
    "yuv422": cv2.COLOR_RGB2YUV_UYVY,
    "yuv422_yuy2": cv2.COLOR_RGB2YUV_YUY2,
}


@dataclass(frozen=True)
class ImageFields:
    """The payload fields of a ``sensor_msgs/Image`` (the header is the ROS layer's job)."""

    height: int
    width: int
    encoding: str
    is_bigendian: bool
    step: int
    data: array.array

    def apply_to(self, message: Any) -> None:
        """Set these fields on a ``sensor_msgs/Image`` (or any object with the same attributes)."""
        message.height = self.height
        message.width = self.width
        message.encoding = self.encoding
        message.is_bigendian = self.is_bigendian
        message.step = self.step
        message.data = self.data


def byte_array(data: Any) -> np.ndarray:
    """The message data as a flat uint8 array, without copying when it supports the buffer protocol."""
    try:
        return np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
    except TypeError:
        values = np.asarray(data)
        out_of_range = values.size > 0 and values.dtype.kind in "iub" and (values.min() < 0 or values.max() > 255)
        if values.ndim != 1 or values.dtype.kind not in "iub" or out_of_range:
            raise ImageConversionError("image data must be bytes or a sequence of byte values 0-255") from None
        return values.astype(np.uint8)


def _checked_size(height: Any, width: Any) -> tuple[int, int]:
    try:
        height, width = int(height), int(width)
    except (TypeError, ValueError):
        raise ImageConversionError(f"image size must be integers, got height={height!r} width={width!r}") from None
    if height <= 0 or width <= 0:
        raise ImageConversionError(f"empty image ({width}x{height}): the publisher sent no pixels")
    return height, width


def image_to_array(message: Any) -> np.ndarray:
    """The image's samples as stored: (H, W) or (H, W, C) in the encoding's type, native byte order.

    Use this for depth or 16-bit images whose values matter; packed YUV comes
    out as (H, W, 2) bytes.  The array is a copy, independent of the message.
    """
    fmt = pixel_format(message.encoding)
    height, width = _checked_size(message.height, message.width)
    if fmt.name.startswith("yuv422") and width % 2:
        raise ImageConversionError(f"{fmt.name} packs pixels in pairs, so its width must be even, got {width}")
    row_bytes = width * fmt.bytes_per_pixel
    step = int(message.step)
    if step < row_bytes:
        raise ImageConversionError(
            f"step {step} is smaller than one row of {width} {fmt.name} pixels ({row_bytes} bytes); "
            "the publisher's step or encoding is wrong"
        )
    buffer = byte_array(message.data)
    needed = step * (height - 1) + row_bytes
    if buffer.size < needed:
        raise ImageConversionError(
            f"image data too short: {buffer.size} bytes for a {width}x{height} {fmt.name} image with step {step} "
            f"(need at least {needed}); the message was truncated"
        )
    rows = np.lib.stride_tricks.as_strided(buffer, shape=(height, row_bytes), strides=(step, 1), writeable=False)
    samples = np.array(rows).view(fmt.dtype(bool(message.is_bigendian)))  # one copy, dropping row padding
    if not samples.dtype.isnative:
        samples = samples.astype(samples.dtype.newbyteorder("="))
    shape = (height, width) if fmt.channels == 1 else (height, width, fmt.channels)
    return samples.reshape(shape)


def _samples_to_rgb(samples: np.ndarray, fmt: PixelFormat) -> np.ndarray:
    if fmt.name == "rgb8":
        return samples
    if fmt.name in _TO_RGB:
        return cv2.cvtColor(samples, _TO_RGB[fmt.name])
    if fmt.sample_type == "u2":  # full 16-bit range onto 8 bits, rounding (257 = 65535 / 255)
        grey = ((samples.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif fmt.sample_type == "f4":  # float intensities in [0, 1]; NaN (no data) shows black
        grey = np.rint(np.clip(np.nan_to_num(samples, nan=0.0), 0.0, 1.0) * 255.0).astype(np.uint8)
    else:
        grey = samples
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)


def image_to_rgb(message: Any) -> np.ndarray:
    """(H, W, 3) uint8 RGB for any supported encoding; always a new, writable array.

    Alpha is dropped; grey images are replicated to three channels; 16-bit
    values are scaled from 0-65535 and ``32FC1`` from 0.0-1.0 to 0-255 (for
    depth images this is only a picture, use :func:`image_to_array` for values).
    """
    fmt = pixel_format(message.encoding)
    return np.ascontiguousarray(_samples_to_rgb(image_to_array(message), fmt))


def rgb_to_image(
    rgb: np.ndarray, encoding: str = "rgb8", is_bigendian: bool = False, row_padding: int = 0
) -> ImageFields:
    """Image fields holding ``rgb`` (H, W, 3) uint8 in ``encoding``.

    Grey encodings store the BT.601 luma (``mono16``/``16UC1`` scaled by 257,
    ``32FC1`` by 1/255); YUV 4:2:2 averages chroma over pixel pairs, so its
    round trip is exact only where pairs share a colour.  ``row_padding``
    extra bytes end every row (some drivers align rows; useful for tests).
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ImageConversionError(f"expected uint8 RGB pixels (H, W, 3), got {rgb.dtype} {rgb.shape}")
    fmt = pixel_format(encoding)
    height, width = _checked_size(rgb.shape[0], rgb.shape[1])
    if fmt.name.startswith("yuv422") and width % 2:
        raise ImageConversionError(f"{fmt.name} packs pixels in pairs, so its width must be even, got {width}")
    if row_padding < 0:
        raise ImageConversionError(f"row_padding must be >= 0 bytes, got {row_padding}")
    rgb = np.ascontiguousarray(rgb)
    if fmt.name == "rgb8":
        samples = rgb
    elif fmt.name in _FROM_RGB:
        samples = cv2.cvtColor(rgb, _FROM_RGB[fmt.name])
    else:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if fmt.sample_type == "u2":
            samples = grey.astype(np.uint16) * np.uint16(257)
        elif fmt.sample_type == "f4":
            samples = grey.astype(np.float32) / np.float32(255.0)
        else:
            samples = grey
    row_bytes = width * fmt.bytes_per_pixel
    rows = np.ascontiguousarray(samples, dtype=fmt.dtype(is_bigendian)).view(np.uint8).reshape(height, row_bytes)
    if row_padding:
        rows = np.concatenate([rows, np.zeros((height, row_padding), np.uint8)], axis=1)
    data = array.array("B")
    data.frombytes(rows)
    return ImageFields(
        height=height,
        width=width,
        encoding=fmt.name,
        is_bigendian=bool(is_bigendian) and fmt.bytes_per_sample > 1,
        step=row_bytes + row_padding,
        data=data,
    )
