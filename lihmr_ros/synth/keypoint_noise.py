"""Detector-like 2D keypoints from projected ground truth.

Where MediaPipe misses the person on a render (small, dark, cut off or
occluded people) the frame would otherwise be lost, and those are exactly the
hard frames the network must learn.  Such frames get the projected ground
truth corrupted the way MediaPipe corrupts keypoints when it does find a
person: a per-joint systematic offset plus Gaussian error, both proportional
to the person's size, rare large outliers, dropped joints, and confidences
drawn from the measured distributions (stored as quantiles) of visible and
of hidden (occluded / out-of-frame) joints.  The parameters are measured on
renders (``lihmr synth --measure-noise``, ``docs/synth_keypoint_noise.md``).
"""

from __future__ import annotations

import numpy as np

from lihmr_ros.synth.config import CONFIDENCE_QUANTILE_LEVELS, KeypointNoiseSettings


def person_scale(joints_px: np.ndarray) -> float:
    """Longer side of the tight box around the projected joints: the unit of keypoint error."""
    finite = joints_px[np.all(np.isfinite(joints_px), axis=-1)]
    if finite.shape[0] == 0:
        return 0.0
    extent = finite.max(axis=0) - finite.min(axis=0)
    return float(max(extent.max(), 1.0))


def corrupt_keypoints(
    joints_px: np.ndarray,
    visible: np.ndarray,
    in_frame: np.ndarray,
    settings: KeypointNoiseSettings,
    rng: np.random.Generator,
) -> np.ndarray:
    """(17, 2) projected joints + (17,) visibility -> (17, 3) noisy pixels with confidence.

    Joints outside the image get confidence 0, like the runtime's BlazePose
    wrapper reports them.
    """
    joints_px = np.asarray(joints_px, dtype=np.float64)
    scale = person_scale(joints_px)
    sigma = np.asarray(settings.sigma, dtype=np.float64)[:, None] * scale
    noise = rng.normal(0.0, 1.0, size=(17, 2)) * sigma + np.asarray(settings.bias, dtype=np.float64) * scale
    outlier = rng.random(17) < settings.outlier_probability
    noise[outlier] = rng.normal(0.0, settings.outlier_sigma * scale, size=(int(outlier.sum()), 2))
    keypoints = np.nan_to_num(joints_px + noise, nan=0.0)

    levels = rng.random(17)
    confidence = np.where(
        visible,
        np.interp(levels, CONFIDENCE_QUANTILE_LEVELS, settings.confidence_visible),
        np.interp(levels, CONFIDENCE_QUANTILE_LEVELS, settings.confidence_hidden),
    )
    confidence[rng.random(17) < settings.dropout_probability] = 0.0
    confidence[~in_frame] = 0.0
    return np.concatenate([keypoints, confidence[:, None]], axis=1).astype(np.float32)
