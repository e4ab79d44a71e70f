"""The live adapter contract (adapters/base.py) with an in-memory fake connection.

Checked behaviour: the connection state machine and its journaled ConnectionStatusChanged events,
reconnect with exponential backoff and jitter (bounds computed by hand from the formula tenacity
documents for ``wait_exponential_jitter``), no retry on an authentication failure, resubscription
after a reconnect, silence detection (a socket that stays open but goes quiet: alpaca-py #740),
and reconciliation reports posted on every connect.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.adapters.base import (
    AuthenticationError,
    BrokerReports,
    ConnectionState,
    DataClient,
    ExecutionClient,
    ReconnectPolicy,
)
from workbench.model import events as ev
from workbench.model.enums import OrderSide, OrderStatus
from workbench.model.reports import FillReport, OrderStatusReport

FAST = ReconnectPolicy(initial=0.01, maximum=0.05, jitter=0.01)


class FakeData(DataClient):
    """A data 'connection' scripted by the test: each session serves ``scripts.pop(0)``."""

    def __init__(self, scripts: list[str], **kwargs):
        super().__init__("fake.data", reconnect=kwargs.pop("reconnect", FAST), health_interval=None, **kwargs)
        self.scripts = scripts
        self.opens = 0
        self.sent: list[tuple[str, str, list[str]]] = []
        self.script = ""

    async def _open(self) -> None:
        self.opens += 1
        self.script = self.scripts.pop(0) if self.scripts else "serve"
        if self.script == "refuse":
            raise ConnectionRefusedError("refused")
        if self.script == "badkeys":
            raise AuthenticationError("fake.data: auth failed (402)")

    async def _session(self) -> None:
        if self.script == "drop":
            self.health.message_received()
            raise ConnectionResetError("peer closed")
        if self.script == "silent":
            await asyncio.Event().wait()  # open, but nothing ever arrives
        while True:
            self.health.message_received()
            await asyncio.sleep(0.005)

    async def _send_subscribe(self, kind, symbols):
        self.sent.append(("subscribe", kind, list(symbols)))

    async def _send_unsubscribe(self, kind, symbols):
        self.sent.append(("unsubscribe", kind, list(symbols)))


async def _until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


def _states(posted) -> list[str]:
    return [e.state for e in posted if type(e) is ev.ConnectionStatusChanged]


@given(st.integers(min_value=1, max_value=30))
def test_backoff_grows_exponentially_with_bounded_jitter(n: int) -> None:
    policy = ReconnectPolicy(initial=0.5, maximum=30.0, multiplier=2.0, jitter=0.5)
    base = 0.5 * 2.0 ** (n - 1)
    d = policy.delay(n)
    assert min(base, 30.0) <= d + 1e-12
    assert d <= min(base + 0.5, 30.0) + 1e-12


def test_bad_policy_names_the_field() -> None:
    with pytest.raises(ValueError, match="initial"):
        ReconnectPolicy(initial=0)


async def test_states_are_journaled_through_connect_drop_reconnect_stop() -> None:
    posted: list = []
    client = FakeData(["drop", "refuse", "serve"])
    client.bind(posted.append)
    await client.subscribe("quotes", ["SPY"])  # before connecting: only remembered
    client.start()
    await _until(lambda: client.health.reconnects == 1 and client.state is ConnectionState.CONNECTED)
    await client.stop()
    assert _states(posted) == ["CONNECTING", "CONNECTED", "RECONNECTING", "CONNECTED", "DISCONNECTED"]
    connected = [e.connected for e in posted if type(e) is ev.ConnectionStatusChanged]
    assert connected == [False, True, False, True, False]
    assert client.opens == 3  # the refused attempt was retried inside RECONNECTING
    # every (re)connect re-sent the subscription
    assert client.sent == [("subscribe", "quotes", ["SPY"])] * 2
    health = [e for e in posted if type(e) is ev.ConnectionHealthReported][-1]
    assert health.reconnects == 1 and health.errors >= 2 and health.state == "DISCONNECTED"


async def test_wrong_keys_fail_once_without_a_retry_storm() -> None:
    posted: list = []
    client = FakeData(["badkeys"] * 50)
    client.bind(posted.append)
    client.start()
    with pytest.raises(AuthenticationError, match="auth failed"):
        await client.wait_connected(timeout=5)
    assert client.opens == 1
    assert _states(posted) == ["CONNECTING", "DISCONNECTED"]
    assert "authentication failed" in [e for e in posted if type(e) is ev.ConnectionStatusChanged][-1].detail
    await client.stop()


async def test_silent_socket_is_detected_and_reconnected() -> None:
    """alpaca-py #740: connected but mute. The watchdog closes it after ``silence_timeout``."""
    posted: list = []
    client = FakeData(["silent", "serve"], silence_timeout=0.2)
    client.bind(posted.append)
    t0 = time.monotonic()
    client.start()
    await _until(lambda: client.health.reconnects == 1)
    assert time.monotonic() - t0 >= 0.2
    await client.stop()
    lost = [e for e in posted if type(e) is ev.ConnectionStatusChanged and e.state == "RECONNECTING"]
    assert lost and "silent" in lost[0].detail
    assert client.health.silences == 1


async def test_flapping_connection_backs_off_instead_of_storming() -> None:
    """A socket that opens and closes at once, without any message, waits longer each time."""
    client = FakeData(["refuse"] * 6 + ["serve"], reconnect=ReconnectPolicy(initial=0.02, maximum=1.0, jitter=0.0))
    client.bind(lambda e: None)
    t0 = time.monotonic()
    client.start()
    await client.wait_connected(timeout=10)
    elapsed = time.monotonic() - t0
    await client.stop()
    # waits 0.02, 0.04, 0.08, 0.16, 0.32, 0.64 s before attempts 2..7
    assert elapsed >= 1.26 - 0.05


async def test_subscribe_while_connected_is_sent_at_once_and_unsubscribe_too() -> None:
    client = FakeData(["serve"])
    client.bind(lambda e: None)
    client.start()
    await client.wait_connected(timeout=5)
    await client.subscribe("bars", ["SPY", "QQQ"])
    await client.subscribe("bars", ["SPY"])  # already wanted: nothing sent
    await client.unsubscribe("bars", ["QQQ"])
    await client.stop()
    assert client.sent == [("subscribe", "bars", ["SPY", "QQQ"]), ("unsubscribe", "bars", ["QQQ"])]


async def test_data_client_is_the_feed_and_ends_after_stop() -> None:
    client = FakeData(["serve"])
    client.bind(lambda e: None)
    for i in range(3):
        client.emit(i)

    async def consume():
        return [item async for item in client]

    client.start()
    task = asyncio.ensure_future(consume())
    await client.wait_connected(timeout=5)
    await client.stop()
    assert await asyncio.wait_for(task, 5) == [0, 1, 2]


def test_items_posted_before_bind_are_kept_in_order() -> None:
    client = FakeData([])
    client.post("a")
    client.post("b")
    got: list = []
    client.bind(got.append)
    client.post("c")
    assert got == ["a", "b", "c"]


class FakeExecution(ExecutionClient):
    def __init__(self, scripts):
        super().__init__("fake.execution", reconnect=FAST, health_interval=None)
        self.scripts = scripts
        self.fetched: list[str] = []

    async def _open(self):
        self.script = self.scripts.pop(0) if self.scripts else "serve"

    async def _session(self):
        if self.script == "drop":
            raise ConnectionResetError("gone")
        await asyncio.Event().wait()

    async def _fetch_reports(self, reason):
        self.fetched.append(reason)
        fill = FillReport(fill_id="x1", order_id="O-1", symbol="SPY", side=OrderSide.BUY, quantity=5, price=10.0,
                          commission=0.0, ts_event=1)
        order = OrderStatusReport(order_id="O-1", symbol="SPY", side=OrderSide.BUY, quantity=5, filled_quantity=5,
                                  avg_fill_price=10.0, status=OrderStatus.FILLED, ts_last=1)
        return BrokerReports(self.component, orders=(order,), fills=(fill,), reason=reason)


async def test_execution_client_posts_reports_on_every_connect() -> None:
    posted: list = []
    client = FakeExecution(["drop", "serve"])
    client.bind(posted.append)
    client.start()
    await _until(lambda: client.fetched == ["connect", "reconnect"])
    await client.stop()
    reports = [p for p in posted if isinstance(p, BrokerReports)]
    assert [r.reason for r in reports] == ["connect", "reconnect"]
    # the Broker protocol's synchronous report methods answer from the last snapshot
    assert [f.fill_id for f in client.fill_reports()] == ["x1"]
    assert client.fill_reports(since_ns=2) == []
    # each report bundle comes after the CONNECTED it belongs to
    kinds = [p.state if type(p) is ev.ConnectionStatusChanged else "reports" for p in posted
             if type(p) is ev.ConnectionStatusChanged or isinstance(p, BrokerReports)]
    assert kinds == ["CONNECTING", "CONNECTED", "reports", "RECONNECTING", "CONNECTED", "reports", "DISCONNECTED"]


def test_illegal_transition_raises() -> None:
    client = FakeData([])
    with pytest.raises(ValueError, match="illegal connection transition"):
        client._transition(ConnectionState.CONNECTED)
