"""``lihmr demo`` and ``lihmr bench node``: the whole system run as separate ROS 2 processes.

A camera process (:mod:`lihmr_ros.demo.camera_process`) publishes recorded
footage as ``sensor_msgs/Image`` + ``CameraInfo``; ``lihmr_node`` runs in its
own process; a recorder (:mod:`lihmr_ros.demo.recorder`) writes what a robot
would record into an MCAP bag. :mod:`lihmr_ros.demo.session` orchestrates the
three, and :mod:`lihmr_ros.demo.outputs` / :mod:`lihmr_ros.demo.summary` turn
the bag into an overlay video, meshes and numbers.
"""
