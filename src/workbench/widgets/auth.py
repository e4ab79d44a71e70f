"""Token-only authentication for the Voila dashboard: no login page, HTTP 403 without the token.

Jupyter Server's default identity provider redirects an unauthenticated page request to a login
form. The dashboard has no password and is meant for whoever holds the printed URL, so
:class:`TokenOnlyIdentityProvider` refuses (403) any request that carries neither the token (in
the ``token`` query parameter or an ``Authorization: token ...`` header) nor the login cookie set
by an earlier request that did.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.identity import PasswordIdentityProvider, User
from tornado import web

__all__ = ["TokenOnlyIdentityProvider"]


class TokenOnlyIdentityProvider(PasswordIdentityProvider):
    """:class:`PasswordIdentityProvider` that raises ``HTTPError(403)`` instead of returning no user."""

    async def get_user(self, handler: web.RequestHandler) -> User | None:  # type: ignore[override]
        user: Any = super().get_user(handler)
        if hasattr(user, "__await__"):
            user = await user
        if user is None and self.auth_enabled:
            raise web.HTTPError(403, "a valid token is required")
        return user
