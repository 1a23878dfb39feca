"""Procedural surroundings: backdrop, floor, wall, occluding boxes, light and sensor effects.

Nothing here comes from photos (none may be committed): every texture is
drawn from noise, gradients, tiles, planks and rectangles, which is enough
clutter for a person detector and an image encoder to have to separate the
body from its background.  The floor, wall and boxes are real 3D geometry
seen through the sequence's camera, so perspective, horizon and occlusion
order are consistent with the person; boxes between camera and person give
genuine, temporally coherent occlusion.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lihmr_ros.synth.camera import Camera
from lihmr_ros.synth.config import SceneSettings
from lihmr_ros.synth.renderer import OCCLUDER_ID, SCENERY_ID, Lighting, TexturedMesh


_NOISE_MARGIN = 32

Quad = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""One textured rectangle: world corners (4, 3), world normals (4, 3), uvs (4, 2), triangles (2, 3)."""


def _random_colour(rng: np.random.Generator, saturation: tuple[int, int] = (10, 150)) -> np.ndarray:
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(*saturation), rng.uniform(40, 240)]]], dtype=np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def fractal_noise(rng: np.random.Generator, height: int, width: int, octaves: int = 5) -> np.ndarray:
    """(H, W) float32 multi-octave value noise in [0, 1]."""
    total = np.zeros((height, width), dtype=np.float32)
    amplitude, norm = 1.0, 0.0
    cells = int(rng.integers(2, 5))
    for _ in range(octaves):
        coarse = rng.random((cells + 1, cells + 1)).astype(np.float32)
        total += amplitude * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
        norm += amplitude
        amplitude *= 0.5
        cells *= 2
    return np.clip(total / norm, 0.0, 1.0)


def _colourise(field: np.ndarray, colours: list[np.ndarray]) -> np.ndarray:
    """Map a [0, 1] field through a piecewise-linear colour ramp."""
    stops = np.linspace(0.0, 1.0, len(colours))
    channels = [np.interp(field, stops, [c[k] for c in colours]) for k in range(3)]
    return np.stack(channels, axis=-1).astype(np.float32)


def noise_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Mottled surface (plaster, concrete, grass, foliage)."""
    colours = [_random_colour(rng) for _ in range(int(rng.integers(2, 4)))]
    return _colourise(fractal_noise(rng, height, width), colours)


def tile_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Tiles or bricks with grout lines and per-tile colour variation."""
    tile_h = int(rng.integers(max(4, height // 16), max(5, height // 3)))
    tile_w = int(tile_h * rng.uniform(1.0, 3.0))
    base, grout = _random_colour(rng, (0, 120)), _random_colour(rng, (0, 40))
    rows, cols = np.mgrid[0:height, 0:width]
    stagger = (rows // tile_h) % 2 * (tile_w // 2) if rng.random() < 0.5 else 0
    tile_id = (rows // tile_h) * 1000 + (cols + stagger) // tile_w
    jitter = rng.normal(0.0, 14.0, size=(int(tile_id.max()) + 1, 3)).astype(np.float32)
    image = base + jitter[tile_id]
    line = max(1, tile_h // 10)
    is_grout = ((rows % tile_h) < line) | (((cols + stagger) % tile_w) < line)
    image[is_grout] = grout
    return image * (0.85 + 0.3 * fractal_noise(rng, height, width))[..., None]


def plank_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Wooden planks: long stripes with grain noise."""
    wood = _random_colour(rng, (60, 160))
    plank = int(rng.integers(max(4, height // 12), max(5, height // 4)))
    rows, cols = np.mgrid[0:height, 0:width]
    plank_id = rows // plank
    shade = rng.uniform(0.8, 1.2, size=int(plank_id.max()) + 1).astype(np.float32)
    grain = cv2.resize(rng.random((height, 8)).astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    image = wood * (shade[plank_id] * (0.85 + 0.3 * grain))[..., None]
    image[(rows % plank) == 0] *= 0.5
    return image


def stripe_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Stripes (wallpaper, blinds, shelves)."""
    a, b = _random_colour(rng), _random_colour(rng)
    period = rng.uniform(6.0, max(8.0, width / 4))
    angle = rng.choice([0.0, np.pi / 2, rng.uniform(0, np.pi)])
    rows, cols = np.mgrid[0:height, 0:width]
    phase = ((cols * np.cos(angle) + rows * np.sin(angle)) / period) % 1.0
    image = np.where((phase < rng.uniform(0.2, 0.7))[..., None], a, b)
    return image * (0.9 + 0.2 * fractal_noise(rng, height, width))[..., None]


_TEXTURES = (noise_texture, tile_texture, plank_texture, stripe_texture)


def surface_texture(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """A random (size, size, 3) uint8 texture for floors, walls and boxes."""
    kind = _TEXTURES[int(rng.integers(len(_TEXTURES)))]
    return np.clip(kind(rng, size, size), 0, 255).astype(np.uint8)


def backdrop(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Full-frame (H, W, 3) uint8 background: gradient, noise and rectangles (furniture, windows, doors)."""
    top, bottom = _random_colour(rng), _random_colour(rng)
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    image = (1.0 - ramp) * top + ramp * bottom + np.zeros((1, width, 1), dtype=np.float32)
    image = 0.6 * image + 0.4 * noise_texture(rng, height, width)
    for _ in range(int(rng.integers(0, 25))):
        w = int(rng.uniform(0.03, 0.5) * width)
        h = int(rng.uniform(0.03, 0.6) * height)
        x0, y0 = int(rng.integers(-w // 2, width)), int(rng.integers(-h // 2, height))
        x1, y1 = max(x0, 0), max(y0, 0)
        x2, y2 = min(x0 + w, width), min(y0 + h, height)
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        patch = _TEXTURES[int(rng.integers(len(_TEXTURES)))](rng, y2 - y1, x2 - x1)
        image[y1:y2, x1:x2] = patch
    if rng.random() < 0.5:  # a few strong edges: door frames, poles, table legs
        for _ in range(int(rng.integers(1, 6))):
            p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            p2 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            colour = tuple(float(c) for c in _random_colour(rng))
            cv2.line(image, p1, p2, colour, int(rng.integers(1, max(2, width // 40))), cv2.LINE_AA)
    image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.3, 1.5)))
    return np.clip(image, 0, 255).astype(np.uint8)


def _quad(corners_world: np.ndarray, normal_world: np.ndarray, uv_extent: tuple[float, float]) -> Quad:
    uvs = np.array([[0.0, 0.0], [uv_extent[0], 0.0], [uv_extent[0], uv_extent[1]], [0.0, uv_extent[1]]])
    normals = np.repeat(normal_world[None], 4, axis=0)
    return corners_world, normals, uvs, np.array([[0, 1, 2], [0, 2, 3]])


def _mesh_from_quads(
    quads: list[Quad], camera: Camera, texture: np.ndarray, object_id: tuple[float, float]
) -> TexturedMesh:
    positions, normals, uvs, triangles = [], [], [], []
    for corners, quad_normals, quad_uvs, quad_triangles in quads:
        triangles.append(quad_triangles + 4 * len(positions))
        positions.append(camera.to_camera(corners))
        normals.append(quad_normals @ camera.world_to_camera.T)
        uvs.append(quad_uvs)
    return TexturedMesh(
        positions=np.concatenate(positions).astype(np.float32),
        normals=np.concatenate(normals).astype(np.float32),
        uvs=np.concatenate(uvs).astype(np.float32),
        triangles=np.concatenate(triangles).astype(np.int32),
        texture=texture,
        object_id=object_id,
    )


def box_quads(centre: np.ndarray, size: np.ndarray, yaw: float) -> list[Quad]:
    """Six faces of a box resting with its centre at ``centre`` (world), turned by ``yaw`` about y."""
    c, s = np.cos(yaw), np.sin(yaw)
    axes = np.array([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]]) * (0.5 * size)[:, None]
    quads = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            u_axis, v_axis = axes[(axis + 1) % 3], axes[(axis + 2) % 3]
            face_centre = centre + sign * axes[axis]
            corners = np.stack(
                [face_centre - u_axis - v_axis, face_centre + u_axis - v_axis, face_centre + u_axis + v_axis,
                 face_centre - u_axis + v_axis]
            )
            normal = sign * axes[axis] / np.linalg.norm(axes[axis])
            extent = (2 * np.linalg.norm(u_axis), 2 * np.linalg.norm(v_axis))
            quads.append(_quad(corners, normal, extent))
    return quads


@dataclass(frozen=True)
class Scenery:
    """Everything in a sequence that is not the person (static: the camera does not move)."""

    backdrop: np.ndarray
    meshes: list[TexturedMesh]
    lighting: Lighting
    noise_bank: np.ndarray
    """(H + margin, W + margin, 3) float32 sensor noise; each frame reads a randomly shifted window."""
    blur_sigma: float


class SceneSampler:
    """Draws :class:`Scenery` for one sequence."""

    def __init__(self, settings: SceneSettings) -> None:
        self.settings = settings

    def sample(self, rng: np.random.Generator, camera: Camera, person_path_world: np.ndarray) -> Scenery:
        """``person_path_world``: (F, 3) root positions on the floor, to put boxes in front of the person."""
        settings = self.settings
        meshes: list[TexturedMesh] = []
        if rng.random() < settings.floor_probability:
            extent, depth = 30.0, 40.0
            tile = float(rng.uniform(0.5, 3.0))
            corners = np.array([[-extent, 0.0, 0.2], [extent, 0.0, 0.2], [extent, 0.0, depth], [-extent, 0.0, depth]])
            corners[:, [0, 2]] += camera.position[[0, 2]]
            floor = _quad(corners, np.array([0.0, -1.0, 0.0]), (2 * extent / tile, (depth - 0.2) / tile))
            meshes.append(_mesh_from_quads([floor], camera, surface_texture(rng), SCENERY_ID))
            if rng.random() < 0.5:
                farthest = float(np.max(person_path_world[:, 2]))
                wall_z = farthest + float(rng.uniform(1.0, 6.0))
                wall_height = float(rng.uniform(2.5, 5.0))
                corners = np.array(
                    [[-extent, 0.0, wall_z], [extent, 0.0, wall_z], [extent, -wall_height, wall_z],
                     [-extent, -wall_height, wall_z]]
                )
                tile = float(rng.uniform(0.5, 3.0))
                wall = _quad(corners, np.array([0.0, 0.0, -1.0]), (2 * extent / tile, wall_height / tile))
                meshes.append(_mesh_from_quads([wall], camera, surface_texture(rng), SCENERY_ID))
        if rng.random() < settings.occluder_probability:
            for _ in range(int(rng.integers(1, settings.max_occluders + 1))):
                meshes.append(self._occluder(rng, camera, person_path_world))
        return Scenery(
            backdrop=backdrop(rng, camera.height, camera.width),
            meshes=meshes,
            lighting=self._lighting(rng),
            noise_bank=float(rng.uniform(*settings.sensor_noise))
            * rng.standard_normal((camera.height + _NOISE_MARGIN, camera.width + _NOISE_MARGIN, 3), dtype=np.float32),
            blur_sigma=float(rng.uniform(0.4, 1.0)) if rng.random() < settings.blur_probability else 0.0,
        )

    def _occluder(self, rng: np.random.Generator, camera: Camera, path: np.ndarray) -> TexturedMesh:
        """A box on the floor between the camera and a random point of the person's path."""
        target = path[int(rng.integers(len(path)))]
        ground_camera = np.array([camera.position[0], 0.0, camera.position[2]])
        to_person = target - ground_camera
        distance = float(np.hypot(to_person[0], to_person[2]))
        along = float(rng.uniform(0.3, 0.8)) * distance
        along = float(np.clip(along, 0.6, max(0.6, distance - 0.6)))
        direction = to_person / max(distance, 1e-6)
        sideways = np.array([-direction[2], 0.0, direction[0]]) * float(rng.uniform(-0.5, 0.5))
        size = np.array([rng.uniform(0.3, 1.4), rng.uniform(0.4, 1.6), rng.uniform(0.2, 0.9)])
        centre = ground_camera + direction * along + sideways + np.array([0.0, -0.5 * size[1], 0.0])
        quads = box_quads(centre, size, float(rng.uniform(-np.pi, np.pi)))
        return _mesh_from_quads(quads, camera, surface_texture(rng), OCCLUDER_ID)

    @staticmethod
    def _lighting(rng: np.random.Generator) -> Lighting:
        tint = rng.uniform(0.85, 1.15, size=3)
        tint /= tint.mean()
        key_direction = np.array([rng.uniform(-1.0, 1.0), rng.uniform(0.2, 1.0), rng.uniform(-0.3, 1.0)])
        fill_direction = -key_direction + rng.normal(0.0, 0.3, size=3)
        return Lighting(
            ambient=np.full(3, rng.uniform(0.2, 0.55)) * tint,
            directions=np.stack([key_direction, fill_direction]),
            colours=np.stack([np.full(3, rng.uniform(0.45, 0.95)) * tint, np.full(3, rng.uniform(0.05, 0.3))]),
            specular=float(rng.uniform(0.0, 0.15)),
        )


def apply_sensor(image: np.ndarray, scenery: Scenery, rng: np.random.Generator) -> np.ndarray:
    """Defocus blur and sensor noise of the sequence's camera on one rendered frame.

    Drawing fresh Gaussian noise for every 640x480 frame costs more than
    rendering it; a shifted window into one noise bank per sequence is
    statistically the same to a network and costs a copy.
    """
    result = image.astype(np.float32)
    if scenery.blur_sigma > 0:
        result = cv2.GaussianBlur(result, (0, 0), scenery.blur_sigma)
    height, width = image.shape[:2]
    dy, dx = (int(offset) for offset in rng.integers(0, _NOISE_MARGIN, size=2))
    result += scenery.noise_bank[dy : dy + height, dx : dx + width]
    return np.clip(result + 0.5, 0, 255).astype(np.uint8)
