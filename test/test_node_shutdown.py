"""lihmr_node's entry point exits cleanly when shutdown races the executor (lihmr_ros.node_main).

rclpy's SIGINT handler shuts the context down asynchronously; if that lands
while the executor builds its wait set, spinning raises rclpy's ``RCLError``
about an invalid context.  The race is made deterministic here: in a fresh
interpreter, ``rclpy.spin`` is replaced by a spin that shuts the context down
and then spins once, which raises exactly that error from rclpy itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from lihmr_ros.body import load_template
from lihmr_ros.model.checkpoint import save_checkpoint
from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.network import LIHMRNet

RACING_MAIN = """
import sys
import rclpy
from rclpy.executors import SingleThreadedExecutor

def spin_into_the_race(node):
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    rclpy.shutdown()  # what the SIGINT handler does, from another thread, at the worst moment
    executor.spin_once(timeout_sec=0.1)  # raises RCLError: the context is no longer valid

rclpy.spin = spin_into_the_race
from lihmr_ros.node_main import main
sys.exit(main(sys.argv[1:]))
"""


def test_shutdown_that_races_the_executor_is_a_clean_exit(tmp_path: Path) -> None:
    torch.manual_seed(0)
    weights = save_checkpoint(tmp_path / "random.safetensors", LIHMRNet(NetworkConfig(window=2), load_template()))
    parameters = {"weights": str(weights), "window": 2, "backend": "torch", "device": "cpu",
                  "keypoint_source": "topic"}
    arguments = ["--ros-args", "-r", "__ns:=/shutdown_race"]
    for name, value in parameters.items():
        arguments += ["-p", f"{name}:={value}"]
    result = subprocess.run([sys.executable, "-c", RACING_MAIN, *arguments], capture_output=True, text=True,
                            timeout=120, env=os.environ.copy())
    assert "RCLError" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 0, result.stderr[-2000:]
