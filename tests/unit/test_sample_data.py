"""The shipped sample data is byte-for-byte what SOURCES.md and SHA256SUMS describe."""

from __future__ import annotations

import hashlib
from pathlib import Path

import workbench

DATA = Path(workbench.__file__).parent / "sample_data"


def test_every_shipped_file_matches_its_checksum() -> None:
    lines = (DATA / "SHA256SUMS").read_text().split("\n")
    listed = {}
    for line in filter(None, lines):
        digest, name = line.split(maxsplit=1)
        listed[name.strip()] = digest
    shipped = {p.name for p in DATA.glob("*.gz")} | {p.name for p in DATA.glob("*.csv")}
    assert shipped == set(listed), "every data file is listed in SHA256SUMS and vice versa"
    for name, digest in listed.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


def test_sources_names_every_shipped_file() -> None:
    sources = (DATA / "SOURCES.md").read_text()
    for p in DATA.glob("*.gz"):
        assert p.name in sources, f"{p.name} has no provenance entry in SOURCES.md"
