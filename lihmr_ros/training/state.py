"""Optimiser state next to the safetensors weights, loadable without unpickling code.

The weights go through :func:`lihmr_ros.model.checkpoint.save_checkpoint`
(safetensors + JSON metadata, the format the runtime loads).  What only a
resumed run needs, the AdamW moments and the step counter, is saved as a
flat ``{name: tensor}`` dict with ``torch.save`` and read back with
``torch.load(weights_only=True)``, which refuses anything but tensors and
plain containers.  Optimiser hyper-parameters are not stored: they come from
the config and the schedule, which are functions of the step.
"""

from __future__ import annotations

from pathlib import Path

import torch

STEP_KEY = "training.step"
BEST_KEY = "training.best_metric"


def save_training_state(path: Path, optimizer: torch.optim.Optimizer, step: int, best_metric: float) -> None:
    """Write the optimiser moments, ``step`` (steps completed) and the best validation value so far."""
    tensors: dict[str, torch.Tensor] = {
        STEP_KEY: torch.tensor(step, dtype=torch.int64),
        BEST_KEY: torch.tensor(best_metric, dtype=torch.float64),
    }
    for index, state in optimizer.state_dict()["state"].items():
        for name, value in state.items():
            tensors[f"state.{index}.{name}"] = torch.as_tensor(value).detach().cpu()
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    torch.save(tensors, temporary)
    temporary.replace(path)


def load_training_state(path: Path, optimizer: torch.optim.Optimizer) -> tuple[int, float]:
    """Restore the optimiser moments in place; returns (steps completed, best validation value)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"training state {path} does not exist; cannot resume without it")
    tensors = torch.load(path, map_location="cpu", weights_only=True)
    if STEP_KEY not in tensors:
        raise ValueError(f"{path} is not a LIHMR training state (no {STEP_KEY})")
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("state."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    current = optimizer.state_dict()
    num_parameters = sum(len(group["params"]) for group in current["param_groups"])
    if state and max(state) >= num_parameters:
        raise ValueError(f"{path} holds optimiser state for more parameters than the network has")
    optimizer.load_state_dict({"state": state, "param_groups": current["param_groups"]})
    return int(tensors[STEP_KEY]), float(tensors[BEST_KEY])
