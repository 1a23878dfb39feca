"""Several people per frame from BlazePose, within the real-time budget.

MediaPipe's legacy pose solution sees one person per image, so this source
gives every person their own view and their own BlazePose instance:

* **Following** (every frame): each followed person's instance runs in
  tracking mode, which skips MediaPipe's person detector while the landmark
  model keeps the person (~16-19 ms instead of ~25-30 ms).  Its tracking state
  lives in the coordinates of the images it is fed, so those must not jump
  around: a person is followed either on the *whole frame* with the other
  followed people blacked out, or on a *steady crop*, a square window that
  stays put until the person drifts off its centre or changes size, and is
  then re-cut (the instance is told to forget, so it re-detects in the new
  window).  On vtest.avi a crop re-cut around the person every frame kept a
  walker leaving the scene for 20 of 80 frames, the steady crop for 61, as
  many as stateless per-crop detection (60) at tracking-mode cost.
* **Searching** (only when needed): when nobody is followed, when someone was
  just lost, or every ``redetect_interval`` frames, newcomers are looked for
  twice: BlazePose on the whole frame with known people blacked out, repeated
  until it finds nobody new (large and close people, even cut by the frame
  edge, which HOG misses), then, on every ``hog_every``-th routine search and
  on every search after a loss, OpenCV's HOG people detector (small, distant
  pedestrians that the full-frame BlazePose misses), each HOG box confirmed
  by BlazePose on its crop.  HOG costs ~36 ms at 640x480 on an idle 2-core
  CPU and several times that on a busy one, so it runs rarely.
* **Guarding identities**: every view blacks out the other followed people,
  and a result that jumps or changes size too much is refused (and the
  instance told to forget): an instance that re-detects after a re-cut would
  otherwise happily take the neighbour walking past.

Per-person instances cost ~110 MB each and are reused, not closed, while the
source lives (starting one costs 100-200 ms).  With ``tracking=False`` every
view goes through one shared static-mode instance instead: less memory, but
the person detector runs for every person in every frame.

The people returned are not identities: an instance may drift to a neighbour
when people cross.  Stable ids are :mod:`lihmr_ros.tracking`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lihmr_ros.keypoints.blazepose import BlazePoseEstimator, CropWindow
from lihmr_ros.keypoints.boxes import iou_matrix, overlap_of_smaller, scale_box
from lihmr_ros.keypoints.person import PersonKeypoints
from lihmr_ros.keypoints.person_detector import HogConfig, HogPersonDetector, novel_boxes

MIN_CROP_SIDE_PX = 32
"""Smallest crop handed to BlazePose: below this its 256 px input is mostly upsampled blur."""

MAX_PREDICTION_SECONDS = 0.2
"""Velocity is extrapolated at most this far: after a longer gap the last box is a better guess."""

SEARCH_MASK_SCALE = 1.2
"""Known people are blacked out with their box grown by this factor before a full-frame search."""

RECENTRE_FRACTION = 0.2
"""A steady crop is re-cut once the person's centre is this fraction of its side away from the crop's centre."""

RESIZE_RATIO = 1.3
"""... or once the crop the person needs is this much larger or smaller than the current one."""

HOG_CROP_SCALE = 1.0
"""HOG boxes already carry a margin around the person: cropping them as they are keeps small
pedestrians large enough for BlazePose's detector (1.5x lost some of them)."""

MAX_CENTRE_JUMP = 0.4
"""A result whose centre is further than this x the expected box size from the expected centre is somebody else
(on vtest.avi a dropped frame moved walkers by up to 0.35 of their height; a neighbour taken instead was 0.5 away)."""

MAX_SIZE_CHANGE = 1.5
"""... as is a result whose box height changed by more than this factor since the last frame."""


@dataclass(frozen=True)
class MultiPersonConfig:
    """Settings of :class:`MultiPersonBlazePose`."""

    max_people: int = 4
    """Most people followed at once (each costs ~16-19 ms per frame and, in tracking mode, ~110 MB)."""
    redetect_interval: int = 10
    """Frames between searches for newcomers while everyone followed is still found."""
    crop_scale: float = 2.0
    """Crop side = this x the longer side of the person's keypoint box.  BlazePose's detector needs
    context around the body: on 21 vtest.avi pedestrians it re-found 16 at 1.25, 20 at 1.5 and all
    at 1.75-2.5; the margin is also room to move before the steady crop must be re-cut."""
    min_score: float = 0.4
    """Mean keypoint confidence below which a BlazePose result is not accepted as a person."""
    max_misses: int = 2
    """Consecutive frames a followed person may go unfound before they are dropped."""
    duplicate_iou: float = 0.6
    """Two followed people whose boxes overlap this much are one person (the newer is dropped)."""
    tracking: bool = True
    """One BlazePose instance per person in tracking mode (fast) instead of one shared static instance."""
    smooth_landmarks: bool = True
    """MediaPipe's landmark filter in tracking mode (valid because the views are steady)."""
    full_frame_search: bool = True
    """Search the whole frame (known people masked) with BlazePose."""
    hog: HogConfig | None = field(default_factory=HogConfig)
    """HOG search settings; ``None`` disables HOG."""
    hog_every: int = 3
    """HOG joins every n-th routine search only (and every search after a loss or with nobody followed):
    it costs ~36 ms at 640x480 (far more on a busy CPU), the full-frame search ~10-15 ms, and distant
    newcomers can wait a few more frames."""

    def __post_init__(self) -> None:
        if self.max_people < 1:
            raise ValueError(f"max_people must be >= 1, got {self.max_people}")
        if self.redetect_interval < 1:
            raise ValueError(f"redetect_interval must be >= 1 frame, got {self.redetect_interval}")
        if not self.crop_scale >= 1.0:
            raise ValueError(f"crop_scale must be >= 1, got {self.crop_scale}")
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"min_score must lie in [0, 1], got {self.min_score}")
        if self.max_misses < 0:
            raise ValueError(f"max_misses must be >= 0, got {self.max_misses}")
        if self.hog_every < 1:
            raise ValueError(f"hog_every must be >= 1 search, got {self.hog_every}")
        if not self.full_frame_search and self.hog is None:
            raise ValueError("enable full_frame_search or HOG: otherwise no person is ever found")


class _EstimatorPool:
    """BlazePose instances handed to followed people and taken back, never closed early."""

    def __init__(self, tracking: bool, smooth_landmarks: bool) -> None:
        self._tracking = tracking
        self._smooth_landmarks = smooth_landmarks
        self._idle: list[BlazePoseEstimator] = []
        self._all: list[BlazePoseEstimator] = []
        self._static: BlazePoseEstimator | None = None

    def static(self) -> BlazePoseEstimator:
        """The shared static-mode instance (full-frame search, and every view when not tracking)."""
        if self._static is None:
            self._static = BlazePoseEstimator(tracking=False)
            self._all.append(self._static)
        return self._static

    def acquire(self) -> BlazePoseEstimator:
        if not self._tracking:
            return self.static()
        if self._idle:
            return self._idle.pop()
        estimator = BlazePoseEstimator(tracking=True, smooth_landmarks=self._smooth_landmarks)
        self._all.append(estimator)
        return estimator

    def release(self, estimator: BlazePoseEstimator) -> None:
        if estimator.tracking:
            estimator.forget()
            self._idle.append(estimator)

    def close(self) -> None:
        for estimator in self._all:
            estimator.close()
        self._all.clear()
        self._idle.clear()
        self._static = None


def _crop_window(box: np.ndarray, scale: float) -> CropWindow:
    """Square crop around ``box``, never smaller than :data:`MIN_CROP_SIDE_PX`."""
    box = np.asarray(box, dtype=np.float64)
    side = max(float(np.max(box[2:] - box[:2])), MIN_CROP_SIDE_PX / scale)
    centre = 0.5 * (box[:2] + box[2:])
    return CropWindow.around_box(np.concatenate([centre - side / 2, centre + side / 2]), scale)


def _window_still_fits(window: CropWindow, wanted: CropWindow) -> bool:
    """Whether a steady crop can stay as it is for a person who now needs ``wanted``."""
    offset = np.array(
        [
            (wanted.left + wanted.width / 2) - (window.left + window.width / 2),
            (wanted.top + wanted.height / 2) - (window.top + window.height / 2),
        ]
    )
    ratio = wanted.width / window.width
    centred = bool(np.all(np.abs(offset) <= RECENTRE_FRACTION * window.width))
    return centred and 1 / RESIZE_RATIO <= ratio <= RESIZE_RATIO


class _FollowedPerson:
    """One person being followed: their estimator, their view, last box and box velocity."""

    def __init__(
        self, estimator: BlazePoseEstimator, person: PersonKeypoints, timestamp: float, window: CropWindow | None
    ) -> None:
        self.estimator = estimator
        self.window = window  # the steady crop, or None when followed on the whole frame
        self.box = person.box.astype(np.float64)
        self.velocity = np.zeros(2)
        self.timestamp = timestamp
        self.misses = 0

    def predicted_box(self, timestamp: float) -> np.ndarray:
        elapsed = float(np.clip(timestamp - self.timestamp, 0.0, MAX_PREDICTION_SECONDS))
        shift = self.velocity * elapsed
        return self.box + np.concatenate([shift, shift])

    def steady_window(self, expected_box: np.ndarray, scale: float) -> CropWindow:
        """The crop to use now: the current one, or a re-cut one (the estimator then starts afresh)."""
        wanted = _crop_window(expected_box, scale)
        if self.window is None or not _window_still_fits(self.window, wanted):
            self.estimator.forget()
            self.window = wanted
        return self.window

    def update(self, person: PersonKeypoints, timestamp: float) -> None:
        elapsed = timestamp - self.timestamp
        if elapsed > 0.0:
            old_centre = 0.5 * (self.box[:2] + self.box[2:])
            new_centre = 0.5 * (person.box[:2] + person.box[2:]).astype(np.float64)
            # Half-and-half blend: follows changes of direction within a few frames without amplifying jitter.
            self.velocity = 0.5 * self.velocity + 0.5 * (new_centre - old_centre) / elapsed
        self.box = person.box.astype(np.float64)
        self.timestamp = timestamp
        self.misses = 0


class MultiPersonBlazePose:
    """The default :class:`~lihmr_ros.keypoints.source.KeypointSource`: BlazePose for up to ``max_people``."""

    def __init__(self, config: MultiPersonConfig = MultiPersonConfig()) -> None:
        self.config = config
        self._pool = _EstimatorPool(config.tracking, config.smooth_landmarks)
        self._hog = HogPersonDetector(config.hog) if config.hog is not None else None
        self._followed: list[_FollowedPerson] = []
        self._frames_since_search = 0
        self._searches = 0
        self._frame_shape: tuple[int, ...] | None = None

    @property
    def num_followed(self) -> int:
        return len(self._followed)

    def warm_up(self) -> None:
        """Start the models now (100-200 ms each) so the first frames with people are not late.

        Initialises the static instance and one tracking instance, enough for
        the first person; more are started as more people appear.
        """
        blank = np.zeros((64, 64, 3), dtype=np.uint8)
        self._pool.static().estimate(blank)
        estimator = self._pool.acquire()
        estimator.estimate(blank)
        self._pool.release(estimator)

    def detect(self, image_rgb: np.ndarray, timestamp: float) -> list[PersonKeypoints]:
        """People in this frame: the followed ones re-found, plus newcomers when a search is due."""
        if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
            raise ValueError(f"image must be uint8 RGB (H, W, 3), got {image_rgb.dtype} {image_rgb.shape}")
        if image_rgb.shape != self._frame_shape:  # a new camera or resolution: old views mean nothing
            self._drop(list(self._followed))
            self._frame_shape = image_rgb.shape
        found = self._follow(image_rgb, timestamp)
        lost_someone = self._drop_lost_and_duplicates(found)
        found = [(followed, person) for followed, person in found if followed in self._followed]
        self._frames_since_search += 1
        urgent = not self._followed or lost_someone
        if (urgent or self._frames_since_search >= self.config.redetect_interval) and (
            len(self._followed) < self.config.max_people
        ):
            self._frames_since_search = 0
            with_hog = urgent or self._searches % self.config.hog_every == 0
            self._searches += 1
            found.extend(self._search(image_rgb, timestamp, with_hog))
        return [person for _, person in found]

    def close(self) -> None:
        self._followed.clear()
        self._pool.close()

    def _accepts(self, person: PersonKeypoints | None, expected_box: np.ndarray, check_size: bool = True) -> bool:
        """A BlazePose result counts if it is confident, centred where the person was expected and as tall.

        ``check_size`` is off for HOG boxes, which are padded and so taller than keypoint boxes.
        """
        if person is None or person.score < self.config.min_score:
            return False
        expected_box = np.asarray(expected_box, dtype=np.float64)
        jump = np.linalg.norm(0.5 * (person.box[:2] + person.box[2:]) - 0.5 * (expected_box[:2] + expected_box[2:]))
        if jump > MAX_CENTRE_JUMP * np.max(expected_box[2:] - expected_box[:2]):
            return False
        if not check_size:
            return True
        height_ratio = float(person.box[3] - person.box[1]) / max(float(expected_box[3] - expected_box[1]), 1.0)
        return 1.0 / MAX_SIZE_CHANGE <= height_ratio <= MAX_SIZE_CHANGE

    def _follow(self, image_rgb: np.ndarray, timestamp: float) -> list[tuple[_FollowedPerson, PersonKeypoints]]:
        found = []
        expected_boxes = [followed.predicted_box(timestamp) for followed in self._followed]
        for index, followed in enumerate(self._followed):
            expected = expected_boxes[index]
            # Others are blacked out so that a re-detection cannot jump to a neighbour.
            view = self._masked(image_rgb, expected_boxes[:index] + expected_boxes[index + 1 :], keep=expected)
            window = None if followed.window is None else followed.steady_window(expected, self.config.crop_scale)
            person = followed.estimator.estimate(view, window)
            if self._accepts(person, expected):
                followed.update(person, timestamp)
                found.append((followed, person))
            else:
                if person is not None:  # it locked onto somebody else: make it search afresh next frame
                    followed.estimator.forget()
                followed.misses += 1
        return found

    def _drop_lost_and_duplicates(self, found: list[tuple[_FollowedPerson, PersonKeypoints]]) -> bool:
        """Stop following people gone too long, or now followed twice; True if anyone was dropped."""
        gone = [f for f in self._followed if f.misses > self.config.max_misses]
        updated = [f for f, _ in found]  # oldest first, as they were started
        for index, older in enumerate(updated):
            for newer in updated[index + 1 :]:
                if newer not in gone and older not in gone:
                    if iou_matrix(older.box, newer.box)[0, 0] > self.config.duplicate_iou:
                        gone.append(newer)
        self._drop(gone)
        return bool(gone)

    def _drop(self, followed_people: list[_FollowedPerson]) -> None:
        for followed in followed_people:
            self._followed.remove(followed)
            self._pool.release(followed.estimator)

    def _search(
        self, image_rgb: np.ndarray, timestamp: float, with_hog: bool
    ) -> list[tuple[_FollowedPerson, PersonKeypoints]]:
        known = [f.box for f in self._followed]
        newcomers: list[tuple[_FollowedPerson, PersonKeypoints]] = []
        while self.config.full_frame_search and len(self._followed) < self.config.max_people:
            # BlazePose returns the most prominent person; blacking out everyone found so far reveals the next.
            person = self._pool.static().estimate(self._masked(image_rgb, known))
            if person is None or person.score < self.config.min_score or self._is_known(person.box, known):
                break
            newcomers.append(self._start_following(self._pool.acquire(), person, timestamp, window=None))
            known.append(person.box)
        with_hog = with_hog or not self.config.full_frame_search
        if self._hog is not None and with_hog and len(self._followed) < self.config.max_people:
            for candidate in novel_boxes(self._hog.detect(image_rgb), known):
                if len(self._followed) >= self.config.max_people:
                    break
                estimator = self._pool.acquire()
                window = _crop_window(candidate.box, HOG_CROP_SCALE)
                person = estimator.estimate(image_rgb, window)
                if self._accepts(person, candidate.box, check_size=False) and not self._is_known(person.box, known):
                    newcomers.append(self._start_following(estimator, person, timestamp, window))
                    known.append(person.box)
                else:
                    self._pool.release(estimator)
        return newcomers

    def _start_following(
        self, estimator: BlazePoseEstimator, person: PersonKeypoints, timestamp: float, window: CropWindow | None
    ) -> tuple[_FollowedPerson, PersonKeypoints]:
        """Follow a newcomer in the view it was found in, so the estimator's state stays valid.

        People found on the whole frame stay there (large or cut-off people,
        whose keypoint box is often too wrong to crop by); people found in a
        HOG crop keep that crop (small people whom the full-frame detector
        cannot find again).
        """
        followed = _FollowedPerson(estimator, person, timestamp, window)
        self._followed.append(followed)
        return followed, person

    @staticmethod
    def _is_known(box: np.ndarray, known: list[np.ndarray]) -> bool:
        return bool(known) and float(overlap_of_smaller(box, np.stack(known)).max()) >= 0.5

    @staticmethod
    def _masked(image_rgb: np.ndarray, boxes: list[np.ndarray], keep: np.ndarray | None = None) -> np.ndarray:
        """A copy of the frame with ``boxes`` (grown a little) painted black, so BlazePose looks elsewhere.

        Pixels inside ``keep`` (the person being looked for) stay, so that a
        neighbour overlapping them does not black out part of their body.
        """
        if not boxes:
            return image_rgb
        masked = image_rgb.copy()
        for box in boxes:
            masked[_pixel_slices(scale_box(box, SEARCH_MASK_SCALE))] = 0
        if keep is not None:
            kept = _pixel_slices(keep)
            masked[kept] = image_rgb[kept]
        return masked


def _pixel_slices(box: np.ndarray) -> tuple[slice, slice]:
    """Row and column slices covering the pixels of ``box`` (numpy clips them to the frame)."""
    x0, y0, x1, y1 = box
    return slice(max(int(y0), 0), max(int(np.ceil(y1)) + 1, 0)), slice(max(int(x0), 0), max(int(np.ceil(x1)) + 1, 0))
