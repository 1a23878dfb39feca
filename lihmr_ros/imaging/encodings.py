"""The ``sensor_msgs/Image`` encodings this package understands, and their memory layout."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lihmr_ros.imaging.errors import ImageConversionError


@dataclass(frozen=True)
class PixelFormat:
    """How one encoding lays out a pixel in ``Image.data``."""

    name: str
    channels: int
    """Values per pixel as stored (2 for packed YUV 4:2:2: one chroma and one luma byte)."""
    sample_type: str
    """numpy type of one value without byte order: ``u1``, ``u2`` or ``f4``."""

    @property
    def bytes_per_sample(self) -> int:
        return np.dtype(self.sample_type).itemsize

    @property
    def bytes_per_pixel(self) -> int:
        return self.channels * self.bytes_per_sample

    def dtype(self, is_bigendian: bool) -> np.dtype:
        """Sample dtype in the message's byte order (``is_bigendian`` only matters above 8 bits)."""
        if self.bytes_per_sample == 1:
            return np.dtype(self.sample_type)
        return np.dtype((">" if is_bigendian else "<") + self.sample_type)


_FORMATS = (
    PixelFormat("rgb8", 3, "u1"),
    PixelFormat("bgr8", 3, "u1"),
    PixelFormat("rgba8", 4, "u1"),
    PixelFormat("bgra8", 4, "u1"),
    PixelFormat("mono8", 1, "u1"),
    PixelFormat("8UC1", 1, "u1"),
    PixelFormat("mono16", 1, "u2"),
    PixelFormat("16UC1", 1, "u2"),
    PixelFormat("32FC1", 1, "f4"),
    PixelFormat("yuv422", 2, "u1"),  # UYVY byte order (ROS naming)
    PixelFormat("yuv422_yuy2", 2, "u1"),  # YUYV byte order
)

PIXEL_FORMATS: dict[str, PixelFormat] = {pixel_format.name: pixel_format for pixel_format in _FORMATS}
"""Supported encodings by their exact ROS name."""

SUPPORTED_ENCODINGS: tuple[str, ...] = tuple(PIXEL_FORMATS)

# Some drivers publish the upper-case OpenCV spelling or the alias names of image_encodings.h.
_ALIASES = {
    "uyvy": "yuv422",
    "yuyv": "yuv422_yuy2",
    "yuy2": "yuv422_yuy2",
    "8uc1": "8UC1",
    "16uc1": "16UC1",
    "32fc1": "32FC1",
}


def pixel_format(encoding: str) -> PixelFormat:
    """The layout of ``encoding``, accepting ROS names in any letter case."""
    found = PIXEL_FORMATS.get(encoding)
    if found is None:
        lowered = str(encoding).strip().lower()
        found = PIXEL_FORMATS.get(_ALIASES.get(lowered, lowered))
    if found is None:
        raise ImageConversionError(
            f"unsupported image encoding {encoding!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}. "
            "Convert the stream (e.g. with an image_proc debayer node) or publish CompressedImage instead."
        )
    return found
