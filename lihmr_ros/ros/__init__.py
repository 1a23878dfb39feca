"""The thin ROS 2 layer around :mod:`lihmr_ros.pipeline`: node, parameters, messages, markers, overlay, diagnostics.

Everything that decides *what* is computed lives in the ROS-free packages;
modules here only translate between ROS messages / parameters and those
packages, so the same results come out of the node, a bag replay and a test.
"""
