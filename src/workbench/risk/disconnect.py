"""The broker-disconnect breaker: hold new orders while a connection is down, resume after reconnect
and reconciliation, halt when the outage lasts too long.

What serious tools do, and what this breaker does:

* LEAN's ``DefaultBrokerageMessageHandler``: on a brokerage ``Disconnect`` message it does not stop
  the algorithm at once; it schedules a check and, if no ``Reconnect`` message arrived within the
  allowed time (``openThreshold``, 5 minutes by default, while the market is open), stops the
  algorithm with a runtime error; a reconnect in time cancels the check and trading goes on
  (https://github.com/QuantConnect/Lean/blob/master/Common/Brokerages/DefaultBrokerageMessageHandler.cs).
* NautilusTrader: while an execution client is disconnected, commands for its venue cannot be sent;
  after a reconnect the live execution engine reconciles (order status, fill and position reports)
  before trading state is trusted again
  (https://nautilustrader.io/docs/latest/concepts/live#reconciliation).

So, for every live adapter connection whose documented *kind* (``ConnectionStatusChanged.kind``,
set by :class:`~workbench.adapters.base.ExecutionClient` / ``DataClient`` for Alpaca, IB and any
later adapter; not a substring of the component's name) is watched:

1. RECONNECTING or DISCONNECTED (not the first CONNECTING): new orders are **held** (denied by this
   rule, ``OrderDenied``), journaled as ``RiskEvent(action="hold")``; reduce-only orders (exits,
   flatten, the kill switch) are still attempted. Orders already working at the broker are left
   alone: the broker still has them, and reconciliation reports what happened to them.
2. An execution connection that is CONNECTED again stays held until the adapter's reconciliation
   after that connect has been applied by the engine (:meth:`BrokerReports.apply_to` publishes
   ``adapters.reconciled``); a data connection is released when CONNECTED. When nothing is held
   any more, ``RiskEvent(action="resume")`` is journaled: trading resumes **automatically**.
3. A connection down for more than ``max_disconnect_seconds`` (session clock: wall time in a live
   session) escalates: the breaker fires its ``action`` (HALT by default): ``RiskEvent`` with that
   action and ``TradingStateChanged`` HALTED, both CRITICAL alerts; a HALT needs the deliberate
   Resume command (as every fired breaker).

In-process components (the runner's ``"broker"`` and ``"feed"``, which journal no ``kind``) are
treated as execution and data; ``components`` adds more names (exact, case-insensitive).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.clock import NS_PER_SECOND
from workbench.model import events as ev
from workbench.risk.engine import BreachAction

if TYPE_CHECKING:
    from workbench.engine.engine import TradingEngine
    from workbench.risk.engine import RiskEngine

__all__ = ["KINDS", "RECONCILED_TOPIC", "BrokerDisconnect"]

KINDS = ("execution", "data")
"""Connection kinds a live adapter's clients journal (``ConnectionStatusChanged.kind``)."""
RECONCILED_TOPIC = "adapters.reconciled"
"""Message-bus topic on which a live adapter's reports are published once the engine reconciled them."""
_IN_PROCESS = {"broker": "execution", "feed": "data"}  # the runner's own components (no kind journaled)


class BrokerDisconnect:
    """Hold / resume / escalate on connection changes (see the module docstring).

    Parameters
    ----------
    kinds : connection kinds watched (default execution and data).
    max_disconnect_seconds : float
        Outage after which the breaker fires ``action`` (session clock seconds).
    action : BreachAction
        What the escalation does (default HALT).
    components : extra component names to watch whatever their kind (exact, case-insensitive).

    Also a pre-trade rule (``check``): the risk engine asks it about every new order.
    """

    name = "broker_disconnect"

    def __init__(self, kinds: tuple[str, ...] | list[str] = KINDS, max_disconnect_seconds: float = 300.0,
                 action: BreachAction | str = BreachAction.HALT, components: tuple[str, ...] | list[str] = ()) -> None:
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise ValueError(f"broker_disconnect.kinds: unknown kind(s) {unknown}; known: {list(KINDS)}")
        if not max_disconnect_seconds > 0:
            raise ValueError(f"broker_disconnect.max_disconnect_seconds must be > 0, got {max_disconnect_seconds!r}")
        self.action = BreachAction(action)
        self.kinds = tuple(kinds)
        self.components = tuple(c.lower() for c in components)
        self.max_disconnect_ns = int(max_disconnect_seconds * NS_PER_SECOND)
        self.engine: TradingEngine | None = None
        self.risk: RiskEngine | None = None
        self.down: dict[str, tuple[str, int, str]] = {}  # component -> (kind, down since ns, why)
        self.reconnected: set[str] = set()  # execution components connected again, waiting for reconciliation
        self._ever_connected: set[str] = set()

    # ------------------------------------------------------------------------------ wiring
    def attach(self, engine: TradingEngine, risk: RiskEngine) -> None:
        self.engine, self.risk = engine, risk
        engine.bus.subscribe("events", self._on_event)
        engine.bus.subscribe(RECONCILED_TOPIC, self._on_reconciled)

    def reset(self) -> None:
        """A Resume command: the escalation may fire again; holds follow the connections, not the command."""

    def on_time_slice(self, engine: TradingEngine, risk: RiskEngine, ts_ns: int) -> None:
        self._escalate(ts_ns)

    def _kind(self, event: Any) -> str | None:
        component = event.component.lower()
        kind = getattr(event, "kind", "") or _IN_PROCESS.get(component, "")
        if kind in self.kinds:
            return kind
        if component in self.components:
            return kind or "execution"
        return None

    # ------------------------------------------------------------------------------ events
    def _on_event(self, event: ev.Event) -> None:
        if type(event) is not ev.ConnectionStatusChanged:
            return
        kind = self._kind(event)
        if kind is None:
            return
        component = event.component  # type: ignore[attr-defined]
        if event.connected:  # type: ignore[attr-defined]
            self._ever_connected.add(component)
            if component not in self.down:
                return
            if kind == "execution":
                self.reconnected.add(component)  # held until its reconciliation is applied
                self._escalate(event.ts_event)
            else:
                self._release(component, event.ts_event, "reconnected")
            return
        if event.state == "CONNECTING" and component not in self._ever_connected:  # type: ignore[attr-defined]
            return  # a live adapter's first connect is not a disconnection
        self.reconnected.discard(component)
        if component in self.down:
            self._escalate(event.ts_event)
            return
        why = f"{event.state or 'disconnected'}: {event.detail}".rstrip(": ")  # type: ignore[attr-defined]
        self.down[component] = (kind, event.ts_event, why)
        self._journal("hold", f"{component} ({kind} connection) {why}: new orders are held until it is "
                      + ("reconnected and reconciled" if kind == "execution" else "reconnected")
                      + f"; halt after {self.max_disconnect_ns / NS_PER_SECOND:g} s")
        engine = self.engine
        if engine is not None:
            engine.clock.set_time_alert(self._timer(component), event.ts_event + self.max_disconnect_ns,
                                        lambda time_event: self._escalate(time_event.ts_event))

    def _on_reconciled(self, reports: Any) -> None:
        component = getattr(reports, "component", "")
        if component in self.reconnected:
            engine = self.engine
            self._release(component, engine.now_ns() if engine is not None else 0, "reconnected and reconciled")

    # ------------------------------------------------------------------------------ state
    def _timer(self, component: str) -> str:
        return f"risk.broker_disconnect.{component}"

    def _release(self, component: str, now_ns: int, how: str) -> None:
        kind, since, _ = self.down.pop(component)
        self.reconnected.discard(component)
        engine = self.engine
        if engine is not None:
            engine.clock.cancel_timer(self._timer(component))
        seconds = max(0, now_ns - since) / NS_PER_SECOND
        if self.down:
            still = ", ".join(sorted(self.down))
            self._journal("hold", f"{component} ({kind} connection) {how} after {seconds:.1f} s; still held: {still}")
        else:
            self._journal("resume", f"{component} ({kind} connection) {how} after {seconds:.1f} s: new orders "
                          "allowed again")

    def _escalate(self, now_ns: int) -> None:
        risk, engine = self.risk, self.engine
        if risk is None or engine is None or self.name in risk.tripped:
            return
        for component, (kind, since, why) in sorted(self.down.items(), key=lambda item: item[1][1]):
            seconds = (now_ns - since) / NS_PER_SECOND
            if now_ns - since >= self.max_disconnect_ns:
                risk.trip(engine, self.name, f"{component} ({kind} connection) down for {seconds:.1f} s "
                          f"({why}), limit {self.max_disconnect_ns / NS_PER_SECOND:g} s",
                          self.action, value=seconds, limit=self.max_disconnect_ns / NS_PER_SECOND)
                return

    def _journal(self, action: str, message: str) -> None:
        engine = self.engine
        if engine is not None:
            engine.record(ev.RiskEvent(ts_event=engine.now_ns(), rule=self.name, message=message, action=action))

    # --------------------------------------------------------------------------- pre-trade
    def check(self, order: Any, context: Any) -> str | None:
        """Deny a new order while a watched connection is down or not yet reconciled."""
        if not self.down:
            return None
        if getattr(order, "reduce_only", False):
            return None  # exits, flatten and the kill switch are always attempted (they only take risk off)
        held = ", ".join(f"{c} ({kind}: {'awaiting reconciliation' if c in self.reconnected else why})"
                         for c, (kind, _, why) in sorted(self.down.items()))
        return f"held: connection down: {held}; the order is not sent (trading resumes after reconnect)"
