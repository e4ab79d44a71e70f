"""Parameter spaces: grids, random draws, Optuna suggestions, YAML loading, bad input."""

from __future__ import annotations

import optuna
import pytest

from workbench.errors import ConfigError
from workbench.research.space import Range, grid_sets, load_space, random_sets, set_key, suggest


def test_grid_is_the_cartesian_product_first_parameter_slowest() -> None:
    sets = grid_sets({"fast": [5, 10], "slow": {"low": 30, "high": 90, "step": 30}, "quantity": 50})
    assert sets == [
        {"fast": 5, "slow": 30, "quantity": 50}, {"fast": 5, "slow": 60, "quantity": 50},
        {"fast": 5, "slow": 90, "quantity": 50}, {"fast": 10, "slow": 30, "quantity": 50},
        {"fast": 10, "slow": 60, "quantity": 50}, {"fast": 10, "slow": 90, "quantity": 50},
    ]


def test_float_range_grid_includes_both_ends() -> None:
    assert Range(0.5, 1.5, 0.25).grid() == [0.5, 0.75, 1.0, 1.25, 1.5]
    assert Range(1, 10, 4).grid() == [1, 5, 9]


def test_random_sets_are_distinct_reproducible_and_inside_the_space() -> None:
    space = {"fast": {"low": 2, "high": 20}, "slow": {"low": 0.1, "high": 10.0, "log": True}, "mode": ["a", "b"]}
    first, again = random_sets(space, 25, seed=3), random_sets(space, 25, seed=3)
    assert first == again and len({set_key(s) for s in first}) == 25
    assert all(2 <= s["fast"] <= 20 and isinstance(s["fast"], int) for s in first)
    assert all(0.1 <= s["slow"] <= 10.0 and s["mode"] in ("a", "b") for s in first)
    assert random_sets(space, 25, seed=4) != first


def test_random_sets_stop_at_the_size_of_a_small_space() -> None:
    assert len(random_sets({"a": [1, 2], "b": [3]}, 10)) == 2


def test_optuna_suggestions_follow_the_space() -> None:
    space = {"fast": {"low": 2, "high": 10, "step": 2}, "rate": {"low": 0.1, "high": 0.5}, "kind": ["x", "y"]}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(20):
        params = suggest(study.ask(), space)
        assert params["fast"] in (2, 4, 6, 8, 10) and 0.1 <= params["rate"] <= 0.5 and params["kind"] in ("x", "y")


def test_set_key_is_independent_of_order_and_numpy_scalars() -> None:
    import numpy as np

    assert set_key({"b": 2, "a": np.int64(1)}) == set_key({"a": 1, "b": 2}) == '{"a":1,"b":2}'


def test_yaml_space_and_bad_specifications(tmp_path) -> None:
    good = tmp_path / "space.yaml"
    good.write_text("fast: [5, 10]\nslow: {low: 30, high: 60, step: 30}\n")
    assert grid_sets(load_space(good)) == [{"fast": 5, "slow": 30}, {"fast": 5, "slow": 60},
                                          {"fast": 10, "slow": 30}, {"fast": 10, "slow": 60}]
    bad = tmp_path / "bad.yaml"
    bad.write_text("fast: {low: 10, high: 5}\n")
    with pytest.raises(ConfigError, match="'fast'"):
        load_space(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_space(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="step"):
        grid_sets({"fast": {"low": 1, "high": 5}})
    with pytest.raises(ConfigError, match="no values"):
        grid_sets({"fast": []})
