"""sensor_msgs/Image fields <-> numpy RGB (lihmr_ros.imaging.raw), without ROS."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from lihmr_ros.imaging import SUPPORTED_ENCODINGS, ImageConversionError, image_to_array, image_to_rgb, rgb_to_image

RNG = np.random.default_rng(7)


def _colour_image(height: int = 6, width: int = 8) -> np.ndarray:
    return RNG.integers(0, 256, (height, width, 3), dtype=np.uint8)


def _grey_image(height: int = 6, width: int = 8) -> np.ndarray:
    return np.repeat(RNG.integers(0, 256, (height, width, 1), dtype=np.uint8), 3, axis=2)


def _pair_constant_image(height: int = 6, width: int = 8) -> np.ndarray:
    """Colours shared by horizontal pixel pairs, which YUV 4:2:2 can store (chroma is per pair)."""
    return np.repeat(RNG.integers(16, 240, (height, width // 2, 3), dtype=np.uint8), 2, axis=1)


def _message(**fields: object) -> SimpleNamespace:
    return SimpleNamespace(**fields)


def _round_trip(rgb: np.ndarray, encoding: str, **options: object) -> np.ndarray:
    fields = rgb_to_image(rgb, encoding, **options)
    message = SimpleNamespace()
    fields.apply_to(message)
    return image_to_rgb(message)


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "rgba8", "bgra8"])
def test_colour_encodings_round_trip_exactly(encoding: str) -> None:
    rgb = _colour_image()
    np.testing.assert_array_equal(_round_trip(rgb, encoding), rgb)


@pytest.mark.parametrize("encoding", ["mono8", "8UC1", "mono16", "16UC1", "32FC1"])
@pytest.mark.parametrize("is_bigendian", [False, True])
def test_grey_encodings_round_trip_grey_images_exactly(encoding: str, is_bigendian: bool) -> None:
    grey = _grey_image()
    np.testing.assert_array_equal(_round_trip(grey, encoding, is_bigendian=is_bigendian), grey)


@pytest.mark.parametrize("encoding", ["yuv422", "yuv422_yuy2"])
def test_yuv422_round_trips_pair_constant_colours_within_one_level(encoding: str) -> None:
    rgb = _pair_constant_image()
    back = _round_trip(rgb, encoding)
    assert np.abs(back.astype(int) - rgb.astype(int)).max() <= 1


def test_every_supported_encoding_is_covered_by_a_round_trip_test() -> None:
    covered = {"rgb8", "bgr8", "rgba8", "bgra8", "mono8", "8UC1", "mono16", "16UC1", "32FC1", "yuv422", "yuv422_yuy2"}
    assert set(SUPPORTED_ENCODINGS) == covered


@pytest.mark.parametrize("encoding", SUPPORTED_ENCODINGS)
def test_padded_rows_are_skipped(encoding: str) -> None:
    rgb = _pair_constant_image() if encoding.startswith("yuv") else _grey_image()
    padded = rgb_to_image(rgb, encoding, row_padding=5)
    tight = rgb_to_image(rgb, encoding)
    assert padded.step == tight.step + 5
    np.testing.assert_array_equal(image_to_rgb(padded), image_to_rgb(tight))


def test_channel_order_known_answer() -> None:
    pixel = np.array([[[10, 20, 30]]], dtype=np.uint8)
    bgr = _message(height=1, width=1, encoding="bgr8", is_bigendian=0, step=3, data=bytes([30, 20, 10]))
    bgra = _message(height=1, width=1, encoding="bgra8", is_bigendian=0, step=4, data=bytes([30, 20, 10, 99]))
    np.testing.assert_array_equal(image_to_rgb(bgr), pixel)
    np.testing.assert_array_equal(image_to_rgb(bgra), pixel)


def test_16_bit_values_and_byte_order_known_answer() -> None:
    little = _message(height=1, width=2, encoding="16UC1", is_bigendian=0, step=4, data=bytes([0x34, 0x12, 0xFF, 0xFF]))
    big = _message(height=1, width=2, encoding="16UC1", is_bigendian=1, step=4, data=bytes([0x12, 0x34, 0xFF, 0xFF]))
    np.testing.assert_array_equal(image_to_array(little), [[0x1234, 0xFFFF]])
    np.testing.assert_array_equal(image_to_array(big), [[0x1234, 0xFFFF]])
    assert image_to_array(big).dtype.isnative
    np.testing.assert_array_equal(image_to_rgb(big)[0, :, 0], [round(0x1234 / 257), 255])


def test_float_depth_keeps_values_and_shows_nan_as_black() -> None:
    values = np.array([[0.25, np.nan, 7.5]], dtype=">f4")
    message = _message(height=1, width=3, encoding="32FC1", is_bigendian=True, step=12, data=values.tobytes())
    np.testing.assert_array_equal(image_to_array(message), values.astype(np.float32))
    np.testing.assert_array_equal(image_to_rgb(message)[0, :, 1], [64, 0, 255])


def test_yuv422_byte_order_known_answer() -> None:
    # Mid-grey luma with neutral chroma decodes to grey in both byte orders.
    uyvy = _message(height=1, width=2, encoding="yuv422", is_bigendian=0, step=4, data=bytes([128, 200, 128, 100]))
    yuyv = _message(height=1, width=2, encoding="yuv422_yuy2", is_bigendian=0, step=4, data=bytes([200, 128, 100, 128]))
    np.testing.assert_array_equal(image_to_rgb(uyvy), image_to_rgb(yuyv))
    assert image_to_rgb(uyvy)[0, 0, 0] > image_to_rgb(uyvy)[0, 1, 0]  # the first pixel is the brighter one


def test_output_is_independent_of_the_message_buffer() -> None:
    data = bytearray(_colour_image(2, 2).tobytes())
    message = _message(height=2, width=2, encoding="rgb8", is_bigendian=0, step=6, data=data)
    rgb = image_to_rgb(message)
    rgb[:] = 0
    assert bytes(data) != bytes(12)
    assert rgb.flags.writeable


def test_list_of_ints_data_is_accepted() -> None:
    message = _message(height=1, width=2, encoding="mono8", is_bigendian=0, step=2, data=[5, 250])
    np.testing.assert_array_equal(image_to_array(message), [[5, 250]])


def test_encoding_names_are_case_insensitive() -> None:
    message = _message(height=1, width=1, encoding="RGB8", is_bigendian=0, step=3, data=bytes([1, 2, 3]))
    np.testing.assert_array_equal(image_to_rgb(message), [[[1, 2, 3]]])


@pytest.mark.parametrize(
    ("fields", "message_part"),
    [
        ({"encoding": "bayer_rggb8"}, "unsupported image encoding 'bayer_rggb8'"),
        ({"height": 0}, "empty image"),
        ({"width": 0}, "empty image"),
        ({"step": 5}, "step 5 is smaller than one row"),
        ({"data": bytes(11)}, "image data too short: 11 bytes"),
        ({"data": [1, 2, 300]}, "byte values 0-255"),
        ({"data": [0.5] * 12}, "byte values 0-255"),
        ({"height": "two"}, "image size must be integers"),
    ],
)
def test_bad_messages_raise_actionable_errors(fields: dict, message_part: str) -> None:
    message = _message(height=2, width=2, encoding="rgb8", is_bigendian=0, step=6, data=bytes(12))
    for name, value in fields.items():
        setattr(message, name, value)
    with pytest.raises(ImageConversionError, match=message_part):
        image_to_rgb(message)


def test_last_row_may_omit_its_padding() -> None:
    # Lenient on purpose: some drivers do not pad the final row.
    message = _message(height=2, width=1, encoding="mono8", is_bigendian=0, step=4, data=bytes([7, 0, 0, 0, 9]))
    np.testing.assert_array_equal(image_to_array(message), [[7], [9]])


def test_odd_width_yuv_is_rejected() -> None:
    message = _message(height=1, width=3, encoding="yuv422", is_bigendian=0, step=6, data=bytes(6))
    with pytest.raises(ImageConversionError, match="width must be even"):
        image_to_rgb(message)
    with pytest.raises(ImageConversionError, match="width must be even"):
        rgb_to_image(_colour_image(2, 3), "yuv422")


@pytest.mark.parametrize(
    ("pixels", "message_part"),
    [
        (np.zeros((2, 2, 3), np.float32), "expected uint8 RGB"),
        (np.zeros((2, 2), np.uint8), "expected uint8 RGB"),
        (np.zeros((0, 2, 3), np.uint8), "empty image"),
    ],
)
def test_bad_pixels_are_rejected_when_encoding(pixels: np.ndarray, message_part: str) -> None:
    with pytest.raises(ImageConversionError, match=message_part):
        rgb_to_image(pixels)


def test_fields_fill_a_real_sensor_msgs_image() -> None:
    sensor_msgs = pytest.importorskip("sensor_msgs.msg", reason="ROS 2 sensor_msgs is not installed")
    rgb = _colour_image(4, 6)
    message = sensor_msgs.Image()
    rgb_to_image(rgb, "bgr8", row_padding=2).apply_to(message)
    assert (message.encoding, message.step, len(message.data)) == ("bgr8", 20, 80)
    np.testing.assert_array_equal(image_to_rgb(message), rgb)
