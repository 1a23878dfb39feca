"""Child processes of a demo run and the ROS environment they share.

Every run gets its own DDS domain and keeps discovery on this machine
(``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``; ``ROS_LOCALHOST_ONLY`` for
Humble), so concurrent runs and other robots on the network never see each
other. Children are stopped with SIGINT, which lets rclpy and Fast DDS clean
up their shared-memory segments; SIGKILL is the last resort only.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
from pathlib import Path
from typing import IO

from lihmr_ros.demo.transport import PROFILE_ENV_VARIABLE

ROS_DOMAIN_ID_MAX = 101
"""Highest domain id valid on every platform (Fast DDS maps ids to UDP ports)."""

SIGINT_WAIT_S = 30.0
SIGTERM_WAIT_S = 5.0


def random_domain_id() -> int:
    """A domain id for one run; 0 is skipped because it is everyone's default."""
    return random.SystemRandom().randint(1, ROS_DOMAIN_ID_MAX)


def ros_environment(domain_id: int, log_dir: Path, fastdds_profile: Path) -> dict[str, str]:
    """The variables every process of a run needs (children inherit them through ``os.environ``).

    ``fastdds_profile`` is the shared-memory profile of :mod:`lihmr_ros.demo.transport`.
    """
    if not 0 <= domain_id <= ROS_DOMAIN_ID_MAX:
        raise ValueError(f"ROS domain id must be in 0-{ROS_DOMAIN_ID_MAX}, got {domain_id}")
    return {
        "ROS_DOMAIN_ID": str(domain_id),
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
        "ROS_LOCALHOST_ONLY": "1",
        "ROS_LOG_DIR": str(log_dir),
        PROFILE_ENV_VARIABLE: str(fastdds_profile),
        "PYTHONUNBUFFERED": "1",
    }


class ChildProcess:
    """A started process whose output goes to a log file (or a pipe for stdout, when asked)."""

    def __init__(self, name: str, command: list[str], log_path: Path, capture_stdout: bool = False) -> None:
        self.name = name
        self.log_path = log_path
        self._log: IO[str] = log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE if capture_stdout else self._log,
            stderr=self._log,
            text=True,
            env=os.environ.copy(),
        )

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, characters: int = 3000) -> str:
        """The end of the process's log, for error messages."""
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-characters:]

    def stop(self) -> int:
        """SIGINT, then SIGTERM, then SIGKILL, each after a grace period; returns the exit status."""
        try:
            for sent, wait_s in ((signal.SIGINT, SIGINT_WAIT_S), (signal.SIGTERM, SIGTERM_WAIT_S)):
                if self.process.poll() is not None:
                    break
                self.process.send_signal(sent)
                try:
                    self.process.wait(timeout=wait_s)
                except subprocess.TimeoutExpired:
                    continue
            if self.process.poll() is None:
                self.process.kill()
            return self.process.wait()
        finally:
            self._log.close()
