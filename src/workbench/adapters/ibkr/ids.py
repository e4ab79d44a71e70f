"""IB order ids: taken from ``nextValidId``, persisted, never reused.

TWS hands out ``nextValidId`` on connect; after a gateway restart it can roll back, and an id used
again is refused (error 103) or, worse, attributes callbacks to the wrong order (ib_insync #644,
LEAN IB #242). :class:`OrderIdAllocator` therefore takes the maximum of what TWS says, what this
process used and what was persisted: the runner's checkpoint stores :meth:`snapshot` in the journal
in the same transaction as the events (DESIGN rule 4), and with ``durable_submit`` that commit
happens before every order leaves. ``reserve`` ids beyond the next one are persisted too, so orders
sent between two commits (a bracket's legs) are covered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class OrderIdAllocator:
    """Monotonic IB order ids (>= 1)."""

    def __init__(self, next_id: int = 1, reserve: int = 16) -> None:
        self.next_id = max(int(next_id), 1)
        self.reserve = reserve
        self.rollbacks = 0  # times TWS offered an id below ours (a rolled-back nextValidId)

    def observe(self, next_valid_id: int) -> None:
        """TWS's ``nextValidId``: move forward to it, never back."""
        if next_valid_id < self.next_id:
            self.rollbacks += 1
        self.next_id = max(self.next_id, int(next_valid_id))

    def take(self) -> int:
        value = self.next_id
        self.next_id += 1
        return value

    def snapshot(self) -> dict[str, Any]:
        """What to persist: an id no order sent so far (nor the next ``reserve``) can have."""
        return {"next_order_id": self.next_id + self.reserve}

    def restore(self, state: Mapping[str, Any] | None) -> None:
        if state and "next_order_id" in state:
            self.next_id = max(self.next_id, int(state["next_order_id"]))
