"""Mirror augmentation: training windows seen in a mirror about their camera's principal point.

The same person in a mirror is as plausible a training example as the
original, and a different one for the network (left and right swap, every
lateral offset and lean changes sign), so mirroring whole windows doubles
the variety of the data at no rendering cost.  Reflecting about the
principal point ``cx`` keeps the camera matrix: a pixel ``u`` goes to
``2 cx - u``, a camera-frame point's ``x`` changes sign, and the crop of
the mirrored box is the original crop flipped left/right (the runtime's flip
averaging, :mod:`lihmr_ros.runtime.flip_averaging`, uses the same reflection).

This module mirrors the geometry; the image side (flipped crops, or the
stored features of flipped crops) is the sampler's.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from lihmr_ros.body.coco import COCO17_FLIP_PERMUTATION
from lihmr_ros.runtime.flip_averaging import MIRROR_X, mirror_network_inputs

if TYPE_CHECKING:
    from lihmr_ros.training.windows import WindowBatch


def mirror_windows(batch: "WindowBatch", flags: np.ndarray, coarse_twins: np.ndarray) -> "WindowBatch":
    """``batch`` with the windows whose ``flags`` (B,) are set mirrored (inputs and targets; not the images).

    ``coarse_twins``: each coarse vertex's left/right twin
    (:func:`lihmr_ros.runtime.flip_averaging.mirror_twins` of the coarse template).
    A mirrored batch carries no Anny parameters (they describe the unmirrored
    bodies), so it trains with ``full_mesh_targets: upsampled``, which builds
    full meshes from the (mirrored) coarse ones.
    """
    flags = np.asarray(flags, dtype=bool)
    if flags.shape != (batch.size,):
        raise ValueError(f"mirror flags must have shape ({batch.size},), got {flags.shape}")
    if not flags.any():
        return batch
    centre_x = batch.intrinsics[flags, 0, 2]  # (M,) principal point of each mirrored window's camera
    keypoints, crop_info, boxes = batch.keypoints.copy(), batch.crop_info.copy(), batch.boxes.copy()
    joints_2d, joints, root = batch.joints_2d.copy(), batch.joints.copy(), batch.root.copy()
    coarse = batch.target_coarse_vertices.copy()
    keypoints[flags], crop_info[flags] = mirror_network_inputs(keypoints[flags], crop_info[flags])
    boxes[flags, :, 0] = 2.0 * centre_x[:, None] - boxes[flags, :, 0]
    joints_2d[flags] = joints_2d[flags][:, :, COCO17_FLIP_PERMUTATION]
    joints_2d[flags, :, :, 0] = 2.0 * centre_x[:, None, None] - joints_2d[flags, :, :, 0]
    joints[flags] = joints[flags][:, :, COCO17_FLIP_PERMUTATION] * MIRROR_X
    root[flags, :, 0] *= -1.0
    coarse[flags] = coarse[flags][:, coarse_twins] * MIRROR_X
    return dataclasses.replace(
        batch, keypoints=keypoints, crop_info=crop_info, boxes=boxes, joints_2d=joints_2d, joints=joints, root=root,
        target_coarse_vertices=coarse, target_pose_quaternions=None, target_global_rotation=None,
    )
