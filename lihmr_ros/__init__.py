"""lihmr_ros: real-time 3D human mesh recovery for ROS 2.

The package has a ROS-free core (``body``, ``model``, ``runtime`` and friends)
that is importable and testable without ROS, and a thin ROS layer (the node and
the generated ``lihmr_ros.msg`` interfaces) on top of it.
"""

import os

# With the default (active) OpenMP wait policy, torch's worker threads spin for
# work and starve everything else on small CPUs: one streaming frame took
# 106-270 ms instead of 15-24 ms on the 2-core dev machine with other processes
# running (docs/benchmarks.md).  It must be set before torch loads OpenMP, and
# every entry point imports this package first; a user's own value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
