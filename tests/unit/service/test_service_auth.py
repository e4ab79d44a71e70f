"""Tokens of the API: roles from the environment and an owner-only token file; the checks a
token file must pass (the rule OpenSSH applies to private keys: no access for group or others)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import ConfigError
from workbench.service.auth import OPERATE, READ, TokenStore, load_tokens, read_token_file

A = "a" * 24
B = "b" * 24


def _file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "tokens"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_roles_from_environment_and_file(tmp_path: Path) -> None:
    path = _file(tmp_path, f"# comment\n\noperate {A}  # the ops team\nread {B}\n")
    store = load_tokens(path, environ={"WORKBENCH_API_READ_TOKEN": "r" * 20, "WORKBENCH_API_TOKEN": "o" * 20})
    assert store.role(A) == OPERATE and store.role(B) == READ
    assert store.role("r" * 20) == READ and store.role("o" * 20) == OPERATE
    assert store.role("x" * 24) is None and store.role("") is None and store.role(None) is None
    assert A not in repr(store) and "4 tokens" in repr(store)


def test_token_file_from_environment(tmp_path: Path) -> None:
    path = _file(tmp_path, f"read {A}\n")
    assert load_tokens(environ={"WORKBENCH_API_TOKEN_FILE": str(path)}).role(A) == READ
    assert not load_tokens(environ={})


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_token_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = _file(tmp_path, f"operate {A}\n", mode)
    with pytest.raises(ConfigError, match=f"mode {mode:04o}.*chmod 600"):
        read_token_file(path)


@pytest.mark.parametrize("line", ["admin " + A, "operate", f"operate {A} extra", "read short"])
def test_malformed_line_names_the_line_not_the_token(tmp_path: Path, line: str) -> None:
    path = _file(tmp_path, f"read {B}\n{line}\n")
    with pytest.raises(ConfigError, match="line 2") as info:
        read_token_file(path)
    assert A not in str(info.value) and B not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="token file"):
        read_token_file(tmp_path / "nope")


def test_empty_store_is_false() -> None:
    assert not TokenStore()
