"""Bearer tokens of the API: where they come from and what each may do.

Two roles:

``read``
    every ``GET`` route and the ``/ws/live-portfolio`` stream.
``operate``
    everything ``read`` may, plus ``POST /api/sessions/{id}/commands``.

Tokens come from (all are merged):

- ``$WORKBENCH_API_TOKEN`` (role ``operate``) and ``$WORKBENCH_API_READ_TOKEN`` (role ``read``);
- a token file (``$WORKBENCH_API_TOKEN_FILE`` or ``--token-file``): one ``<role> <token>`` per
  line, ``#`` comments. The file must belong to the user running the service and must not be
  readable or writable by group or others (mode ``0600`` or stricter), as OpenSSH requires of a
  private key; otherwise :class:`~workbench.errors.ConfigError` is raised.

A request without ``Authorization: Bearer <token>`` or with an unknown token gets HTTP 401 (with
``WWW-Authenticate: Bearer``, RFC 6750 section 3); a ``read`` token on a command route gets 403.
Tokens are compared in constant time (:func:`secrets.compare_digest`) and never logged.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import ConfigError

__all__ = ["OPERATE", "READ", "ROLES", "TOKEN_ENV", "READ_TOKEN_ENV", "TOKEN_FILE_ENV", "TokenStore", "load_tokens"]

READ = "read"
OPERATE = "operate"
ROLES = (READ, OPERATE)

TOKEN_ENV = "WORKBENCH_API_TOKEN"
"""Environment variable holding an ``operate`` token."""
READ_TOKEN_ENV = "WORKBENCH_API_READ_TOKEN"
"""Environment variable holding a ``read`` token."""
TOKEN_FILE_ENV = "WORKBENCH_API_TOKEN_FILE"
"""Environment variable naming a token file."""


@dataclass(frozen=True)
class TokenStore:
    """Known tokens and their roles (``{token: role}``)."""

    tokens: Mapping[str, str] = field(default_factory=dict)

    def role(self, token: str | None) -> str | None:
        """The role of ``token``, or None when it is unknown (constant-time comparison per token)."""
        if not token:
            return None
        found = None
        given = token.encode()
        for known, role in self.tokens.items():
            if secrets.compare_digest(known.encode(), given):
                found = role
        return found

    def __repr__(self) -> str:  # never show the tokens
        roles = sorted(self.tokens.values())
        return f"TokenStore({len(roles)} tokens: {', '.join(roles) or 'none'})"

    def __bool__(self) -> bool:
        return bool(self.tokens)


def read_token_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Parse a token file (see the module docstring) and return ``{token: role}``.

    Raises
    ------
    ConfigError
        The file is missing, belongs to another user, is readable or writable by group or others,
        or has a malformed line (the message names the line number, never the token).
    """
    file = Path(path).expanduser()
    try:
        info = file.stat()
    except OSError as exc:
        raise ConfigError(f"token file {file}: {exc.strerror}") from None
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise ConfigError(f"token file {file} belongs to uid {info.st_uid}, not to the user running the service")
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"token file {file} has mode {stat.S_IMODE(info.st_mode):04o}: it must be readable by its "
                          f"owner only (chmod 600 {file})")
    tokens: dict[str, str] = {}
    for number, line in enumerate(file.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.split()
        if len(parts) != 2 or parts[0] not in ROLES:
            raise ConfigError(f"token file {file} line {number}: expected '<role> <token>' with role one of {ROLES}")
        if len(parts[1]) < 16:
            raise ConfigError(f"token file {file} line {number}: token shorter than 16 characters")
        tokens[parts[1]] = parts[0]
    return tokens


def load_tokens(token_file: str | os.PathLike[str] | None = None,
                environ: Mapping[str, str] | None = None) -> TokenStore:
    """Tokens from the environment and the token file (``token_file`` or ``$WORKBENCH_API_TOKEN_FILE``).

    Raises
    ------
    ConfigError
        See :func:`read_token_file`.
    """
    env = os.environ if environ is None else environ
    tokens: dict[str, str] = {}
    if env.get(READ_TOKEN_ENV):
        tokens[env[READ_TOKEN_ENV]] = READ
    if env.get(TOKEN_ENV):
        tokens[env[TOKEN_ENV]] = OPERATE
    path = token_file or env.get(TOKEN_FILE_ENV)
    if path:
        tokens.update(read_token_file(path))
    return TokenStore(tokens)
