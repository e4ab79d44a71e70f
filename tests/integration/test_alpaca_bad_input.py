"""Bad input on the Alpaca path, and secrets, through alpaca-py against the emulator.

* malformed market-data messages (a string ``t``, missing fields, an unknown type) are skipped and
  counted, the session goes on; a frame that is not msgpack at all costs a reconnect, not the session;
* malformed and unknown trade updates are counted and ignored (alpaca-py #629: tolerate unknown events);
* wrong keys: one clear authentication error naming the stream, no retry storm (a handful of
  connection attempts, not hundreds), and no secret in the message;
* a symbol the account cannot trade: OrderRejected with Alpaca's 422 code and message;
* secrets: fake keys set in the environment never appear in logs, the journal (events and session
  parameters), exceptions, the session summary or its HTML.
"""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path

import msgpack
import pytest
from alpaca_helpers import FAST_RECONNECT, alpaca_session_on, demo_bars, run_lockstep, start_emulator, until

from workbench.adapters.alpaca import alpaca_session
from workbench.adapters.base import AuthenticationError
from workbench.model import events as ev

PARAMS = {"fast": 3, "slow": 8}


@pytest.fixture
def bars():
    return demo_bars(60)


async def test_malformed_frames_are_skipped_and_the_session_goes_on(tmp_path: Path, bars) -> None:
    emulator = start_emulator(data=bars, manual=True)
    try:
        session = alpaca_session_on(emulator, tmp_path / "j.sqlite", params=PARAMS)
        injected: list[int] = []

        def before_step(n: int) -> None:
            if n == 10:
                bad = [{"T": "q", "S": "SPY", "bp": 1.0, "bs": 1, "ap": 1.1, "as": 1, "t": "2013-10-07T14:00:00Z"},
                       {"T": "b", "S": "SPY", "o": 1.0, "t": msgpack.Timestamp(1381154400, 0)},
                       {"T": "zz", "S": "SPY", "t": msgpack.Timestamp(1381154400, 0)}]
                injected.append(emulator.inject("data", msgpack.packb(bad)))
                trading = [{"stream": "trade_updates", "data": {"event": "fill", "order": {"id": "not-a-uuid"}}},
                           {"stream": "trade_updates", "data": "nonsense"}, {"stream": "who_knows", "data": {}}]
                for message in trading:
                    injected.append(emulator.inject("trading", json.dumps(message)))
            if n == 30:
                injected.append(emulator.inject("data", b"\xc1 this is not msgpack"))
                client = session.data_client
                return until(lambda: client.health.reconnects == 1 and client.state.value == "CONNECTED"
                             and bool(emulator.data_connections), 30, "the feed to reconnect")
            return None

        await run_lockstep(session, emulator, before_step=before_step)
        assert injected == [1, 1, 1, 1, 1]
        assert session.data_client.parse_errors == 2  # the string-t quote and the bar without fields
        assert session.execution_client.parse_errors == 2
        assert session.data_client.health.reconnects == 1  # the non-msgpack frame
        assert session.runner.state == "stopped" and session.runner.position >= len(bars) - 2
    finally:
        emulator.stop_thread()


async def test_unknown_trade_update_events_are_tolerated(tmp_path: Path, bars) -> None:
    emulator = start_emulator(data=bars, manual=True)
    try:
        session = alpaca_session_on(emulator, tmp_path / "j.sqlite", params=PARAMS)
        sent: list[int] = []

        def before_step(n: int) -> None:
            orders = emulator.call(lambda: list(emulator.account.orders.values()))
            if orders and not sent:
                from workbench.emulators.alpaca import wire

                order = wire.order_json(emulator.account, orders[0])
                payload = {"stream": "trade_updates", "data": {"event": "brand_new_event", "order": order,
                                                               "timestamp": order["created_at"]}}
                sent.append(emulator.inject("trading", json.dumps(payload)))

        await run_lockstep(session, emulator, before_step=before_step)
        assert sent == [1]
        assert session.execution_client.unknown_events == 1 and session.execution_client.parse_errors == 0
        assert session.runner.state == "stopped"
    finally:
        emulator.stop_thread()


async def test_wrong_keys_fail_once_clearly_without_a_retry_storm(tmp_path: Path, bars) -> None:
    emulator = start_emulator(data=bars, manual=True)
    try:
        session = alpaca_session(
            "sma_crossover", params=PARAMS, journal=tmp_path / "j.sqlite",
            alpaca={**FAST_RECONNECT, "api_key": emulator.key, "secret_key": "WRONG-SECRET-123",
                    "trading_url": emulator.rest_url, "data_stream_url": emulator.data_url,
                    "trading_stream_url": emulator.trading_url})
        with pytest.raises(AuthenticationError) as info:
            await session
        text = str(info.value)
        assert "alpaca trade_updates" in text and "authenticate" in text
        assert "WRONG-SECRET-123" not in text and "WRONG-SECRET-123" not in repr(info.value)
        assert session.execution_client.health.connects == 0
        states = [e.state for e in session.journal.events(session.session_id) if type(e) is ev.ConnectionStatusChanged]
        assert states[-1] == "DISCONNECTED"
    finally:
        emulator.stop_thread()


async def test_a_symbol_the_account_cannot_trade_is_rejected_with_alpaca_s_reason(tmp_path: Path, bars) -> None:
    from workbench.risk.engine import RiskEngine

    emulator = start_emulator(data=bars, manual=True)
    try:
        # no pre-trade rules: the default profile would deny the order itself (no price for ZZZZ),
        # and this test is about Alpaca's answer to an order that reaches it
        session = alpaca_session_on(emulator, tmp_path / "j.sqlite", params=PARAMS, risk=RiskEngine())
        done: list[int] = []

        def before_step(n: int) -> None:
            if n == 5:
                session.submit_order("ZZZZ", "BUY", 10)
                done.append(n)

        await run_lockstep(session, emulator, before_step=before_step)
        rejected = [e for e in session.journal.events(session.session_id) if type(e) is ev.OrderRejected]
        assert [(r.symbol, r.reason) for r in rejected] == [("ZZZZ", '422 42210000: asset "ZZZZ" not found')]
    finally:
        emulator.stop_thread()


async def test_fake_keys_from_the_environment_never_leak(tmp_path: Path, bars, monkeypatch, caplog) -> None:
    key, secret = f"fake-key-{secrets.token_hex(8)}", f"fake-secret-{secrets.token_hex(16)}"  # made per run
    monkeypatch.setenv("APCA_API_KEY_ID", key)
    monkeypatch.setenv("APCA_API_SECRET_KEY", secret)
    caplog.set_level(logging.DEBUG)
    emulator = start_emulator(data=bars, manual=True, key=key, secret=secret)
    try:
        session = alpaca_session(
            "sma_crossover", params=PARAMS, journal=tmp_path / "j.sqlite",
            alpaca={**FAST_RECONNECT, "trading_url": emulator.rest_url, "data_stream_url": emulator.data_url,
                    "trading_stream_url": emulator.trading_url})
        config = session.execution_client.config
        assert key not in repr(config) and secret not in repr(config) and secret not in str(config.public())
        await run_lockstep(session, emulator)
        outputs = [caplog.text, repr(session.summary()), session._repr_html_(), repr(session.health())]
        outputs += [repr(e) for e in session.journal.events(session.session_id)]
        outputs.append(json.dumps(session.journal.session(session.session_id), default=str))
        database = Path(tmp_path / "j.sqlite").read_bytes()
        for text in outputs:
            assert key not in text and secret not in text
        assert key.encode() not in database and secret.encode() not in database
        # a wrong secret's error names no secret either
        with pytest.raises(AuthenticationError) as info:
            bad = alpaca_session("sma_crossover", journal=tmp_path / "k.sqlite",
                                 alpaca={**FAST_RECONNECT, "secret_key": "x" + secret, "trading_url": emulator.rest_url,
                                         "data_stream_url": emulator.data_url, "trading_stream_url": emulator.trading_url})
            await bad
        assert secret not in str(info.value) and key not in str(info.value)
        await until(lambda: True)
    finally:
        emulator.stop_thread()
