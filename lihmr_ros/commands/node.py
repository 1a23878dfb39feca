"""``lihmr node --ros-args ...``: run the ROS 2 node, exactly as ``ros2 run lihmr_ros lihmr_node`` does.

Everything after ``--ros-args`` is handed to rclpy untouched (argparse would
otherwise try to read ``-p``/``-r`` as its own options).
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "node",
        help="run the ROS 2 mesh recovery node (same as `ros2 run lihmr_ros lihmr_node`)",
        description=(
            "Runs lihmr_node. Pass ROS arguments after --ros-args, e.g. "
            "lihmr node --ros-args --params-file config/lihmr.yaml -r image:=/cam/image_raw"
        ),
    )
    parser.add_argument(
        "--ros-args",
        dest="ros_args",
        nargs=argparse.REMAINDER,
        default=[],
        metavar="ARG",
        help="ROS arguments (params files, -p name:=value, -r from:=to, --log-level); must come last",
    )
    parser.set_defaults(handler=_run_node)


def _run_node(args: argparse.Namespace) -> int:
    from lihmr_ros.node_main import main

    return main(["lihmr_node", "--ros-args", *args.ros_args])
