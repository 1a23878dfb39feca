"""Console entry point of ``lihmr_node`` (``ros2 run lihmr_ros lihmr_node``, ``lihmr node``).

rclpy parses ``--ros-args`` (params files, remaps, namespace, log level)
itself.  A start-up error (a bad parameter, missing weights, an unavailable
backend) is logged as one clear line and exits with status 2, so a launch
file or systemd shows why the node did not come up.  SIGINT (Ctrl-C, ``ros2 launch``
stopping the node) is a clean exit with status 0, including when it lands while
the executor is building its wait set: rclpy's signal handler shuts the context
down asynchronously, and the executor then raises an ``RCLError`` about an invalid
context instead of its usual shutdown exception (ros2/rclpy#398, ros2/ros2cli#854).
"""

from __future__ import annotations

import sys
from typing import Sequence

STARTUP_ERROR_STATUS = 2


def main(args: Sequence[str] | None = None) -> int:
    """Run the node until SIGINT / shutdown; ``args`` defaults to ``sys.argv``."""
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.impl.implementation_singleton import rclpy_implementation

    from lihmr_ros.ros.node import LihmrNode
    from lihmr_ros.ros.parameter_table import NODE_NAME
    from lihmr_ros.ros.settings import SettingsError

    rclpy.init(args=list(args) if args is not None else None)
    node = None
    try:
        node = LihmrNode()
        rclpy.spin(node)
    except SettingsError as error:
        rclpy.logging.get_logger(NODE_NAME).fatal(f"cannot start: {error}")
        return STARTUP_ERROR_STATUS
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except rclpy_implementation.RCLError:
        if rclpy.ok():  # the context is alive, so this is a real fault, not the shutdown race
            raise
    finally:
        if node is not None:
            node.shutdown()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
