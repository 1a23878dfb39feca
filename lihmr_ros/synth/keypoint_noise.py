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

BlazePose's errors are not new on every frame: most of a joint's error is an
offset that holds for the whole sequence or drifts slowly, outliers last
several frames, and occluded joints are guessed with errors several times
those of visible ones (``lihmr synth --measure-noise --from-data``).  A
network trained on independent per-frame noise learns to average it away
over its temporal window and then trusts BlazePose's keypoints more than
they deserve, so :class:`KeypointNoiseProcess` keeps that structure per
sequence.  That makes it as hard a test as BlazePose, but not a substitute
for BlazePose's keypoints as training data (``docs/model_card.md``, phase
14): BlazePose's errors follow the image, random ones cannot be learnt.

The offset and the drift come from the sequence's own random stream, so they
and the occluded joints' settings change a data set's keypoints and nothing
else; the outlier settings decide how many displacements the generator's
stream gives to keypoints, and so also the sensor noise of the renders drawn
after them.  With the structure off the draws are those of the independent
per-frame model the held-out split was made with, so its renders stay
byte-identical.
"""

from __future__ import annotations

import numpy as np

from lihmr_ros.synth.config import CONFIDENCE_QUANTILE_LEVELS, KeypointNoiseSettings

_STRUCTURE_STREAM = 0x4B50
"""Second word of the seed of a sequence's own stream (for the sequence offset and the drift)."""


def person_scale(joints_px: np.ndarray) -> float:
    """Longer side of the tight box around the projected joints: the unit of keypoint error."""
    finite = joints_px[np.all(np.isfinite(joints_px), axis=-1)]
    if finite.shape[0] == 0:
        return 0.0
    extent = finite.max(axis=0) - finite.min(axis=0)
    return float(max(extent.max(), 1.0))


def joints_in_frame(joints_px: np.ndarray, width: float, height: float) -> np.ndarray:
    """(..., 17, 2) projected joints -> (..., 17) bool: finite and inside the image (pixel centres 0..size-1,
    so the outer pixel edges at -0.5 and size - 0.5 count as inside)."""
    x, y = joints_px[..., 0], joints_px[..., 1]
    inside = (x >= -0.5) & (x <= width - 0.5) & (y >= -0.5) & (y <= height - 0.5)
    return np.all(np.isfinite(joints_px), axis=-1) & inside


class KeypointNoiseProcess:
    """The keypoint errors of one sequence: call :meth:`corrupt` for its frames in time order.

    Each joint's standardised error is ``sqrt(1 - s - t) * white + sqrt(s) *
    offset + sqrt(t) * drift`` (``s`` / ``t``: ``sequence_share`` /
    ``temporal_share``), where ``white`` is new on every frame, ``offset`` is
    drawn once per sequence and ``drift`` is a unit-variance autoregressive
    process; it is scaled by the joint's sigma (``hidden_sigma`` when the
    joint is in frame but occluded) and the person's size.
    """

    def __init__(self, settings: KeypointNoiseSettings, sequence_seed: int) -> None:
        self.settings = settings
        self._own = np.random.default_rng([int(sequence_seed), _STRUCTURE_STREAM])
        self._offset = self._own.normal(size=(17, 2))
        self._drift = self._own.normal(size=(17, 2))
        self._previous_frame: int | None = None
        self._outlier = np.zeros(17, dtype=bool)
        self._outlier_offset = np.zeros((17, 2))
        """Displacement of each ongoing outlier, in person sizes (the person's size changes over a sequence)."""

    def corrupt(
        self,
        frame: int,
        joints_px: np.ndarray,
        visible: np.ndarray,
        in_frame: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """(17, 2) projected joints of frame ``frame`` + visibility -> (17, 3) noisy pixels with confidence.

        Frames may be skipped (BlazePose found the person there): the drift
        then moves on by as many frames and ongoing outliers end.  Joints
        outside the image get confidence 0, like the runtime's BlazePose
        wrapper reports them.
        """
        settings = self.settings
        steps = 1 if self._previous_frame is None else frame - self._previous_frame
        if steps < 1:
            raise ValueError(f"frames must come in time order: frame {frame} after {self._previous_frame}")
        self._previous_frame = frame
        keep = settings.temporal_correlation**steps
        self._drift = keep * self._drift + np.sqrt(1.0 - keep**2) * self._own.normal(size=(17, 2))

        joints_px = np.asarray(joints_px, dtype=np.float64)
        scale = person_scale(joints_px)
        hidden = in_frame & ~visible
        sigma = np.asarray(settings.sigma, dtype=np.float64)
        bias = np.asarray(settings.bias, dtype=np.float64)
        if settings.hidden_sigma is not None:
            sigma = np.where(hidden, np.asarray(settings.hidden_sigma, dtype=np.float64), sigma)
        if settings.hidden_bias is not None:
            bias = np.where(hidden[:, None], np.asarray(settings.hidden_bias, dtype=np.float64), bias)
        white_share = 1.0 - settings.sequence_share - settings.temporal_share
        standardised = (
            rng.normal(0.0, 1.0, size=(17, 2)) * np.sqrt(white_share)
            + np.sqrt(settings.sequence_share) * self._offset
            + np.sqrt(settings.temporal_share) * self._drift
        )
        noise = standardised * (sigma[:, None] * scale) + bias * scale
        noise = self._apply_outliers(noise, scale, ongoing=steps == 1, rng=rng)
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

    def _apply_outliers(self, noise: np.ndarray, scale: float, ongoing: bool, rng: np.random.Generator) -> np.ndarray:
        """Replace the error of displaced joints: new outliers draw a displacement, ongoing ones keep theirs."""
        settings = self.settings
        rate, persistence = settings.outlier_probability, settings.outlier_persistence
        if persistence is None:
            continuing = np.zeros(17, dtype=bool)
            chance = np.full(17, rate)
        else:
            continuing = self._outlier & ongoing
            # Start rate such that the long-run share of displaced joints stays ``rate``.
            chance = np.where(continuing, persistence, rate * (1.0 - persistence) / (1.0 - rate))
        outlier = rng.random(17) < chance
        drawn = rng.normal(0.0, settings.outlier_sigma * scale, size=(int(outlier.sum()), 2))
        fresh = outlier & ~continuing
        noise[fresh] = drawn[fresh[outlier]]
        self._outlier_offset[fresh] = noise[fresh] / max(scale, 1.0)  # scale 0: no joint to place at all
        noise[continuing & outlier] = self._outlier_offset[continuing & outlier] * scale
        self._outlier = outlier
        return noise
