"""Property-based checks of camera_info -> intrinsics: any message is either refused with ValueError or usable.

"Usable" means what the pipeline does with intrinsics on every frame: scale
them to the image's resolution (binned or resized streams) and project points
in front of the camera.  A camera_info that is accepted but turns into NaN or
infinity later would fail every frame instead of being refused once, so the
refusal must happen at conversion time.  (Image conversion is fuzzed in
test_imaging_fuzz.py.)
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lihmr_ros.geometry.intrinsics import CameraIntrinsics

SETTINGS = settings(max_examples=300, deadline=None)

any_float = st.floats(allow_nan=True, allow_infinity=True)
plausible_float = st.floats(-5000.0, 5000.0)
image_side = st.integers(0, 8192)


def camera_info(k: list[float], width: int, height: int) -> SimpleNamespace:
    return SimpleNamespace(k=k, width=width, height=height)


@SETTINGS
@given(
    k=st.lists(st.one_of(any_float, plausible_float), min_size=9, max_size=9),
    width=image_side,
    height=image_side,
    image_width=st.integers(1, 8192),
    image_height=st.integers(1, 8192),
)
@example(k=[0.0] * 9, width=640, height=480, image_width=640, image_height=480)  # uncalibrated driver
@example(k=[float("nan")] * 9, width=640, height=480, image_width=640, image_height=480)
@example(k=[1e308, 0, 320, 0, 1e308, 240, 0, 0, 1], width=1, height=1, image_width=8192, image_height=8192)
@example(k=[5e-324, 0, 320, 0, 5e-324, 240, 0, 0, 1], width=8192, height=8192, image_width=1, image_height=1)
def test_camera_info_is_refused_or_usable_at_any_image_size(
    k: list[float], width: int, height: int, image_width: int, image_height: int
) -> None:
    try:
        intrinsics = CameraIntrinsics.from_camera_info(camera_info(k, width, height))
    except ValueError as error:
        assert str(error), "the refusal must say what is wrong"
        return
    scaled = intrinsics.resized(image_width, image_height)
    pixels = scaled.project(np.array([[0.0, 0.0, 1.0], [0.5, -0.5, 3.0]]))
    assert np.all(np.isfinite(scaled.matrix)) and np.all(np.isfinite(pixels))


@SETTINGS
@given(k=st.lists(plausible_float, min_size=0, max_size=16).filter(lambda values: len(values) != 9))
def test_a_camera_matrix_without_nine_values_is_refused(k: list[float]) -> None:
    try:
        CameraIntrinsics.from_camera_info(camera_info(k, 640, 480))
    except ValueError as error:
        assert "9 values" in str(error)
    else:
        raise AssertionError(f"a {len(k)}-value camera matrix was accepted")
