"""Read a YAML settings file that may build on another one (``extends: base.yaml``).

Training recipes and synth settings come in families (each training phase
changes a handful of keys of the one before; the children's data part is the
wide settings with other ages). ``extends`` lets a file state only what it
changes, so a reader sees the difference at a glance and a fix to the base
cannot be forgotten in a copy. The base path is relative to the file naming
it; bases may extend further bases; mappings merge key by key and every other
value (lists included) replaces the base's.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Mapping

import yaml

EXTENDS_KEY = "extends"


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it: nested mappings merge, anything else is replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_settings(path: Path | str, what: str) -> dict[str, Any]:
    """The mapping in ``path`` merged over its ``extends`` chain; ``what`` names the file in errors."""
    return _read(Path(path), what, ())


def _read(path: Path, what: str, chain: tuple[Path, ...]) -> dict[str, Any]:
    if not path.is_file():
        named_by = f" (extended by {chain[-1]})" if chain else ""
        raise FileNotFoundError(f"{what} {path} does not exist{named_by}")
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(link) for link in (*chain, resolved))
        raise ValueError(f"{what} files extend each other in a cycle: {cycle}")
    with path.open("r", encoding="utf-8") as stream:
        data = yaml.safe_load(stream) or {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{what} {path} must hold a YAML mapping at the top level")
    data = dict(data)
    base_name = data.pop(EXTENDS_KEY, None)
    if base_name is None:
        return data
    if not isinstance(base_name, str) or not base_name:
        raise ValueError(f"{what} {path}: '{EXTENDS_KEY}' must name a YAML file, got {base_name!r}")
    base = _read(path.parent / base_name, what, (*chain, resolved))
    return deep_merge(base, data)
