"""Position accounting, hand-worked: averaging, partial closes, flips, shorts, commissions, multipliers."""

from __future__ import annotations

import pytest

from workbench.model.enums import OrderSide, PositionSide
from workbench.model.position import Position

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def test_long_add_partial_close_flip_and_cover() -> None:
    p = Position("XYZ")
    assert p.side is PositionSide.FLAT and p.is_flat

    assert p.apply_fill(BUY, 100, 10.0, 1.0) == 0.0
    assert p.apply_fill(BUY, 100, 12.0, 1.0) == 0.0
    assert (p.quantity, p.avg_price) == (200.0, pytest.approx(11.0))  # (1000 + 1200) / 200

    # partial close: 50 * (13 - 11) = +100; the average price of the rest does not move
    assert p.apply_fill(SELL, 50, 13.0, 1.0) == pytest.approx(100.0)
    assert (p.quantity, p.avg_price) == (150.0, pytest.approx(11.0))

    # flip: closes 150 at 9 (150 * (9 - 11) = -300) and opens 50 short at 9
    assert p.apply_fill(SELL, 200, 9.0, 1.0) == pytest.approx(-300.0)
    assert p.side is PositionSide.SHORT
    assert (p.quantity, p.avg_price) == (-50.0, pytest.approx(9.0))

    # cover the short at 8: 50 * (9 - 8) = +50
    assert p.apply_fill(BUY, 50, 8.0, 1.0) == pytest.approx(50.0)
    assert p.is_flat and p.avg_price == 0.0
    assert p.commissions == pytest.approx(5.0)
    # realized is net of commissions: 100 - 300 + 50 - 5
    assert p.realized_pnl == pytest.approx(-155.0)


def test_short_add_and_partial_cover() -> None:
    p = Position("XYZ")
    p.apply_fill(SELL, 100, 50.0, 0.0)
    p.apply_fill(SELL, 300, 54.0, 0.0)
    assert p.quantity == -400.0
    assert p.avg_price == pytest.approx(53.0)  # (5000 + 16200) / 400
    assert p.unrealized_pnl(51.0) == pytest.approx(800.0)  # -400 * (51 - 53)
    assert p.market_value(51.0) == pytest.approx(-20_400.0)
    assert p.apply_fill(BUY, 100, 55.0, 0.0) == pytest.approx(-200.0)  # 100 * (53 - 55)
    assert (p.quantity, p.avg_price) == (-300.0, pytest.approx(53.0))
    assert p.unrealized_pnl(50.0) == pytest.approx(900.0)


def test_flip_from_short_to_long_opens_at_fill_price() -> None:
    p = Position("XYZ")
    p.apply_fill(SELL, 10, 20.0, 0.0)
    assert p.apply_fill(BUY, 25, 18.0, 0.5) == pytest.approx(20.0)  # 10 * (20 - 18)
    assert (p.quantity, p.avg_price) == (15.0, pytest.approx(18.0))
    assert p.realized_pnl == pytest.approx(19.5)
    assert p.unrealized_pnl(19.0) == pytest.approx(15.0)


def test_multiplier_scales_pnl_not_quantity() -> None:
    p = Position("ES", multiplier=50.0)
    p.apply_fill(BUY, 2, 4000.0, 2.0)
    assert p.unrealized_pnl(4010.0) == pytest.approx(2 * 10 * 50)
    assert p.market_value(4010.0) == pytest.approx(2 * 4010 * 50)
    assert p.apply_fill(SELL, 1, 4020.0, 2.0) == pytest.approx(1 * 20 * 50)
    assert p.realized_pnl == pytest.approx(1000.0 - 4.0)


@pytest.mark.parametrize(("quantity", "price"), [(0, 10.0), (-1, 10.0), (1, 0.0), (1, -2.0)])
def test_bad_fill_raises(quantity: float, price: float) -> None:
    p = Position("XYZ")
    with pytest.raises(ValueError):
        p.apply_fill(BUY, quantity, price, 0.0)
    assert p.is_flat and p.realized_pnl == 0.0
