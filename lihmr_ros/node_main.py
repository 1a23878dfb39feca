"""Console entry point of ``lihmr_node`` (``ros2 run lihmr_ros lihmr_node``, ``lihmr node``).

rclpy parses ``--ros-args`` (params files, remaps, namespace, log level)
itself.  A start-up error (a bad parameter, missing weights, an unavailable
backend) is logged as one clear line and exits with status 2, so a launch
file or systemd shows why the node did not come up.
"""

from __future__ import annotations

import sys
from typing import Sequence

STARTUP_ERROR_STATUS = 2


def main(args: Sequence[str] | None = None) -> int:
    """Run the node until SIGINT / shutdown; ``args`` defaults to ``sys.argv``."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

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
    finally:
        if node is not None:
            node.shutdown()
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
