"""Trade statistics, exposure, turnover and P&L tables on small hand-made tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from workbench.analytics import trade_metrics as tm

TRADE_COLUMNS = [
    "symbol", "direction", "quantity", "entry_time", "exit_time", "entry_price", "exit_price",
    "gross_pnl", "commission", "pnl", "return",
]  # fmt: skip


def _trades(pnls, quantity=10.0, entry_price=100.0):
    rows = []
    start = pd.Timestamp("2021-01-04 15:00", tz="UTC")
    for i, pnl in enumerate(pnls):
        exit_price = entry_price + (pnl + 1.0) / quantity
        rows.append(
            {
                "symbol": "SPY",
                "direction": "LONG",
                "quantity": quantity,
                "entry_time": start + pd.Timedelta(days=i),
                "exit_time": start + pd.Timedelta(days=i, hours=2),
                "entry_price": entry_price,
                "exit_price": exit_price,
                "gross_pnl": pnl + 1.0,
                "commission": 1.0,
                "pnl": float(pnl),
                "return": pnl / (quantity * entry_price),
            }
        )
    return pd.DataFrame(rows, columns=TRADE_COLUMNS)


def test_hand_worked_trade_statistics():
    trades = _trades([100, -50, 200, 0, -25])
    assert tm.trade_count(trades) == 5
    assert tm.win_rate(trades) == pytest.approx(2 / 5)  # breakeven is not a win but counts
    assert tm.profit_factor(trades) == pytest.approx(300 / 75)
    assert tm.expectancy(trades) == pytest.approx(225 / 5)
    assert tm.average_win(trades) == pytest.approx(150)
    assert tm.average_loss(trades) == pytest.approx(-37.5)
    # Tharp's form of the expectancy agrees with the mean
    tharp = 2 / 5 * tm.average_win(trades) + 2 / 5 * tm.average_loss(trades)
    assert tm.expectancy(trades) == pytest.approx(tharp)


@pytest.mark.parametrize("trades", [pd.DataFrame(columns=TRADE_COLUMNS), pd.DataFrame()])
def test_no_trades(trades):
    assert tm.trade_count(trades) == 0
    for func in (tm.win_rate, tm.profit_factor, tm.expectancy, tm.average_win, tm.average_loss):
        assert math.isnan(func(trades))
    assert tm.traded_notional(trades=trades) == 0.0


def test_one_winning_trade():
    trades = _trades([120])
    assert tm.win_rate(trades) == 1.0
    assert tm.profit_factor(trades) == math.inf
    assert tm.expectancy(trades) == 120
    assert math.isnan(tm.average_loss(trades))


def test_all_losses_profit_factor_zero():
    trades = _trades([-10, -20])
    assert tm.win_rate(trades) == 0.0
    assert tm.profit_factor(trades) == 0.0
    assert tm.expectancy(trades) == -15
    assert math.isnan(tm.average_win(trades))


def test_only_breakeven_trades():
    assert math.isnan(tm.profit_factor(_trades([0, 0])))


def test_missing_or_nan_pnl_raises():
    with pytest.raises(ValueError, match="no 'pnl' column"):
        tm.win_rate(_trades([1]).drop(columns="pnl"))
    bad = _trades([1, 2])
    bad.loc[1, "pnl"] = np.nan
    with pytest.raises(ValueError, match=r"trades.pnl is NaN in row 1"):
        tm.expectancy(bad)


def _equity_curve(values, gross, days=1.0):
    index = pd.Timestamp("2021-01-04 21:00", tz="UTC") + pd.to_timedelta(np.arange(len(values)) * days, unit="D")
    return pd.DataFrame({"equity": values, "gross_exposure": gross}, index=index)


def test_exposure_time():
    curve = _equity_curve([1000.0] * 4, [0.0, 500.0, -200.0, 0.0])
    assert tm.exposure_time(curve) == 0.5


def test_turnover_from_fills_and_from_trades():
    # 365.25 days apart -> exactly one year
    curve = _equity_curve([900.0, 1100.0], [0.0, 0.0], days=365.25)
    assert tm.years_spanned(curve) == pytest.approx(1.0)
    fills = pd.DataFrame({"quantity": [100.0, 100.0], "price": [10.0, 11.0], "side": ["BUY", "SELL"]})
    assert tm.traded_notional(fills) == pytest.approx(2100.0)
    assert tm.turnover(curve, fills=fills) == pytest.approx(2100.0 / 1000.0)
    assert tm.turnover(curve, fills=fills, annualize=False) == pytest.approx(2.1)
    trades = pd.DataFrame({"quantity": [100.0], "entry_price": [10.0], "exit_price": [11.0], "pnl": [100.0]})
    assert tm.turnover(curve, trades=trades) == pytest.approx(2.1)
    assert tm.turnover(curve) == 0.0


def test_turnover_half_year_doubles_when_annualized():
    curve = _equity_curve([1000.0, 1000.0], [0.0, 0.0], days=365.25 / 2)
    fills = pd.DataFrame({"quantity": [10.0], "price": [100.0]})
    assert tm.turnover(curve, fills=fills) == pytest.approx(2.0)


def test_trades_per_year():
    curve = _equity_curve([1000.0, 1000.0], [0.0, 0.0], days=730.5)
    assert tm.trades_per_year(_trades([1, 2, 3]), curve) == pytest.approx(1.5)
    single = _equity_curve([1000.0], [0.0])
    assert math.isnan(tm.trades_per_year(_trades([1]), single))


def test_pnl_tables():
    # Thu 28 Jan .. Tue 2 Feb 2021, plus an intraday starting value on the 28th
    stamps = pd.DatetimeIndex(
        ["2021-01-28 14:30", "2021-01-28 21:00", "2021-01-29 21:00", "2021-02-01 21:00", "2021-02-02 21:00"], tz="UTC"
    )
    curve = pd.DataFrame({"equity": [1000.0, 1010.0, 1005.0, 1020.0, 990.0]}, index=stamps)

    daily = tm.pnl_table(curve, "daily")
    assert list(daily["pnl"]) == pytest.approx([10.0, -5.0, 15.0, -30.0])
    assert list(daily["start_equity"]) == [1000.0, 1010.0, 1005.0, 1020.0]
    assert daily["return"].iloc[3] == pytest.approx(990 / 1020 - 1)

    weekly = tm.pnl_table(curve, "weekly")  # weeks end Friday 29 Jan and Friday 5 Feb
    assert [str(p) for p in weekly.index] == ["2021-01-23/2021-01-29", "2021-01-30/2021-02-05"]
    assert list(weekly["pnl"]) == pytest.approx([5.0, -15.0])

    monthly = tm.pnl_table(curve, "monthly")
    assert [str(p) for p in monthly.index] == ["2021-01", "2021-02"]
    assert list(monthly["pnl"]) == pytest.approx([5.0, -15.0])
    assert monthly["pnl"].sum() == pytest.approx(990.0 - 1000.0)

    with pytest.raises(ValueError, match="frequency"):
        tm.pnl_table(curve, "yearly")
