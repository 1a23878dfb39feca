"""Start-up with broken or hostile files: a clear error naming the parameter, or a logged fallback.

Everything goes through the node's own start-up path without ROS
(parameter values -> :func:`settings_from_values` -> :func:`load_pipeline`), so
what is checked here is exactly what ``lihmr_node`` and ``lihmr bag process``
report.  Keypoints come from the topic source, so no detector is loaded.
"""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from lihmr_ros.body import load_template
from lihmr_ros.model.checkpoint import save_checkpoint
from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.network import LIHMRNet
from lihmr_ros.ros.settings import SettingsError, settings_from_values
from lihmr_ros.ros.startup import load_pipeline

WINDOW = 2
LOGGER = logging.getLogger("test_faults_startup")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    network = LIHMRNet(NetworkConfig(window=WINDOW), load_template()).eval()
    return save_checkpoint(tmp_path_factory.mktemp("weights") / "random.safetensors", network)


def start(weights: Path | str, **overrides: object):
    """The node's start-up for these parameter values (``backend`` torch unless overridden)."""
    values = {"weights": str(weights), "window": WINDOW, "backend": "torch", "device": "cpu",
              "keypoint_source": "topic", **overrides}
    return load_pipeline(settings_from_values(values), LOGGER)


class WritesMarker:
    """Unpickling this runs code: it creates ``path``. Loading a file made of it must never do that."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def hostile_and_broken_files(directory: Path, checkpoint: Path) -> dict[str, Path]:
    files = {
        "garbage": b"\x00\x01garbage" * 50,
        "empty": b"",
        "truncated checkpoint": checkpoint.read_bytes()[: checkpoint.stat().st_size // 2],
        "header only": checkpoint.read_bytes()[:64],
    }
    paths = {}
    for name, data in files.items():
        paths[name] = directory / f"{name.replace(' ', '_')}.safetensors"
        paths[name].write_bytes(data)
    for suffix in (".safetensors", ".pt"):
        pickled = directory / f"pickle{suffix}"
        pickled.write_bytes(pickle.dumps({"state_dict": WritesMarker(directory / "unpickled")}))
        paths[f"pickle{suffix}"] = pickled
    torch.save({"weight": torch.zeros(2)}, directory / "torch_save.pt")
    paths["torch.save file"] = directory / "torch_save.pt"
    foreign = directory / "foreign.safetensors"
    save_file({"weight": torch.zeros(2)}, str(foreign))
    paths["safetensors of another model"] = foreign
    return paths


def test_corrupt_foreign_and_pickled_weights_are_a_clear_startup_error_and_never_run_code(
    checkpoint: Path, tmp_path: Path
) -> None:
    for name, path in hostile_and_broken_files(tmp_path, checkpoint).items():
        with pytest.raises(SettingsError, match="invalid parameter 'weights'") as raised:
            start(path)
        assert str(path) in str(raised.value), name
        assert "Traceback" not in str(raised.value)
    assert not (tmp_path / "unpickled").exists(), "a pickled file was unpickled"


@pytest.mark.parametrize("kind", ["missing", "directory", "fifo", "device"])
def test_weights_paths_that_are_not_regular_files_are_refused_before_anything_loads(
    kind: str, tmp_path: Path
) -> None:
    path = {"missing": tmp_path / "nothing.safetensors", "directory": tmp_path, "fifo": tmp_path / "fifo",
            "device": Path("/dev/zero")}[kind]
    if kind == "fifo":
        os.mkfifo(path)  # opening a FIFO would block start-up forever
    with pytest.raises(SettingsError, match="invalid parameter 'weights'") as raised:
        settings_from_values({"weights": str(path), "window": WINDOW})
    expected = "does not exist" if kind == "missing" else "is not a regular file"
    assert expected in str(raised.value)


def test_a_checkpoint_for_another_window_names_the_window_parameter(checkpoint: Path) -> None:
    with pytest.raises(SettingsError, match=f"invalid parameter 'window'.*window:={WINDOW}"):
        start(checkpoint, window=WINDOW + 1)


def test_an_unwritable_engine_cache_is_a_logged_fallback(
    checkpoint: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with caplog.at_level(logging.WARNING, logger=LOGGER.name):
        loaded = start(checkpoint, backend="onnxruntime", engine_cache_dir=str(blocker / "engines"))
    try:
        assert loaded.pipeline.backend.name == "onnxruntime"
        warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
        assert any(f"engine cache {blocker / 'engines'} is not writable" in message for message in warnings), warnings
    finally:
        loaded.pipeline.close()
    assert blocker.read_text() == "not a directory", "the fallback must not touch the path it was given"


def test_a_backend_that_cannot_run_here_is_a_clear_startup_error(checkpoint: Path) -> None:
    with pytest.raises(SettingsError, match="invalid parameter 'backend' \\('tensorrt'\\)"):
        start(checkpoint, backend="tensorrt")
