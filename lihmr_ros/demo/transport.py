"""The Fast DDS profile that carries camera-sized messages over shared memory between local processes.

Fast DDS's default shared-memory segment is 512 kB, so a 640x480 RGB image
(921,600 bytes) does not fit and falls back to UDP fragments; best-effort
image topics then lose whole frames as soon as the machine is busy (measured
here: half of a 15 Hz stream lost on a loaded 2-core machine). The shipped
profile ``resource/fastdds_large_shared_memory.xml`` enlarges the segment so
images stay in shared memory; UDP remains only for discovery and stays on the
loopback interface (the same confinement as
``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``). Users can point their own
camera driver and node at the same file.
"""

from __future__ import annotations

from pathlib import Path

from lihmr_ros.paths import share_dir

PROFILE_ENV_VARIABLE = "FASTDDS_DEFAULT_PROFILES_FILE"
PROFILE_NAME = "fastdds_large_shared_memory.xml"


def fastdds_profile() -> Path:
    """Path of the installed profile, for ``FASTDDS_DEFAULT_PROFILES_FILE``."""
    path = share_dir() / "resource" / PROFILE_NAME
    if not path.is_file():
        raise FileNotFoundError(f"the Fast DDS profile {path} is missing; reinstall lihmr_ros (scripts/setup.sh)")
    return path
