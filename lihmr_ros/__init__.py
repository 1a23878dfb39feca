"""lihmr_ros: real-time 3D human mesh recovery for ROS 2.

The package has a ROS-free core (``body``, ``model``, ``runtime`` and friends)
that is importable and testable without ROS, and a thin ROS layer (the node and
the generated ``lihmr_ros.msg`` interfaces) on top of it.
"""

__version__ = "0.1.0"
