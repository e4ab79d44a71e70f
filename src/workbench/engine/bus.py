"""Synchronous, deterministic message bus.

Handlers are called in the order they subscribed, in the publisher's thread, before
:meth:`MessageBus.publish` returns. A topic subscription ending in ``*`` matches every topic with
that prefix. Resolved handler lists are cached per topic (the cache is cleared on any
(un)subscription), so publishing costs one dict lookup plus the calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[Any], None]


class MessageBus:
    def __init__(self) -> None:
        self._subs: list[tuple[str, Handler]] = []
        self._cache: dict[str, tuple[Handler, ...]] = {}

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Call ``handler(message)`` for every message published on ``topic`` (``*`` suffix = prefix)."""
        if (topic, handler) not in self._subs:
            self._subs.append((topic, handler))
            self._cache.clear()

    def unsubscribe(self, topic: str, handler: Handler) -> None:
        try:
            self._subs.remove((topic, handler))
        except ValueError:
            return
        self._cache.clear()

    def handlers(self, topic: str) -> tuple[Handler, ...]:
        """The handlers a message on ``topic`` reaches, in call order."""
        found = self._cache.get(topic)
        if found is None:
            found = tuple(
                h
                for pattern, h in self._subs
                if pattern == topic or (pattern.endswith("*") and topic.startswith(pattern[:-1]))
            )
            self._cache[topic] = found
        return found

    def publish(self, topic: str, message: Any) -> None:
        for handler in self.handlers(topic):
            handler(message)
