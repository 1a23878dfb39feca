"""A Fast DDS profile that carries camera-sized messages over shared memory between local processes.

Fast DDS's default shared-memory segment is 512 kB, so a 640x480 RGB image
(921,600 bytes) does not fit and falls back to UDP fragments; best-effort
image topics then lose whole frames as soon as the machine is busy (measured
here: half of a 15 Hz stream lost on a loaded 2-core machine). This profile
enlarges the segment so images stay in shared memory; UDP remains only for
discovery and stays on the loopback interface (the same confinement as
``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``).

Written to a file at run time, because Fast DDS reads profiles only from a
path given in ``FASTDDS_DEFAULT_PROFILES_FILE``.
"""

from __future__ import annotations

from pathlib import Path

SHARED_MEMORY_SEGMENT_BYTES = 32 * 1024 * 1024
"""Room for several 1080p RGB frames (6.2 MB each) in flight per participant."""

PROFILE_ENV_VARIABLE = "FASTDDS_DEFAULT_PROFILES_FILE"

_PROFILE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<!-- lihmr_ros demo: large shared-memory segment for images; UDP on loopback only. -->
<profiles xmlns="http://www.eprosima.com">
  <transport_descriptors>
    <transport_descriptor>
      <transport_id>lihmr_shared_memory</transport_id>
      <type>SHM</type>
      <segment_size>{segment_bytes}</segment_size>
      <maxMessageSize>{segment_bytes}</maxMessageSize>
    </transport_descriptor>
    <transport_descriptor>
      <transport_id>lihmr_loopback_udp</transport_id>
      <type>UDPv4</type>
      <interfaceWhiteList>
        <address>127.0.0.1</address>
      </interfaceWhiteList>
    </transport_descriptor>
  </transport_descriptors>
  <participant profile_name="lihmr_large_shared_memory" is_default_profile="true">
    <rtps>
      <userTransports>
        <transport_id>lihmr_shared_memory</transport_id>
        <transport_id>lihmr_loopback_udp</transport_id>
      </userTransports>
      <useBuiltinTransports>false</useBuiltinTransports>
    </rtps>
  </participant>
</profiles>
"""


def write_fastdds_profile(directory: Path) -> Path:
    """Write the profile into ``directory`` and return its path (for ``FASTDDS_DEFAULT_PROFILES_FILE``)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "fastdds_large_shared_memory.xml"
    path.write_text(_PROFILE_XML.format(segment_bytes=SHARED_MEMORY_SEGMENT_BYTES), encoding="utf-8")
    return path
