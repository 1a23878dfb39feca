"""Session-wide environment for the lihmr_ros test suite.

pytest imports this file before any test module, so the variables below are in
place before anything imports rclpy, and every child process a test starts
inherits them:

* ROS discovery stays on this machine (``ROS_AUTOMATIC_DISCOVERY_RANGE`` for
  Jazzy and later, ``ROS_LOCALHOST_ONLY`` for Humble): default Fast DDS
  discovery would send packets out of the external interface.
* Each run gets its own random ``ROS_DOMAIN_ID`` (0-101) so concurrent runs on
  one machine do not see each other's topics, even when the shell exports a
  fixed domain for a robot; ``LIHMR_TEST_ROS_DOMAIN_ID`` picks one on purpose
  (e.g. to watch a test with ROS tools).
* ROS logs go to a temporary directory instead of piling up in ``~/.ros``.
* ``ANNY_CACHE_DIR`` defaults to the per-machine cache that scripts/setup.sh
  prebuilds, so no test pays Anny's ~50 s first build.
* Fast DDS uses the shipped profile ``resource/fastdds_large_shared_memory.xml``
  (as ``lihmr demo`` does): with the default 512 kB shared-memory segment a
  camera image travels as UDP fragments, and best-effort images were lost
  outright in test runs; the profile also keeps UDP on the loopback interface.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from pathlib import Path

import pytest

ROS_DOMAIN_ID_MAX = 101  # highest domain id that is valid on every platform


def _configure_environment() -> Path:
    """Set the session's environment variables; returns the ROS log directory."""
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ["ROS_LOCALHOST_ONLY"] = "1"
    domain_id = os.environ.get("LIHMR_TEST_ROS_DOMAIN_ID") or str(random.SystemRandom().randint(0, ROS_DOMAIN_ID_MAX))
    os.environ["ROS_DOMAIN_ID"] = domain_id
    log_dir = Path(tempfile.mkdtemp(prefix="lihmr-test-ros-log-"))
    os.environ["ROS_LOG_DIR"] = str(log_dir)
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    os.environ.setdefault("ANNY_CACHE_DIR", str(cache_home / "lihmr" / "anny"))
    profile = Path(__file__).resolve().parent.parent / "resource" / "fastdds_large_shared_memory.xml"
    os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(profile)
    return log_dir


ROS_LOG_DIR = _configure_environment()


def pytest_report_header(config: pytest.Config) -> str:
    """Show the domain in the header, to tell concurrent runs apart."""
    return f"ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']} (discovery LOCALHOST), ROS_LOG_DIR={ROS_LOG_DIR}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the session's ROS log directory."""
    shutil.rmtree(ROS_LOG_DIR, ignore_errors=True)
