"""Performance analytics: metrics (sources cited), summary table, tearsheet.

Modules: :mod:`~workbench.analytics.timeseries` (equity curve -> daily returns, exchange dates),
:mod:`~workbench.analytics.metrics` (return, risk, drawdown and benchmark-relative metrics
on a return series, and :func:`summary` of a run), :mod:`~workbench.analytics.periodic` (rolling
and calendar-period views), :mod:`~workbench.analytics.trade_metrics` (win rate, profit factor,
expectancy, exposure, turnover, P&L tables), :mod:`~workbench.analytics.benchmark` (shipped SPY
benchmark, alignment) and
:mod:`~workbench.analytics.tearsheet` (plotly figures, standalone HTML),
:mod:`~workbench.analytics.report` (daily report of a journaled session, ``workbench report``),
:mod:`~workbench.analytics.compare` (backtest vs live on the session's recorded data) and
:mod:`~workbench.analytics.tca` (transaction cost analysis).

The package-level name ``tearsheet`` is the function (as ``summary`` is in
:mod:`~workbench.analytics.metrics`); import module contents with
``from workbench.analytics.tearsheet import equity_figure``.
"""

from workbench.analytics.benchmark import align_benchmark_returns, benchmark_prices, load_benchmark_prices
from workbench.analytics.compare import Comparison, compare_runs, compare_session
from workbench.analytics.metrics import (
    SUMMARY_UNITS,
    TRADING_DAYS_PER_YEAR,
    alpha_beta,
    annualized_volatility,
    cagr,
    calmar_ratio,
    downside_deviation,
    drawdown_periods,
    information_ratio,
    longest_drawdown_duration,
    max_drawdown,
    max_drawdown_duration,
    sharpe_ratio,
    sortino_ratio,
    summary,
    summary_table,
    total_return,
    tracking_error,
    underwater,
)
from workbench.analytics.periodic import monthly_returns_table, period_returns, rolling_sharpe, rolling_volatility
from workbench.analytics.report import DailyReport, daily_report
from workbench.analytics.tca import TransactionCosts, session_tca, transaction_costs
from workbench.analytics.tearsheet import Tearsheet, tearsheet
from workbench.analytics.timeseries import EXCHANGE_TIMEZONE, daily_last, equity_series, returns_from_equity
from workbench.analytics.trade_metrics import (
    average_loss,
    average_win,
    expectancy,
    exposure_time,
    pnl_table,
    profit_factor,
    trade_count,
    traded_notional,
    trades_per_year,
    turnover,
    win_rate,
    years_spanned,
)

__all__ = [
    "Comparison",
    "DailyReport",
    "EXCHANGE_TIMEZONE",
    "SUMMARY_UNITS",
    "TRADING_DAYS_PER_YEAR",
    "Tearsheet",
    "TransactionCosts",
    "align_benchmark_returns",
    "alpha_beta",
    "annualized_volatility",
    "average_loss",
    "average_win",
    "benchmark_prices",
    "cagr",
    "calmar_ratio",
    "compare_runs",
    "compare_session",
    "daily_report",
    "daily_last",
    "downside_deviation",
    "drawdown_periods",
    "equity_series",
    "expectancy",
    "exposure_time",
    "information_ratio",
    "load_benchmark_prices",
    "longest_drawdown_duration",
    "max_drawdown",
    "max_drawdown_duration",
    "monthly_returns_table",
    "period_returns",
    "pnl_table",
    "profit_factor",
    "returns_from_equity",
    "session_tca",
    "rolling_sharpe",
    "rolling_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "summary",
    "summary_table",
    "tearsheet",
    "total_return",
    "trade_count",
    "traded_notional",
    "trades_per_year",
    "transaction_costs",
    "tracking_error",
    "turnover",
    "underwater",
    "win_rate",
    "years_spanned",
]
