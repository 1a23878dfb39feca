"""Launch lihmr_node on a camera: ``ros2 launch lihmr_ros lihmr.launch.py camera:=/cam/image_raw``.

Arguments: ``camera`` (raw image topic), ``camera_info`` (its CameraInfo;
default: ``camera_info`` next to the image topic), ``compressed`` (subscribe
to ``<camera>/compressed`` instead), ``namespace``, ``params_file`` (default
the installed ``config/lihmr.yaml``), ``frame_id`` (output frame when the
images carry none) and ``rviz`` (also start RViz with ``config/lihmr.rviz``).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def _camera_info_topic(camera: str, camera_info: str) -> str:
    """The CameraInfo topic: given explicitly, or ``camera_info`` beside the image topic (driver convention)."""
    if camera_info:
        return camera_info
    head = camera.rsplit("/", 1)[0] if "/" in camera else ""
    return f"{head}/camera_info" if head or camera.startswith("/") else "camera_info"


def _nodes(context, *args, **kwargs):
    camera = LaunchConfiguration("camera").perform(context)
    camera_info = _camera_info_topic(camera, LaunchConfiguration("camera_info").perform(context))
    compressed = LaunchConfiguration("compressed").perform(context).lower() in ("true", "1", "yes")
    image_remap = ("image/compressed", camera + "/compressed") if compressed else ("image", camera)
    node = Node(
        package="lihmr_ros",
        executable="lihmr_node",
        name="lihmr_node",
        namespace=LaunchConfiguration("namespace"),
        output="screen",
        emulate_tty=True,
        parameters=[
            LaunchConfiguration("params_file"),
            {
                "image_transport": "compressed" if compressed else "raw",
                "frame_id": LaunchConfiguration("frame_id"),
            },
        ],
        remappings=[image_remap, ("camera_info", camera_info)],
    )
    return [node]


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("lihmr_ros")
    return LaunchDescription(
        [
            DeclareLaunchArgument("camera", default_value="/camera/image_raw", description="raw image topic"),
            DeclareLaunchArgument(
                "camera_info", default_value="", description="CameraInfo topic ('' = camera_info beside the image)"
            ),
            DeclareLaunchArgument(
                "compressed", default_value="false", description="subscribe to <camera>/compressed (jpeg/png)"
            ),
            DeclareLaunchArgument("namespace", default_value="", description="namespace of the node and its topics"),
            DeclareLaunchArgument(
                "params_file",
                default_value=os.path.join(share, "config", "lihmr.yaml"),
                description="ROS parameters file of lihmr_node",
            ),
            DeclareLaunchArgument(
                "frame_id",
                default_value="camera_optical_frame",
                description="camera optical frame, used when the images carry no frame_id (and by RViz)",
            ),
            DeclareLaunchArgument("rviz", default_value="false", description="also start RViz2 with lihmr.rviz"),
            OpaqueFunction(function=_nodes),
            Node(
                package="rviz2",
                executable="rviz2",
                name="lihmr_rviz",
                arguments=["-d", os.path.join(share, "config", "lihmr.rviz"), "-f", LaunchConfiguration("frame_id")],
                condition=IfCondition(LaunchConfiguration("rviz")),
            ),
        ]
    )
