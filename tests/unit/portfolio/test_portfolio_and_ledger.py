"""Portfolio and cash ledger, hand-worked: cash, equity, exposure, realized/unrealized P&L."""

from __future__ import annotations

import pytest

from workbench.model.enums import OrderSide
from workbench.model.instruments import Instrument
from workbench.portfolio.ledger import CashLedger
from workbench.portfolio.portfolio import Portfolio

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def test_ledger_balance_entries_and_commissions() -> None:
    ledger = CashLedger(1_000.0)
    ledger.post(1, -500.0, "trade", "F-1")
    ledger.post(1, -1.25, "commission", "F-1")
    ledger.post(2, 250.0, "deposit")
    assert ledger.balance == pytest.approx(748.75)
    assert ledger.commissions == pytest.approx(1.25)
    assert [e.amount for e in ledger.entries] == [1_000.0, -500.0, -1.25, 250.0]
    assert sum(e.amount for e in ledger.entries) == pytest.approx(ledger.balance)


def test_ledger_rejects_negative_start() -> None:
    with pytest.raises(ValueError, match="starting_cash"):
        CashLedger(-1.0)


def test_round_trip_with_partial_close_flip_and_commissions() -> None:
    pf = Portfolio(10_000.0)
    fills = [  # side, quantity, price, commission
        (BUY, 100, 10.0, 1.0),
        (BUY, 100, 12.0, 1.0),
        (SELL, 50, 13.0, 1.0),
        (SELL, 200, 9.0, 1.0),  # flip to 50 short at 9
        (BUY, 50, 8.0, 1.0),
    ]
    for i, (side, q, px, fee) in enumerate(fills):
        pf.apply_fill("XYZ", side, q, px, fee, ts_event=i, reference=f"F-{i}")
    # cash: 10000 - 1000 - 1200 + 650 + 1800 - 400 - 5 commissions
    assert pf.cash == pytest.approx(9_845.0)
    assert pf.ledger.commissions == pytest.approx(5.0)
    assert pf.quantity("XYZ") == 0.0
    assert pf.equity == pytest.approx(9_845.0)
    assert pf.realized_pnl == pytest.approx(-155.0)  # net of commissions
    assert pf.realized_total == pytest.approx(-155.0)
    assert pf.equity == pytest.approx(pf.starting_cash + pf.realized_pnl)


def test_mark_to_market_long_and_short() -> None:
    pf = Portfolio(100_000.0)
    pf.apply_fill("AAA", BUY, 100, 50.0, 0.0, ts_event=1)
    pf.apply_fill("BBB", SELL, 200, 20.0, 0.0, ts_event=1)
    # cash: 100000 - 5000 + 4000
    assert pf.cash == pytest.approx(99_000.0)
    pf.update_price("AAA", 55.0)
    pf.update_price("BBB", 21.0)
    pf.update_price("AAA", 56.0)
    # market value: 100 * 56 - 200 * 21 = 5600 - 4200 = 1400
    assert pf.market_value == pytest.approx(1_400.0)
    assert pf.net_exposure == pytest.approx(1_400.0)
    assert pf.gross_exposure == pytest.approx(9_800.0)
    assert pf.gross_value == pytest.approx(9_800.0)
    assert pf.equity == pytest.approx(100_400.0)
    # unrealized: 100 * (56 - 50) + (-200) * (21 - 20) = 600 - 200
    assert pf.unrealized_pnl == pytest.approx(400.0)
    assert pf.equity == pytest.approx(pf.starting_cash + pf.realized_pnl + pf.unrealized_pnl)
    frame = pf.positions_frame().set_index("symbol")
    assert frame.loc["BBB", "market_value"] == pytest.approx(-4_200.0)
    assert frame.loc["AAA", "unrealized_pnl"] == pytest.approx(600.0)


def test_multiplier_instrument_cash_and_equity() -> None:
    es = Instrument("ES", tick_size=0.25, multiplier=50.0)
    pf = Portfolio(500_000.0, {"ES": es})
    pf.apply_fill("ES", BUY, 2, 4000.0, 4.0, ts_event=1)
    assert pf.cash == pytest.approx(500_000.0 - 2 * 4000 * 50 - 4.0)
    pf.update_price("ES", 4010.0)
    assert pf.equity == pytest.approx(500_000.0 - 4.0 + 2 * 10 * 50)
    pf.apply_fill("ES", SELL, 2, 4010.0, 4.0, ts_event=2)
    assert pf.quantity("ES") == 0.0
    assert pf.realized_pnl == pytest.approx(1_000.0 - 8.0)
    assert pf.equity == pytest.approx(pf.cash)
