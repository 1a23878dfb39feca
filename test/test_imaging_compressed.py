"""sensor_msgs/CompressedImage <-> numpy RGB (lihmr_ros.imaging.compressed)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from lihmr_ros.imaging import ImageConversionError, compressed_to_rgb, rgb_to_compressed


def _smooth_image(height: int = 48, width: int = 64) -> np.ndarray:
    """A gradient with distinct channels, so JPEG keeps it close and a channel swap would show."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // width, y * 255 // height, np.full_like(x, 60)], axis=2).astype(np.uint8)


def _decode(fields_format: str, data: object) -> np.ndarray:
    return compressed_to_rgb(SimpleNamespace(format=fields_format, data=data))


def test_png_round_trip_is_exact() -> None:
    rgb = _smooth_image()
    fields = rgb_to_compressed(rgb, "png")
    assert fields.format == "rgb8; png compressed bgr8"
    np.testing.assert_array_equal(_decode(fields.format, fields.data), rgb)


def test_jpeg_round_trip_is_close_and_keeps_channel_order() -> None:
    rgb = _smooth_image()
    fields = rgb_to_compressed(rgb, "jpeg", jpeg_quality=95)
    back = _decode(fields.format, fields.data)
    assert back.shape == rgb.shape
    assert np.abs(back.astype(int) - rgb.astype(int)).mean() < 3.0


def test_bare_and_empty_format_fields_are_understood() -> None:
    rgb = _smooth_image()
    png = rgb_to_compressed(rgb, "png").data
    np.testing.assert_array_equal(_decode("png", png), rgb)
    np.testing.assert_array_equal(_decode("", png), rgb)
    np.testing.assert_array_equal(_decode("", bytes(png)), rgb)


def test_data_stored_as_rgb_is_not_swapped() -> None:
    rgb = _smooth_image()
    # A publisher that compressed RGB bytes as if they were BGR says so in the format field.
    as_if_bgr = rgb_to_compressed(rgb[..., ::-1].copy(), "png").data
    np.testing.assert_array_equal(_decode("rgb8; png compressed rgb8", as_if_bgr), rgb)


def test_real_messages_from_the_camera_dataset_decode() -> None:
    image = pytest.importorskip("cv2").imread("/usr/share/doc/opencv-doc/examples/data/messi5.jpg")
    if image is None:
        pytest.skip("Debian opencv-doc sample images are not installed (apt-get install opencv-doc)")
    with open("/usr/share/doc/opencv-doc/examples/data/messi5.jpg", "rb") as handle:
        rgb = _decode("jpeg", handle.read())
    np.testing.assert_array_equal(rgb, image[..., ::-1])


@pytest.mark.parametrize(
    ("fields_format", "make_data", "message_part"),
    [
        ("jpeg", lambda jpg, png: jpg[: len(jpg) // 2], "truncated JPEG"),
        ("jpeg", lambda jpg, png: jpg[:-1], "truncated JPEG"),
        ("png", lambda jpg, png: png[: len(png) - 20], "truncated PNG"),
        ("jpeg", lambda jpg, png: b"", "empty compressed image"),
        ("jpeg", lambda jpg, png: png, "does not start with a JPEG marker"),
        ("png", lambda jpg, png: jpg, "does not start with the PNG signature"),
        ("tiff", lambda jpg, png: jpg, "unsupported compressed format 'tiff'"),
        ("", lambda jpg, png: b"\x00\x01\x02", "unsupported compressed format"),
        ("jpeg", lambda jpg, png: jpg[:2] + bytes(200) + jpg[-2:], "corrupt jpeg data"),
    ],
)
def test_bad_compressed_data_raises_actionable_errors(fields_format: str, make_data, message_part: str) -> None:
    rgb = _smooth_image()
    jpg = bytes(rgb_to_compressed(rgb, "jpeg").data)
    png = bytes(rgb_to_compressed(rgb, "png").data)
    with pytest.raises(ImageConversionError, match=message_part):
        _decode(fields_format, make_data(jpg, png))


@pytest.mark.parametrize(
    ("pixels", "codec", "quality", "message_part"),
    [
        (np.zeros((0, 4, 3), np.uint8), "jpeg", 90, "expected non-empty uint8 RGB"),
        (np.zeros((4, 4), np.uint8), "jpeg", 90, "expected non-empty uint8 RGB"),
        (np.zeros((4, 4, 3), np.uint8), "webp", 90, "unsupported codec 'webp'"),
        (np.zeros((4, 4, 3), np.uint8), "jpeg", 101, "jpeg_quality"),
    ],
)
def test_bad_encode_requests_are_rejected(pixels: np.ndarray, codec: str, quality: int, message_part: str) -> None:
    with pytest.raises(ImageConversionError, match=message_part):
        rgb_to_compressed(pixels, codec, quality)


def test_fields_fill_a_real_sensor_msgs_compressed_image() -> None:
    sensor_msgs = pytest.importorskip("sensor_msgs.msg", reason="ROS 2 sensor_msgs is not installed")
    rgb = _smooth_image()
    message = sensor_msgs.CompressedImage()
    rgb_to_compressed(rgb, "png").apply_to(message)
    np.testing.assert_array_equal(compressed_to_rgb(message), rgb)
