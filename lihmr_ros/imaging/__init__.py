"""ROS image messages <-> numpy RGB, without ROS or cv_bridge: works on any object with the message's fields."""

from lihmr_ros.imaging.compressed import CompressedFields, compressed_to_rgb, rgb_to_compressed
from lihmr_ros.imaging.encodings import SUPPORTED_ENCODINGS, PixelFormat, pixel_format
from lihmr_ros.imaging.errors import ImageConversionError
from lihmr_ros.imaging.raw import ImageFields, image_to_array, image_to_rgb, rgb_to_image

__all__ = [
    "SUPPORTED_ENCODINGS",
    "CompressedFields",
    "ImageConversionError",
    "ImageFields",
    "PixelFormat",
    "compressed_to_rgb",
    "image_to_array",
    "image_to_rgb",
    "pixel_format",
    "rgb_to_compressed",
    "rgb_to_image",
]
