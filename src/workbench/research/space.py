"""Parameter spaces of a sweep: grids, random draws and Optuna suggestions from one description.

A space is a mapping ``parameter name -> specification``; a specification is one of

* a list (or tuple) of values: the values of a grid axis, a random choice, an Optuna categorical;
* a mapping ``{"low": a, "high": b}`` with optional ``step`` and ``log``: a range. Integers
  when ``low``, ``high`` (and ``step``) are all integers, floats otherwise. A grid needs a
  ``step`` (both ends included when ``high - low`` is a multiple of it), as in
  :meth:`optuna.trial.Trial.suggest_int` / ``suggest_float``, whose meaning the range follows;
* a single scalar: a fixed value (passed to every set, not searched).

The same description loads from YAML (``workbench sweep --space space.yaml``)::

    fast: [5, 10, 20]
    slow: {low: 30, high: 120, step: 30}

Parameter sets are plain ``dict``; :func:`set_key` gives each a stable identity (JSON of the
sorted items) that names it in the results and lets a rerun skip what is done.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import ConfigError

__all__ = ["Range", "Space", "grid_sets", "load_space", "random_sets", "set_key"]


@dataclass(frozen=True)
class Range:
    """A numeric range ``[low, high]``; integer when ``low``, ``high`` and ``step`` are integers."""

    low: float
    high: float
    step: float | None = None
    log: bool = False

    @property
    def is_int(self) -> bool:
        return all(isinstance(v, int) and not isinstance(v, bool) for v in (self.low, self.high)) and (
            self.step is None or isinstance(self.step, int))

    def grid(self) -> list[Any]:
        if self.step is None:
            raise ConfigError(f"range {self.low}..{self.high}: a grid needs a step")
        count = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        if self.is_int:
            return [int(self.low + i * self.step) for i in range(count)]
        return [float(self.low + i * self.step) for i in range(count)]

    def draw(self, rng: np.random.Generator) -> Any:
        if self.step is not None:
            return self.grid()[int(rng.integers(len(self.grid())))]
        if self.is_int:
            if self.log:
                return round(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
            return int(rng.integers(self.low, self.high + 1))
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))


Space = Mapping[str, Any]
"""``parameter name -> list of values | Range | {"low", "high", "step", "log"} | fixed scalar``."""


def _axis(name: str, spec: Any) -> list[Any] | Range | Any:
    if isinstance(spec, Range):
        return spec
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"low", "high", "step", "log"}
        if unknown or not {"low", "high"} <= set(spec):
            raise ConfigError(f"space: {name!r} must be a list or {{low, high[, step, log]}}, got {dict(spec)!r}")
        low, high = spec["low"], spec["high"]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)) or low > high:
            raise ConfigError(f"space: {name!r} needs numbers low <= high, got low={low!r} high={high!r}")
        step = spec.get("step")
        if step is not None and (not isinstance(step, int | float) or step <= 0):
            raise ConfigError(f"space: {name!r} step must be a positive number, got {step!r}")
        return Range(low, high, step, bool(spec.get("log", False)))
    if isinstance(spec, Sequence) and not isinstance(spec, str | bytes):
        if len(spec) == 0:
            raise ConfigError(f"space: {name!r} has no values")
        return list(spec)
    return spec  # fixed


def _axes(space: Space) -> dict[str, Any]:
    if not isinstance(space, Mapping) or not space:
        raise ConfigError(f"space: expected a non-empty mapping of parameter -> values, got {space!r}")
    return {str(name): _axis(str(name), spec) for name, spec in space.items()}


def grid_sets(space: Space) -> list[dict[str, Any]]:
    """Every combination of the axes (the cartesian product, first parameter varying slowest).

    Raises
    ------
    ConfigError
        A range without ``step``, or a malformed specification.
    """
    axes = _axes(space)
    names = list(axes)
    values = [a.grid() if isinstance(a, Range) else a if isinstance(a, list) else [a] for a in axes.values()]
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def random_sets(space: Space, count: int, seed: int | None = 0) -> list[dict[str, Any]]:
    """``count`` distinct sets drawn uniformly (log-uniformly for ``log`` ranges) with ``seed``.

    Fewer than ``count`` when the space holds fewer distinct sets (drawing stops after
    ``20 * count`` attempts).
    """
    if count < 1:
        raise ConfigError(f"n_trials: must be >= 1 for a random search, got {count}")
    axes = _axes(space)
    rng = np.random.default_rng(seed)
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(20 * count):
        if len(seen) >= count:
            break
        params = {}
        for name, axis in axes.items():
            if isinstance(axis, Range):
                params[name] = axis.draw(rng)
            elif isinstance(axis, list):
                params[name] = axis[int(rng.integers(len(axis)))]
            else:
                params[name] = axis
        seen.setdefault(set_key(params), params)
    return list(seen.values())


def suggest(trial: Any, space: Space) -> dict[str, Any]:
    """Parameters of an Optuna ``trial`` from ``space`` (``suggest_categorical/int/float``)."""
    params: dict[str, Any] = {}
    for name, axis in _axes(space).items():
        if isinstance(axis, Range):
            if axis.is_int:
                params[name] = trial.suggest_int(name, int(axis.low), int(axis.high), step=int(axis.step or 1),
                                                 log=axis.log)
            else:
                params[name] = trial.suggest_float(name, float(axis.low), float(axis.high), step=axis.step,
                                                   log=axis.log)
        elif isinstance(axis, list):
            params[name] = trial.suggest_categorical(name, axis)
        else:
            params[name] = axis
    return params


def iter_names(space: Space) -> Iterator[str]:
    yield from _axes(space)


def set_key(params: Mapping[str, Any]) -> str:
    """Stable identity of a parameter set: compact JSON of its items sorted by name."""
    return json.dumps({k: _plain(v) for k, v in sorted(params.items())}, separators=(",", ":"), sort_keys=True)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def load_space(path: str | Path) -> dict[str, Any]:
    """Read a space from a YAML file (see the module docstring for the format).

    Raises
    ------
    ConfigError
        Missing file, invalid YAML, or a malformed specification (names the parameter).
    """
    import yaml

    path = Path(path)
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"space: file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"space: invalid YAML in {path}: {exc}") from exc
    _axes(loaded)  # validate
    return dict(loaded)
