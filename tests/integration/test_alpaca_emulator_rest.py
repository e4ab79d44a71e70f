"""The Alpaca emulator's REST API as the real alpaca-py 0.44 client sees it (127.0.0.1).

Every answer must validate as alpaca-py's models (a wrong shape fails inside the client), and carry
Alpaca's documented semantics (``/work/shared/protocols/alpaca.md``): order types, time in force,
bracket/OCO/OTO legs held until the parent fills, replace links, cancel twice -> 422, 403 buying
power, 401 bad keys with a ``code``, 404 unknown, 429 retried by the client (3 retries), historical
bars paginated with ``next_page_token``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alpaca_helpers import demo_bars, start_emulator

pytest.importorskip("alpaca")

from alpaca.common.exceptions import APIError
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame
from alpaca.trading import enums as ae
from alpaca.trading import requests as ar
from alpaca.trading.client import TradingClient


@pytest.fixture(scope="module")
def emulator():
    emu = start_emulator(data=demo_bars(60), manual=True)
    emu.call(emu.core.step, 30)  # 30 minutes of market: a price, and bars to serve
    yield emu
    emu.stop_thread()


@pytest.fixture
def client(emulator):
    c = TradingClient(emulator.key, emulator.secret, paper=True, url_override=emulator.rest_url)
    c._retry_wait = 0
    return c


def test_account_positions_clock_asset(client, emulator) -> None:
    account = client.get_account()
    assert account.status == ae.AccountStatus.ACTIVE and float(account.cash) == 100_000.0
    clock = client.get_clock()
    assert clock.is_open and clock.timestamp.year == 2013
    assert client.get_asset("SPY").tradable
    with pytest.raises(APIError) as info:
        client.get_asset("NOPE")
    assert info.value.status_code == 404 and info.value.code == 40410000


def test_every_order_type_and_time_in_force(client) -> None:
    requests = [
        ar.MarketOrderRequest(symbol="SPY", qty=1, side=ae.OrderSide.BUY, time_in_force=ae.TimeInForce.DAY),
        ar.LimitOrderRequest(symbol="SPY", qty=2, side=ae.OrderSide.BUY, time_in_force=ae.TimeInForce.GTC,
                             limit_price=100.0),
        ar.StopOrderRequest(symbol="SPY", qty=1, side=ae.OrderSide.SELL, time_in_force=ae.TimeInForce.DAY,
                            stop_price=100.0),
        ar.StopLimitOrderRequest(symbol="SPY", qty=1, side=ae.OrderSide.SELL, time_in_force=ae.TimeInForce.GTC,
                                 stop_price=100.0, limit_price=99.0, extended_hours=False),
        ar.TrailingStopOrderRequest(symbol="SPY", qty=1, side=ae.OrderSide.SELL, time_in_force=ae.TimeInForce.GTC,
                                    trail_percent=1.5),
        ar.TrailingStopOrderRequest(symbol="SPY", qty=1, side=ae.OrderSide.SELL, time_in_force=ae.TimeInForce.GTC,
                                    trail_price=0.5),
        ar.LimitOrderRequest(symbol="SPY", qty=1, side=ae.OrderSide.BUY, time_in_force=ae.TimeInForce.IOC,
                             limit_price=100.0),
        ar.LimitOrderRequest(symbol="SPY", qty=1, side=ae.OrderSide.BUY, time_in_force=ae.TimeInForce.FOK,
                             limit_price=100.0),
        ar.MarketOrderRequest(symbol="SPY", qty=1, side=ae.OrderSide.BUY, time_in_force=ae.TimeInForce.OPG),
        ar.MarketOrderRequest(symbol="SPY", qty=1, side=ae.OrderSide.BUY, time_in_force=ae.TimeInForce.CLS),
    ]
    for request in requests:
        order = client.submit_order(request)
        assert order.symbol == "SPY" and order.time_in_force == request.time_in_force
        assert order.type == request.type and order.status in (ae.OrderStatus.NEW, ae.OrderStatus.ACCEPTED)
    trailing = [o for o in client.get_orders(ar.GetOrdersRequest(status=ae.QueryOrderStatus.OPEN, limit=100))
                if o.type == ae.OrderType.TRAILING_STOP]
    assert {(o.trail_percent, o.trail_price) for o in trailing} == {("1.5", None), (None, "0.5")}


def test_bracket_oco_oto_legs(client, emulator) -> None:
    bracket = client.submit_order(ar.LimitOrderRequest(
        symbol="SPY", qty=5, side=ae.OrderSide.BUY, time_in_force=ae.TimeInForce.GTC, limit_price=1.0,
        order_class=ae.OrderClass.BRACKET, take_profit=ar.TakeProfitRequest(limit_price=500.0),
        stop_loss=ar.StopLossRequest(stop_price=0.5, limit_price=0.4), client_order_id="bracket-1"))
    assert bracket.order_class == ae.OrderClass.BRACKET and len(bracket.legs) == 2
    assert {leg.status for leg in bracket.legs} == {ae.OrderStatus.HELD}
    assert {leg.type for leg in bracket.legs} == {ae.OrderType.LIMIT, ae.OrderType.STOP_LIMIT}
    oco = client.submit_order(ar.LimitOrderRequest(
        symbol="SPY", qty=1, side=ae.OrderSide.SELL, time_in_force=ae.TimeInForce.GTC, order_class=ae.OrderClass.OCO,
        take_profit=ar.TakeProfitRequest(limit_price=500.0), stop_loss=ar.StopLossRequest(stop_price=0.5)))
    assert oco.type == ae.OrderType.LIMIT and [leg.type for leg in oco.legs] == [ae.OrderType.STOP]
    assert oco.legs[0].status == ae.OrderStatus.NEW  # an OCO's legs are live at once
    oto = client.submit_order(ar.LimitOrderRequest(
        symbol="SPY", qty=1, side=ae.OrderSide.BUY, time_in_force=ae.TimeInForce.DAY, limit_price=1.0,
        order_class=ae.OrderClass.OTO, stop_loss=ar.StopLossRequest(stop_price=0.5)))
    assert [leg.status for leg in oto.legs] == [ae.OrderStatus.HELD]
    # a bracket's legs carry the order's identity: found by the parent's client order id, nested
    again = client.get_order_by_client_id("bracket-1")
    assert again.id == bracket.id and len(again.legs) == 2
    client.cancel_order_by_id(bracket.id)
    assert {leg.status for leg in client.get_order_by_id(bracket.id).legs} == {ae.OrderStatus.CANCELED}


def test_replace_cancel_and_errors(client, emulator) -> None:
    order = client.submit_order(ar.LimitOrderRequest(symbol="SPY", qty=10, side=ae.OrderSide.BUY,
                                                     time_in_force=ae.TimeInForce.DAY, limit_price=100.0,
                                                     client_order_id="rc-1"))
    new = client.replace_order_by_id(order.id, ar.ReplaceOrderRequest(qty=12, limit_price=100.5,
                                                                      client_order_id="rc-1~r1"))
    assert new.replaces == order.id and float(new.qty) == 12 and float(new.limit_price) == 100.5
    old = client.get_order_by_id(order.id)
    assert old.status == ae.OrderStatus.REPLACED and old.replaced_by == new.id
    client.cancel_order_by_id(new.id)
    assert client.get_order_by_id(new.id).status == ae.OrderStatus.CANCELED
    with pytest.raises(APIError) as twice:
        client.cancel_order_by_id(new.id)
    assert (twice.value.status_code, twice.value.code) == (422, 42210000)
    with pytest.raises(APIError) as reused:  # unique even after cancel (alpaca-py #260)
        client.submit_order(ar.MarketOrderRequest(symbol="SPY", qty=1, side=ae.OrderSide.BUY,
                                                  time_in_force=ae.TimeInForce.DAY, client_order_id="rc-1"))
    assert reused.value.status_code == 422
    with pytest.raises(APIError) as too_big:
        client.submit_order(ar.MarketOrderRequest(symbol="SPY", qty=100_000, side=ae.OrderSide.BUY,
                                                  time_in_force=ae.TimeInForce.DAY))
    assert (too_big.value.status_code, too_big.value.code) == (403, 40310000)
    assert "buying power" in too_big.value.message
    responses = client.cancel_orders()
    assert all(r.status == 200 for r in responses)


def test_bad_keys_and_rate_limits(emulator) -> None:
    bad = TradingClient(emulator.key, "wrong", paper=True, url_override=emulator.rest_url)
    with pytest.raises(APIError) as info:
        bad.get_account()
    assert (info.value.status_code, info.value.code) == (401, 40110000)
    client = TradingClient(emulator.key, emulator.secret, paper=True, url_override=emulator.rest_url)
    client._retry_wait = 0
    before = emulator.call(lambda: emulator.rate_limited)
    emulator.arm("rate_limit", count=3)
    assert client.get_account().status == ae.AccountStatus.ACTIVE  # 3 x 429, then 200 (the client retries 3 times)
    emulator.arm("rate_limit", count=4)
    with pytest.raises(APIError) as limited:
        client.get_account()
    assert limited.value.status_code == 429
    assert emulator.call(lambda: emulator.rate_limited) - before == 7


def test_positions_after_a_fill_and_historical_bars(client, emulator) -> None:
    client.submit_order(ar.MarketOrderRequest(symbol="SPY", qty=3, side=ae.OrderSide.BUY,
                                              time_in_force=ae.TimeInForce.DAY))
    emulator.call(emulator.core.step)  # the next bar fills it at its open
    [position] = client.get_all_positions()
    assert position.symbol == "SPY" and float(position.qty) >= 3 and position.side == ae.PositionSide.LONG
    history = StockHistoricalDataClient(emulator.key, emulator.secret, url_override=emulator.rest_url)
    request = StockBarsRequest(symbol_or_symbols="SPY", timeframe=TimeFrame.Minute,
                               start=datetime(2013, 10, 7, tzinfo=UTC))
    emulator.bars_page_size = 10  # small pages: the client follows next_page_token through 4 of them
    bars = history.get_stock_bars(request).data["SPY"]
    replayed = emulator.call(lambda: emulator.core.market.position)
    assert len(bars) == replayed >= 31
    times = [b.timestamp for b in bars]
    assert times == sorted(times) and len(set(times)) == len(times)
    limited = history.get_stock_bars(StockBarsRequest(symbol_or_symbols="SPY", timeframe=TimeFrame.Minute,
                                                      start=datetime(2013, 10, 7, tzinfo=UTC), limit=7))
    assert len(limited.data["SPY"]) == 7
