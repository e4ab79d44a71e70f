"""The backtest loop (`_drive`): every item delivered once, in order; the GC policy gives objects back."""

from __future__ import annotations

import gc
import weakref

import pytest

from workbench.engine import backtest as bt
from workbench.engine.backtest import run_backtest
from workbench.engine.strategy import Strategy
from workbench.model.data import Bar

HOUR = 3_600_000_000_000


def bars(n: int = 250) -> list[Bar]:
    out = []
    for i in range(n):
        for k, symbol in enumerate(("AAA", "BBB")):
            price = 100.0 + k + (i % 11) - (i % 7)
            out.append(Bar(symbol, price, price + 1, price - 1, price, 1_000.0, i * HOUR, (i + 1) * HOUR))
    return out


class Recorder(Strategy):
    """Keeps the bars it sees and trades on a fixed pattern (so orders and events are retained)."""

    def on_start(self) -> None:
        self.seen: list[tuple[str, int]] = []

    def on_bar(self, bar: Bar) -> None:
        self.seen.append((bar.symbol, bar.ts_init))
        if len(self.seen) % 10 == 0:
            self.order_target_quantity(bar.symbol, 0 if self.position_quantity(bar.symbol) else 10)


class Cyclic(Recorder):
    """Makes a reference cycle on every bar and keeps only weak references to them."""

    class Node:
        pass

    def on_start(self) -> None:
        super().on_start()
        self.refs: list[weakref.ref] = []

    def on_bar(self, bar: Bar) -> None:
        super().on_bar(bar)
        node = self.Node()
        node.self = node  # type: ignore[attr-defined]
        self.refs.append(weakref.ref(node))


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bt, "DRIVE_BATCH", 7)  # many batches (and freezes) on a small run


@pytest.mark.usefixtures("small_batches")
@pytest.mark.parametrize("progress", [False, True])
def test_every_item_once_in_order_and_nothing_left_frozen(progress: bool) -> None:
    data = bars()
    strategy = Recorder()
    result = run_backtest(strategy, data, progress=progress)
    assert strategy.seen == [(b.symbol, b.ts_init) for b in data]
    assert result.data_count == len(data)
    assert len(result.orders) > 0
    assert gc.get_freeze_count() == 0


@pytest.mark.usefixtures("small_batches")
def test_same_result_with_and_without_the_gc_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    with_policy = run_backtest(Recorder(), bars(), progress=False)
    monkeypatch.setattr(bt.gc, "isenabled", lambda: False)  # the policy is skipped when GC is off
    without = run_backtest(Recorder(), bars(), progress=False)
    assert with_policy.events == without.events
    assert with_policy.equity_curve.equals(without.equity_curve)


@pytest.mark.usefixtures("small_batches")
def test_a_callers_frozen_objects_stay_frozen() -> None:
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        assert before > 0
        run_backtest(Recorder(), bars(50), progress=False)
        # not unfrozen (0) and nothing of the run added (objects frozen before may have been freed)
        assert 0 < gc.get_freeze_count() <= before
    finally:
        gc.unfreeze()


@pytest.mark.usefixtures("small_batches")
def test_cyclic_garbage_made_during_the_run_is_collected_after_it() -> None:
    strategy = Cyclic()
    run_backtest(strategy, bars(), progress=False)
    gc.collect()
    assert strategy.refs and all(r() is None for r in strategy.refs)


@pytest.mark.usefixtures("small_batches")
def test_objects_are_given_back_when_a_strategy_raises() -> None:
    class Boom(Recorder):
        def on_bar(self, bar: Bar) -> None:
            super().on_bar(bar)
            if len(self.seen) == 40:
                raise RuntimeError("strategy failed")

    with pytest.raises(RuntimeError, match="strategy failed"):
        run_backtest(Boom(), bars(), progress=False)
    assert gc.get_freeze_count() == 0


def test_backtest_without_broker_history_gives_the_same_result() -> None:
    # run_backtest drops the simulated broker's copy of closed orders/fills and the ledger entries
    lean = run_backtest(Recorder(), bars(), progress=False)
    full = run_backtest(Recorder(), bars(), progress=False, keep_history=True)
    assert len(lean.fills) > 10
    assert lean.events == full.events
    for name in ("orders", "fills", "trades", "positions", "equity_curve"):
        assert getattr(lean, name).equals(getattr(full, name)), name
    broker = lean.engine.broker
    assert broker.fills == []
    assert [r.order_id for r in broker.order_status_reports()] == broker.open_order_ids()  # open ones only
    assert [e.kind for e in lean.engine.portfolio.ledger.entries] == ["deposit"]  # the starting cash only
    assert [f.fill_id for f in full.engine.broker.fills] == full.fills["fill_id"].tolist()
    assert sum(e.amount for e in full.engine.portfolio.ledger.entries) == pytest.approx(full.engine.portfolio.cash)
