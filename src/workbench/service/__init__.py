"""The API service: FastAPI + uvicorn on 127.0.0.1, bearer tokens, REST reads of the journal,
commands through the journal's command queue, a resumable WebSocket push, health and metrics.

Like the dashboard it reads the journal and writes commands; it never runs an engine (DESIGN
rule 8). Modules: :mod:`.auth` (tokens and roles), :mod:`.reads` (queries), :mod:`.models`
(response models), :mod:`.live` (WebSocket push), :mod:`.metrics` (Prometheus), :mod:`.app`
(routes), :mod:`.server` (uvicorn, ``workbench serve``).
"""

from workbench.service.app import create_app
from workbench.service.auth import OPERATE, READ, TokenStore, load_tokens

__all__ = ["OPERATE", "READ", "TokenStore", "create_app", "load_tokens"]
