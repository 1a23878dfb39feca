"""Synthetic training and test data: rendered Anny sequences with detector keypoints and 3D ground truth.

Entry points: ``lihmr synth`` (:mod:`lihmr_ros.commands.synth`),
:func:`lihmr_ros.synth.dataset_writer.generate_dataset` (sharded data sets),
:func:`lihmr_ros.synth.eval_export.export_eval_dataset` (``lihmr eval`` layout)
and :class:`lihmr_ros.synth.dataset.SynthDataset` (reading shards back).
The layout and the reasoning behind it are in ``docs/synth_data.md``.
"""
