"""Offscreen rasteriser for synthetic frames (moderngl on EGL, Mesa llvmpipe).

One OpenGL context renders every frame of a worker: a full-screen procedural
background, then textured, lit triangle meshes (the person, the floor, the
occluder boxes) projected with a pinhole ``K`` in OpenCV pixel conventions,
so a point the renderer draws at pixel ``(u, v)`` is exactly where
``K @ X`` puts it (pixel centres at integers, ``v`` down).  That is what lets
the stored 2D ground truth, the crops and the images agree to the pixel.

Frames are drawn with 4x multisampling (edges blend like a camera's instead
of forming staircases the detector and the encoder never see in real
images) into two colour targets: the shaded image and a
coverage image whose red / green channels hold the person / occluder coverage
of each pixel, resolved by the same multisample averaging.  The coverage is
how visibility flags and silhouette checks are computed without a second pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_VERTEX_SHADER = """
#version 330
uniform mat4 u_projection;
in vec3 in_position;
in vec3 in_normal;
in vec2 in_uv;
out vec3 v_position;
out vec3 v_normal;
out vec2 v_uv;
void main() {
    v_position = in_position;
    v_normal = in_normal;
    v_uv = in_uv;
    gl_Position = u_projection * vec4(in_position, 1.0);
}
"""

# Shading happens in linear light: textures are sRGB, so they are decoded
# before lighting and the result is encoded again.  Normals face the viewer
# (two-sided lighting) because the person mesh is open at the eyes and mouth
# and the boxes are drawn without culling.
_FRAGMENT_SHADER = """
#version 330
uniform sampler2D u_texture;
uniform vec3 u_ambient;
uniform vec3 u_light_directions[2];
uniform vec3 u_light_colours[2];
uniform float u_specular;
uniform vec2 u_object_id;
in vec3 v_position;
in vec3 v_normal;
in vec2 v_uv;
layout(location = 0) out vec4 out_colour;
layout(location = 1) out vec4 out_coverage;
void main() {
    vec3 albedo = pow(texture(u_texture, v_uv).rgb, vec3(2.2));
    vec3 normal = normalize(v_normal);
    vec3 to_eye = normalize(-v_position);
    if (dot(normal, to_eye) < 0.0) normal = -normal;
    vec3 light = u_ambient;
    vec3 highlight = vec3(0.0);
    for (int i = 0; i < 2; ++i) {
        vec3 to_light = -normalize(u_light_directions[i]);
        float diffuse = max(dot(normal, to_light), 0.0);
        vec3 half_vector = normalize(to_light + to_eye);
        highlight += u_light_colours[i] * u_specular * pow(max(dot(normal, half_vector), 0.0), 24.0);
        light += u_light_colours[i] * diffuse;
    }
    vec3 colour = albedo * light + highlight;
    out_colour = vec4(pow(clamp(colour, 0.0, 1.0), vec3(1.0 / 2.2)), 1.0);
    out_coverage = vec4(u_object_id, 0.0, 1.0);
}
"""

_BACKGROUND_VERTEX_SHADER = """
#version 330
in vec2 in_corner;
out vec2 v_uv;
void main() {
    v_uv = vec2(0.5 * in_corner.x + 0.5, 0.5 - 0.5 * in_corner.y);
    gl_Position = vec4(in_corner, 1.0, 1.0);
}
"""

_BACKGROUND_FRAGMENT_SHADER = """
#version 330
uniform sampler2D u_texture;
in vec2 v_uv;
layout(location = 0) out vec4 out_colour;
layout(location = 1) out vec4 out_coverage;
void main() {
    out_colour = vec4(texture(u_texture, v_uv).rgb, 1.0);
    out_coverage = vec4(0.0, 0.0, 0.0, 1.0);
}
"""

PERSON_ID = (1.0, 0.0)
OCCLUDER_ID = (0.0, 1.0)
SCENERY_ID = (0.0, 0.0)


@dataclass(frozen=True)
class Lighting:
    """Ambient term plus two directional lights (key and fill), all linear RGB."""

    ambient: np.ndarray
    """(3,) ambient light colour."""
    directions: np.ndarray
    """(2, 3) directions the lights shine towards, camera frame."""
    colours: np.ndarray
    """(2, 3) light colours."""
    specular: float = 0.1
    """Strength of the Blinn-Phong highlight."""


@dataclass
class TexturedMesh:
    """Triangles ready to draw: per-corner positions / normals / uvs and a texture."""

    positions: np.ndarray
    """(N, 3) float32 camera-frame positions in metres."""
    normals: np.ndarray
    """(N, 3) float32 normals (need not be unit length)."""
    uvs: np.ndarray
    """(N, 2) float32 texture coordinates, OpenGL convention (v up)."""
    triangles: np.ndarray
    """(T, 3) int32 indices into the per-corner arrays."""
    texture: np.ndarray
    """(h, w, 3) uint8 sRGB texture, row 0 at the top (v = 1)."""
    object_id: tuple[float, float] = SCENERY_ID
    """Coverage channels this mesh writes (``PERSON_ID``, ``OCCLUDER_ID`` or ``SCENERY_ID``)."""
    texture_key: object | None = field(default=None)
    """Draws with the same key within one scene reuse the uploaded texture (``None``: upload every draw)."""


@dataclass(frozen=True)
class RenderedFrame:
    """Output of one draw call."""

    image: np.ndarray
    """(H, W, 3) uint8 RGB, row 0 at the top."""
    person_coverage: np.ndarray
    """(H, W) float32 fraction of each pixel covered by the visible person."""
    occluder_coverage: np.ndarray
    """(H, W) float32 fraction of each pixel covered by a visible occluder."""


def projection_matrix(intrinsics: np.ndarray, width: int, height: int, near: float, far: float) -> np.ndarray:
    """OpenGL clip matrix equivalent to the pinhole ``K`` with OpenCV pixel centres.

    A camera-frame point (x, y, z) lands at pixel ``u = fx x / z + cx``,
    ``v = fy y / z + cy``; the ``+ 0.5`` terms move OpenCV's integer pixel
    centres onto OpenGL's half-integer ones and the sign flip on ``y`` makes
    row 0 the top row once the framebuffer is read back upside down.
    """
    fx, fy = float(intrinsics[0, 0]), float(intrinsics[1, 1])
    cx, cy = float(intrinsics[0, 2]), float(intrinsics[1, 2])
    skew = float(intrinsics[0, 1])
    matrix = np.zeros((4, 4), dtype=np.float64)
    matrix[0, 0] = 2.0 * fx / width
    matrix[0, 1] = 2.0 * skew / width
    matrix[0, 2] = 2.0 * (cx + 0.5) / width - 1.0
    matrix[1, 1] = -2.0 * fy / height
    matrix[1, 2] = 1.0 - 2.0 * (cy + 0.5) / height
    matrix[2, 2] = (far + near) / (far - near)
    matrix[2, 3] = -2.0 * far * near / (far - near)
    matrix[3, 2] = 1.0
    return matrix


class Renderer:
    """Owns the EGL context; draws a static scene once, then moving meshes over it frame by frame.

    The camera of a sequence does not move, so the backdrop, floor, wall and
    boxes are drawn once per sequence (:meth:`set_scene`) into a multisampled
    colour + coverage + depth layer; every frame copies that layer (depth
    included, so the person is still hidden behind boxes) and draws only the
    person (:meth:`render`).  On llvmpipe this halves the per-frame cost at
    640x480.
    """

    SAMPLES = 4

    def __init__(self, near: float = 0.05, far: float = 200.0) -> None:
        import moderngl

        try:
            self._ctx = moderngl.create_standalone_context(backend="egl")
        except Exception as error:  # moderngl raises a bare Exception when EGL is missing
            raise RuntimeError(
                "cannot create an offscreen EGL OpenGL context for synthetic rendering; install Mesa EGL "
                "(Debian: libegl1 libegl-mesa0 libgl1-mesa-dri) or run on a machine with a GPU driver"
            ) from error
        self._near, self._far = near, far
        self._mesh_program = self._ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
        self._background_program = self._ctx.program(
            vertex_shader=_BACKGROUND_VERTEX_SHADER, fragment_shader=_BACKGROUND_FRAGMENT_SHADER
        )
        corners = np.array([-1, -1, 1, -1, -1, 1, 1, 1], dtype=np.float32)
        self._background_vao = self._ctx.vertex_array(
            self._background_program, [(self._ctx.buffer(corners.tobytes()), "2f", "in_corner")]
        )
        self._targets: dict[tuple[int, int], tuple[object, object, object]] = {}
        self._textures: dict[object, object] = {}
        self._size: tuple[int, int] | None = None

    def release(self) -> None:
        """Free the GL context (also done by garbage collection; explicit is tidier in workers)."""
        self._ctx.release()

    def _framebuffers(self, width: int, height: int) -> tuple[object, object, object]:
        """(scene layer, work layer, resolved) framebuffers for one image size, created on first use."""
        key = (width, height)
        if key not in self._targets:
            ctx = self._ctx

            def multisampled() -> object:
                return ctx.framebuffer(
                    [ctx.renderbuffer(key, 4, samples=self.SAMPLES), ctx.renderbuffer(key, 4, samples=self.SAMPLES)],
                    ctx.depth_renderbuffer(key, samples=self.SAMPLES),
                )

            resolved = ctx.framebuffer([ctx.renderbuffer(key, 4), ctx.renderbuffer(key, 4)])
            self._targets[key] = (multisampled(), multisampled(), resolved)
        return self._targets[key]

    def _texture(self, image: np.ndarray, key: object | None) -> object:
        """Upload ``image`` (or reuse the upload made under the same ``key``)."""
        if key is not None and key in self._textures:
            return self._textures[key]
        image = np.ascontiguousarray(image[::-1], dtype=np.uint8)  # OpenGL rows start at the bottom (v = 0)
        texture = self._ctx.texture((image.shape[1], image.shape[0]), 3, image.tobytes())
        texture.build_mipmaps()
        texture.filter = (self._ctx.LINEAR_MIPMAP_LINEAR, self._ctx.LINEAR)
        texture.repeat_x = texture.repeat_y = True
        if key is not None:
            self._textures[key] = texture
        return texture

    def _forget_textures(self) -> None:
        for texture in self._textures.values():
            texture.release()
        self._textures.clear()

    def set_scene(
        self,
        intrinsics: np.ndarray,
        width: int,
        height: int,
        background: np.ndarray,
        meshes: list[TexturedMesh],
        lighting: Lighting,
    ) -> None:
        """Draw the static part of a sequence: ``background`` (stretched to the frame) and ``meshes``."""
        import moderngl

        self._forget_textures()
        self._size = (int(width), int(height))
        scene_layer, _, _ = self._framebuffers(*self._size)
        scene_layer.use()
        scene_layer.clear(0.0, 0.0, 0.0, 1.0, depth=1.0)
        ctx = self._ctx
        ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        background_texture = self._texture(background, None)
        background_texture.use(0)
        self._background_program["u_texture"].value = 0
        self._background_vao.render(moderngl.TRIANGLE_STRIP)
        background_texture.release()

        ctx.enable(moderngl.DEPTH_TEST)
        program = self._mesh_program
        program["u_projection"].write(
            projection_matrix(intrinsics, width, height, self._near, self._far).T.astype(np.float32).tobytes()
        )
        program["u_ambient"].value = tuple(float(c) for c in lighting.ambient)
        program["u_light_directions"].write(np.asarray(lighting.directions, dtype=np.float32).tobytes())
        program["u_light_colours"].write(np.asarray(lighting.colours, dtype=np.float32).tobytes())
        program["u_specular"].value = float(lighting.specular)
        program["u_texture"].value = 1
        for mesh in meshes:
            self._draw_mesh(mesh)

    def render(self, meshes: list[TexturedMesh]) -> RenderedFrame:
        """One frame: the scene set by :meth:`set_scene` with ``meshes`` drawn over it (depth tested)."""
        if self._size is None:
            raise RuntimeError("Renderer.render called before set_scene")
        width, height = self._size
        scene_layer, work_layer, resolved = self._framebuffers(width, height)
        ctx = self._ctx
        ctx.copy_framebuffer(work_layer, scene_layer)
        work_layer.use()
        for mesh in meshes:
            self._draw_mesh(mesh)
        ctx.copy_framebuffer(resolved, work_layer)
        colour = np.frombuffer(resolved.read(components=3, attachment=0), dtype=np.uint8)
        coverage = np.frombuffer(resolved.read(components=2, attachment=1), dtype=np.uint8)
        colour = colour.reshape(height, width, 3)[::-1]
        coverage = coverage.reshape(height, width, 2)[::-1].astype(np.float32) / np.float32(255.0)
        return RenderedFrame(
            image=np.ascontiguousarray(colour),
            person_coverage=np.ascontiguousarray(coverage[..., 0]),
            occluder_coverage=np.ascontiguousarray(coverage[..., 1]),
        )

    def _draw_mesh(self, mesh: TexturedMesh) -> None:
        ctx = self._ctx
        corners = np.concatenate(
            [
                np.asarray(mesh.positions, dtype=np.float32),
                np.asarray(mesh.normals, dtype=np.float32),
                np.asarray(mesh.uvs, dtype=np.float32),
            ],
            axis=1,
        )
        vertex_buffer = ctx.buffer(np.ascontiguousarray(corners).tobytes())
        index_buffer = ctx.buffer(np.ascontiguousarray(mesh.triangles, dtype=np.int32).tobytes())
        vao = ctx.vertex_array(
            self._mesh_program,
            [(vertex_buffer, "3f 3f 2f", "in_position", "in_normal", "in_uv")],
            index_buffer=index_buffer,
            index_element_size=4,
        )
        texture = self._texture(mesh.texture, mesh.texture_key)
        texture.use(1)
        self._mesh_program["u_object_id"].value = mesh.object_id
        vao.render()
        if mesh.texture_key is None:
            texture.release()
        vao.release()
        vertex_buffer.release()
        index_buffer.release()
