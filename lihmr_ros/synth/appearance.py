"""Procedural skin, hair, face and clothing painted into Anny's UV texture.

A detector trained on photos only fires on renders that look like dressed
people, and a network that is to generalise must not see the same outfit
twice.  Every person therefore gets a freshly painted UV texture: a skin tone,
a top (sleeveless to long-sleeved, cropped to dress length), trousers or
shorts, shoes, hair with a hairline, eyebrows, lips and eyes, each with
random colours, stripe / check / mottled patterns and fabric shading.

The texture is painted from a :class:`SurfaceAtlas`: the anatomical
coordinates of :class:`~lihmr_ros.synth.body_surface.BodySurface`
interpolated into every texel once, so painting a new person is a handful of
vectorised comparisons on the texel grid (a few milliseconds), not a pass over
triangles.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lihmr_ros.synth.body_surface import BodyPart, BodySurface

# sRGB skin tones from very light to very dark; a person's tone is drawn between two neighbours.
_SKIN_TONES = np.array(
    [
        [241, 214, 194],
        [228, 185, 155],
        [209, 158, 122],
        [183, 128, 92],
        [150, 100, 68],
        [112, 72, 48],
        [78, 50, 36],
    ],
    dtype=np.float64,
)
_HAIR_COLOURS = np.array(
    [[20, 16, 14], [45, 30, 22], [85, 58, 38], [140, 100, 60], [200, 165, 110], [150, 70, 35], [180, 178, 172]],
    dtype=np.float64,
)
_IRIS_COLOURS = np.array([[45, 28, 18], [80, 52, 30], [50, 75, 110], [60, 85, 60]], dtype=np.float64)
# Common garment colours (denim, black, greys, navy, beige, white, olive, ...); the rest are random hues.
_GARMENT_COLOURS = np.array(
    [
        [40, 60, 95], [70, 95, 135], [25, 25, 28], [70, 70, 72], [130, 130, 128], [225, 225, 220],
        [30, 40, 70], [190, 170, 140], [95, 90, 60], [120, 40, 45], [160, 110, 70],
    ],
    dtype=np.float64,
)


@dataclass(frozen=True)
class SurfaceAtlas:
    """Anatomical coordinates of the body surface sampled on the texture's texel grid."""

    covered: np.ndarray
    """(T, T) bool: texel lies inside a UV triangle (others hold their nearest covered texel's values)."""
    part: np.ndarray
    """(T, T) int8 :class:`BodyPart` of the nearest vertex."""
    limb_progress: np.ndarray
    """(T, T, 2) float32 arm / leg progress (see ``BodySurface.limb_progress``)."""
    torso_height: np.ndarray
    """(T, T) float32."""
    head_offset: np.ndarray
    """(T, T, 3) float32."""
    eye_offset: np.ndarray
    """(T, T, 3) float32."""
    rest_position: np.ndarray
    """(T, T, 3) float32."""

    @property
    def size(self) -> int:
        return int(self.part.shape[0])


def build_surface_atlas(surface: BodySurface, size: int) -> SurfaceAtlas:
    """Rasterise every UV triangle and interpolate the per-vertex coordinates into its texels.

    Texels outside all triangles copy their nearest covered texel, so
    bilinear filtering and mipmaps never blend in undefined colours at UV
    seams.
    """
    if size < 64:
        raise ValueError(f"texture size must be at least 64 texels, got {size}")
    uv_pixels = np.empty_like(surface.corner_uv, dtype=np.float64)
    uv_pixels[:, 0] = surface.corner_uv[:, 0] * size - 0.5
    uv_pixels[:, 1] = (1.0 - surface.corner_uv[:, 1]) * size - 0.5
    face_id = np.zeros((size, size), dtype=np.int32)
    shift = 4  # sub-pixel precision bits for fillPoly
    fixed = np.round(uv_pixels * (1 << shift)).astype(np.int32)
    for index, triangle in enumerate(surface.corner_faces):
        cv2.fillPoly(face_id, [fixed[triangle]], index + 1, lineType=cv2.LINE_8, shift=shift)
    covered = face_id > 0

    # Nearest covered texel for every texel (the covered ones map to themselves).
    _, labels = cv2.distanceTransformWithLabels(
        (~covered).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    source_rows, source_cols = np.nonzero(covered)
    label_to_texel = np.zeros(labels.max() + 1, dtype=np.int64)
    label_to_texel[labels[source_rows, source_cols]] = source_rows * size + source_cols
    nearest = label_to_texel[labels].ravel()
    texel_face = face_id.ravel()[nearest] - 1

    # Barycentric coordinates of each texel centre in its (nearest covered) triangle.
    rows, cols = np.divmod(np.arange(size * size), size)
    texel_xy = np.stack([cols, rows], axis=1).astype(np.float64)
    corners = surface.corner_faces[texel_face]
    a, b, c = (uv_pixels[corners[:, k]] for k in range(3))
    v0, v1, v2 = b - a, c - a, texel_xy - a
    denominator = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    denominator = np.where(np.abs(denominator) < 1e-12, 1e-12, denominator)
    w1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / denominator
    w2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / denominator
    weights = np.clip(np.stack([1.0 - w1 - w2, w1, w2], axis=1), 0.0, 1.0)
    weights /= weights.sum(axis=1, keepdims=True)
    vertex = surface.corner_vertex[corners]

    def interpolate(values: np.ndarray) -> np.ndarray:
        gathered = values[vertex]
        if gathered.ndim == 2:
            return (gathered * weights).sum(axis=1).astype(np.float32)
        return (gathered * weights[..., None]).sum(axis=1).astype(np.float32)

    nearest_corner = vertex[np.arange(vertex.shape[0]), weights.argmax(axis=1)]
    shape2, shape3 = (size, size), (size, size, -1)
    return SurfaceAtlas(
        covered=covered,
        part=surface.part[nearest_corner].reshape(shape2),
        limb_progress=interpolate(surface.limb_progress).reshape(shape3),
        torso_height=interpolate(surface.torso_height).reshape(shape2),
        head_offset=interpolate(surface.head_offset).reshape(shape3),
        eye_offset=interpolate(surface.eye_offset).reshape(shape3),
        rest_position=interpolate(surface.rest_position).reshape(shape3),
    )


@dataclass(frozen=True)
class Garment:
    """Colours and pattern of one piece of clothing."""

    colour: np.ndarray
    """(3,) base sRGB colour, 0..255."""
    accent: np.ndarray
    """(3,) second colour used by the pattern."""
    pattern: str
    """``solid``, ``stripes``, ``vertical_stripes``, ``checks`` or ``mottled``."""
    period: float
    """Pattern period in metres."""
    duty: float
    """Fraction of a period painted in the accent colour."""


@dataclass(frozen=True)
class Outfit:
    """Everything that decides how one person looks."""

    skin: np.ndarray
    hair: np.ndarray
    iris: np.ndarray
    lips: np.ndarray
    bald: bool
    hairline: float
    """Height of the front hairline above the head joint, metres (unused when ``bald``)."""
    top: Garment
    bottom: Garment
    shoes: np.ndarray
    sleeve_end: float
    """Arm progress where sleeves end (0 sleeveless ... 1 wrist)."""
    top_hem: float
    """Torso height where the top ends (negative: a dress / long coat over the legs)."""
    dress_length: float
    """Leg progress a dress reaches (negative when there is none)."""
    neckline: float
    """Torso height below which the front of the top is closed."""
    waist: float
    """Torso height where trousers end at the top."""
    trouser_end: float
    """Leg progress where trousers / shorts end (0.3 shorts ... 1.0 ankle)."""
    shoe_top: float
    """Leg progress above which the shoe starts (< 1 means boots)."""


def _random_garment_colour(rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.55:
        base = _GARMENT_COLOURS[rng.integers(len(_GARMENT_COLOURS))]
        return np.clip(base * rng.uniform(0.8, 1.2) + rng.normal(0.0, 8.0, 3), 0, 255)
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(60, 230), rng.uniform(50, 235)]]], dtype=np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float64)


def _sample_garment(rng: np.random.Generator, patterned: float) -> Garment:
    colour = _random_garment_colour(rng)
    pattern = "solid"
    if rng.random() < patterned:
        pattern = str(rng.choice(["stripes", "vertical_stripes", "checks", "mottled"]))
    accent = _random_garment_colour(rng) if rng.random() < 0.6 else np.clip(colour * rng.uniform(0.4, 1.6), 0, 255)
    return Garment(
        colour=colour,
        accent=accent,
        pattern=pattern,
        period=float(rng.uniform(0.015, 0.12)),
        duty=float(rng.uniform(0.2, 0.6)),
    )


def sample_outfit(rng: np.random.Generator, age_years: float, patterned_fraction: float = 0.4) -> Outfit:
    """Draw a random look; grey hair and baldness grow likelier with ``age_years``."""
    tone = rng.uniform(0, len(_SKIN_TONES) - 1)
    low = int(np.floor(tone))
    high = min(low + 1, len(_SKIN_TONES) - 1)
    skin = _SKIN_TONES[low] * (1 - (tone - low)) + _SKIN_TONES[high] * (tone - low)
    skin = np.clip(skin * rng.uniform(0.93, 1.07) + rng.normal(0, 4, 3), 0, 255)

    grey_chance = float(np.clip((age_years - 40.0) / 40.0, 0.0, 0.9))
    hair = _HAIR_COLOURS[-1] if rng.random() < grey_chance else _HAIR_COLOURS[rng.integers(len(_HAIR_COLOURS) - 1)]
    hair = np.clip(hair * rng.uniform(0.8, 1.2), 0, 255)
    bald = bool(rng.random() < 0.4 * float(np.clip((age_years - 30.0) / 50.0, 0.0, 1.0)))

    dress = rng.random() < 0.12
    sleeve_end = float(rng.choice([0.05, 0.3, 0.45, 0.75, 1.0], p=[0.1, 0.3, 0.1, 0.1, 0.4]))
    return Outfit(
        skin=skin,
        hair=hair,
        iris=_IRIS_COLOURS[rng.integers(len(_IRIS_COLOURS))] * rng.uniform(0.8, 1.2),
        lips=np.clip(skin * np.array([0.85, 0.6, 0.6]) + rng.normal(0, 5, 3), 0, 255),
        bald=bald,
        hairline=float(rng.uniform(0.075, 0.095)),
        top=_sample_garment(rng, patterned_fraction),
        bottom=_sample_garment(rng, patterned_fraction * 0.4),
        shoes=np.clip(_random_garment_colour(rng) * rng.uniform(0.3, 0.9), 0, 255),
        sleeve_end=sleeve_end,
        top_hem=float(rng.uniform(-0.6, -0.3)) if dress else float(rng.uniform(-0.15, 0.25)),
        dress_length=float(rng.uniform(0.3, 0.8)) if dress else -1.0,
        neckline=float(rng.uniform(0.8, 0.97)),
        waist=float(rng.uniform(0.2, 0.45)),
        trouser_end=float(rng.choice([0.35, 0.55, 0.8, 0.97, 1.0], p=[0.15, 0.05, 0.05, 0.35, 0.4])),
        shoe_top=float(rng.uniform(0.9, 1.0)) if rng.random() < 0.85 else float(rng.uniform(0.6, 0.85)),
    )


def _value_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Smooth random field in [0, 1] with about ``cells`` blobs across the texture."""
    coarse = rng.random((cells, cells)).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)


def _garment_texels(garment: Garment, atlas: SurfaceAtlas, rng: np.random.Generator) -> np.ndarray:
    x, y, z = (atlas.rest_position[..., k] for k in range(3))
    phase_z = (z / garment.period) % 1.0
    if garment.pattern == "stripes":
        accent = phase_z < garment.duty
    elif garment.pattern == "vertical_stripes":
        accent = ((np.abs(x) + np.abs(y)) / garment.period) % 1.0 < garment.duty
    elif garment.pattern == "checks":
        across = ((np.abs(x) + np.abs(y)) / garment.period) % 1.0 < 0.5
        accent = (phase_z < 0.5) ^ across
    elif garment.pattern == "mottled":
        accent = _value_noise(rng, atlas.size, 48) < garment.duty
    else:
        accent = np.zeros(atlas.part.shape, dtype=bool)
    colour = np.where(accent[..., None], garment.accent, garment.colour)
    folds = 0.85 + 0.3 * _value_noise(rng, atlas.size, 24)
    return colour * folds[..., None]


def paint_texture(atlas: SurfaceAtlas, outfit: Outfit, rng: np.random.Generator) -> np.ndarray:
    """Paint one person's (T, T, 3) uint8 sRGB texture."""
    part = atlas.part
    arm_t, leg_t = atlas.limb_progress[..., 0], atlas.limb_progress[..., 1]
    height = atlas.torso_height
    torso = part == BodyPart.TORSO
    arm = np.isin(part, (BodyPart.UPPER_ARM, BodyPart.LOWER_ARM))
    leg = np.isin(part, (BodyPart.UPPER_LEG, BodyPart.LOWER_LEG))
    head = part == BodyPart.HEAD
    hx, hy, hz = (atlas.head_offset[..., k] for k in range(3))
    ex, ey, ez = (atlas.eye_offset[..., k] for k in range(3))

    skin_shading = 0.94 + 0.12 * _value_noise(rng, atlas.size, 32)
    texture = outfit.skin * skin_shading[..., None]

    front_of_neck = (np.abs(atlas.rest_position[..., 0]) < 0.07) & (atlas.rest_position[..., 1] < 0.0)
    bottom = (torso & (height < outfit.waist)) | (leg & (leg_t < outfit.trouser_end))
    texture = np.where(bottom[..., None], _garment_texels(outfit.bottom, atlas, rng), texture)
    top = (torso & (height >= outfit.top_hem) & ~(front_of_neck & (height > outfit.neckline))) | (
        arm & (arm_t < outfit.sleeve_end)
    )
    top |= (torso | leg) & (leg_t < outfit.dress_length) & (height < outfit.waist + 0.2)
    texture = np.where(top[..., None], _garment_texels(outfit.top, atlas, rng), texture)
    shoes = (part == BodyPart.FOOT) | (leg & (leg_t > outfit.shoe_top))
    texture = np.where(shoes[..., None], outfit.shoes * (0.9 + 0.2 * _value_noise(rng, atlas.size, 16))[..., None], texture)

    # Head: hair above a hairline that slopes down towards the nape (hy grows towards the back of the head).
    hair = head & (hz > outfit.hairline - 0.9 * np.clip(hy + 0.03, 0.0, None))
    if not outfit.bald:
        strands = 0.8 + 0.35 * _value_noise(rng, atlas.size, 96)
        texture = np.where(hair[..., None], outfit.hair * strands[..., None], texture)
    front = ey < -0.0
    brows = head & front & (ez > 0.016) & (ez < 0.024) & (np.abs(ex) < 0.022) & (hy < -0.06)
    brow_colour = outfit.hair * 0.8 if not outfit.bald else outfit.skin * 0.45
    texture = np.where(brows[..., None], 0.5 * texture + 0.5 * brow_colour, texture)
    lips = head & (hy < -0.06) & (np.abs(hx) < 0.019) & (hz > -0.038) & (hz < -0.025)
    texture = np.where(lips[..., None], 0.3 * texture + 0.7 * outfit.lips, texture)
    eye = part == BodyPart.EYE
    sclera = np.array([235.0, 230.0, 225.0])
    iris = eye & (ey < -0.008) & (np.hypot(ex, ez) < 0.0075)
    pupil = eye & (ey < -0.009) & (np.hypot(ex, ez) < 0.0035)
    texture = np.where(eye[..., None], sclera, texture)
    texture = np.where(iris[..., None], outfit.iris, texture)
    texture = np.where(pupil[..., None], np.array([10.0, 10.0, 10.0]), texture)

    grain = rng.normal(0.0, 3.0, texture.shape)
    return np.clip(texture + grain, 0, 255).astype(np.uint8)
