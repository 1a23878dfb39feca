"""Offline replay: run the node's pipeline over every image of a rosbag2 bag and write the results to a new bag.

``lihmr bag process`` is the command; :func:`process_bag` does the work.  The
pipeline, its start-up checks and the message building are the node's own
(:mod:`lihmr_ros.ros.startup`, :mod:`lihmr_ros.ros.messages`, ``markers``,
``overlay``), so a bag processed offline holds what the node would have
published had it kept up with every frame.
"""

from lihmr_ros.replay.parameters import node_parameter_values
from lihmr_ros.replay.processor import ReplayOptions, ReplaySummary, process_bag
from lihmr_ros.replay.topics import ReplayTopicError, ReplayTopics, choose_topics

__all__ = [
    "ReplayOptions",
    "ReplaySummary",
    "ReplayTopicError",
    "ReplayTopics",
    "choose_topics",
    "node_parameter_values",
    "process_bag",
]
