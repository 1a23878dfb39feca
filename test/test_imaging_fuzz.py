"""Property-based checks of the image conversions: any valid message round-trips, any garbage fails cleanly."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lihmr_ros.imaging import SUPPORTED_ENCODINGS, ImageConversionError, image_to_array, image_to_rgb, pixel_format
from lihmr_ros.imaging.compressed import compressed_to_rgb

SETTINGS = settings(max_examples=150, deadline=None)


@st.composite
def valid_messages(draw: st.DrawFn) -> tuple[SimpleNamespace, np.ndarray]:
    """A well-formed message and the samples it must decode to."""
    encoding = draw(st.sampled_from(SUPPORTED_ENCODINGS))
    fmt = pixel_format(encoding)
    height = draw(st.integers(1, 5))
    width = draw(st.integers(1, 4)) * (2 if encoding.startswith("yuv") else 1)
    padding = draw(st.integers(0, 7))
    is_bigendian = draw(st.booleans())
    dtype = fmt.dtype(is_bigendian)
    shape = (height, width) if fmt.channels == 1 else (height, width, fmt.channels)
    count = int(np.prod(shape))
    if fmt.sample_type == "f4":
        values = draw(st.lists(st.floats(-1e6, 1e6, width=32), min_size=count, max_size=count))
        samples = np.asarray(values, dtype=np.float32).reshape(shape)
    else:
        size = count * fmt.bytes_per_sample
        raw = draw(st.binary(min_size=size, max_size=size))
        samples = np.frombuffer(raw, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
    rows = samples.astype(dtype).view(np.uint8).reshape(height, -1)
    data = np.concatenate([rows, np.full((height, padding), 0xAB, np.uint8)], axis=1).tobytes()
    step = rows.shape[1] + padding
    message = SimpleNamespace(
        height=height, width=width, encoding=encoding, is_bigendian=is_bigendian, step=step, data=data
    )
    return message, samples


@SETTINGS
@given(valid_messages())
def test_valid_messages_decode_to_their_samples(case: tuple[SimpleNamespace, np.ndarray]) -> None:
    message, samples = case
    np.testing.assert_array_equal(image_to_array(message), samples)
    rgb = image_to_rgb(message)
    assert rgb.shape == (message.height, message.width, 3) and rgb.dtype == np.uint8


@SETTINGS
@given(
    encoding=st.one_of(st.sampled_from(SUPPORTED_ENCODINGS), st.text(max_size=12)),
    height=st.integers(-2, 6),
    width=st.integers(-2, 6),
    step=st.integers(-4, 40),
    is_bigendian=st.booleans(),
    data=st.binary(max_size=120),
)
def test_arbitrary_fields_either_decode_or_raise_image_conversion_error(
    encoding: str, height: int, width: int, step: int, is_bigendian: bool, data: bytes
) -> None:
    message = SimpleNamespace(
        height=height, width=width, encoding=encoding, is_bigendian=is_bigendian, step=step, data=data
    )
    try:
        rgb = image_to_rgb(message)
    except ImageConversionError:
        return
    assert rgb.shape == (height, width, 3)


@SETTINGS
@given(fields_format=st.sampled_from(["jpeg", "png", "", "rgb8; jpeg compressed bgr8"]), data=st.binary(max_size=200))
def test_arbitrary_compressed_bytes_either_decode_or_raise_image_conversion_error(
    fields_format: str, data: bytes
) -> None:
    try:
        rgb = compressed_to_rgb(SimpleNamespace(format=fields_format, data=data))
    except ImageConversionError:
        return
    assert rgb.ndim == 3 and rgb.shape[2] == 3
