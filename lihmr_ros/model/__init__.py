"""The two-stage LIHMR network, its inputs, checkpoints, ONNX export and cost measurement.

Kept import-light on purpose: ``lihmr_ros.model.inputs`` (numpy + OpenCV only)
is used by the synthetic data engine and the runtime without pulling in torch;
import the torch modules (``network``, ``checkpoint``, ...) explicitly.
"""
