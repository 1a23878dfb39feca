"""rosbag2 files (MCAP or sqlite3) written and read without rosbag2, through the pure-Python ``rosbags``.

rosbag2 itself is not installable from wheels, yet a robot's recordings are
rosbag2 bags, so everything that records or replays goes through this small
API:

* :func:`lihmr_typestore` -- a ``rosbags`` typestore that knows the standard
  ROS 2 messages *and* ``lihmr_ros/msg/*`` (read from the installed ``.msg``
  files), so our messages serialise to the same CDR bytes as rclpy's.
* :class:`BagWriter` -- add topics, write serialised bytes (e.g. straight from
  an rclpy ``raw=True`` subscription) or ``rosbags`` message objects.
* :class:`BagReader` / :class:`BagMessage` -- iterate messages in time order,
  decode on demand.

ROS-free: nothing here imports rclpy.
"""

from lihmr_ros.bag.reader import BagMessage, BagReader
from lihmr_ros.bag.typestore import LIHMR_MESSAGE_NAMES, lihmr_typestore, message_definitions_dir
from lihmr_ros.bag.writer import STORAGE_FORMATS, BagWriter

__all__ = [
    "LIHMR_MESSAGE_NAMES",
    "STORAGE_FORMATS",
    "BagMessage",
    "BagReader",
    "BagWriter",
    "lihmr_typestore",
    "message_definitions_dir",
]
