"""environment.yml lists every dependency of pyproject.toml (runtime, dev, notebooks) by its
conda-forge name, or in its pip section when conda-forge lacks it, so a conda user gets the same stack."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONDA_NAMES = {"msgpack": "msgpack-python", "prometheus-client": "prometheus_client",
               "exchange-calendars": "exchange-calendars", "kaleido": "python-kaleido"}
"""PyPI name -> conda-forge name where they differ."""


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!\[;~]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_covers_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"][0] == "conda-forge"
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    pip = {_name(d) for d in next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))}
    missing = []
    for requirement in wanted:
        name = _name(requirement)
        conda_name = CONDA_NAMES.get(name, name).replace("_", "-")
        if conda_name not in conda and name not in pip and not (name == "dask" and "distributed" in conda):
            missing.append(name)
    assert missing == []
    assert "python" in conda and "-e ." in next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
