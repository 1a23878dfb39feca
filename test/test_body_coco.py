"""COCO-17 conventions: names, flip permutation, skeleton, root."""

import numpy as np
import torch

from lihmr_ros.body.coco import COCO17_FLIP_PERMUTATION, COCO17_NAMES, COCO17_SKELETON, NUM_COCO17, mid_hip


def test_flip_permutation_swaps_left_and_right_names():
    for index, twin in enumerate(COCO17_FLIP_PERMUTATION):
        name, twin_name = COCO17_NAMES[index], COCO17_NAMES[twin]
        assert twin_name == name.replace("left_", "@").replace("right_", "left_").replace("@", "right_")
    assert [COCO17_FLIP_PERMUTATION[i] for i in COCO17_FLIP_PERMUTATION] == list(range(NUM_COCO17))
    assert COCO17_FLIP_PERMUTATION[0] == 0  # the nose is its own twin


def test_skeleton_edges_are_valid_and_mirror_onto_themselves():
    edges = {tuple(sorted(edge)) for edge in COCO17_SKELETON}
    assert len(edges) == len(COCO17_SKELETON) == 19
    assert all(0 <= a < NUM_COCO17 and 0 <= b < NUM_COCO17 and a != b for a, b in COCO17_SKELETON)
    mirrored = {tuple(sorted((COCO17_FLIP_PERMUTATION[a], COCO17_FLIP_PERMUTATION[b]))) for a, b in edges}
    assert mirrored == edges


def test_mid_hip_is_mean_of_hips_for_numpy_and_torch():
    joints = np.arange(2 * NUM_COCO17 * 3, dtype=np.float64).reshape(2, NUM_COCO17, 3)
    expected = (joints[:, 11] + joints[:, 12]) / 2
    np.testing.assert_allclose(mid_hip(joints), expected)
    np.testing.assert_allclose(mid_hip(torch.as_tensor(joints)).numpy(), expected)
