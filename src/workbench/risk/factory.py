"""Build a :class:`RiskEngine` and an :class:`AlertManager` from a :class:`RiskConfig`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from workbench.alerts.rules import AlertManager
from workbench.alerts.sinks import AppriseSink, LogSink
from workbench.errors import ConfigError
from workbench.risk import breakers as br
from workbench.risk import portfolio_rules as pr
from workbench.risk import rules as r
from workbench.risk.config import RiskConfig, load_risk_config
from workbench.risk.engine import RiskEngine
from workbench.risk.history import PriceHistory
from workbench.risk.market_rules import CorrelationLimit, TradingHours


def _config(config: RiskConfig | Mapping[str, Any] | str | os.PathLike[str] | None) -> RiskConfig:
    return config if isinstance(config, RiskConfig) else load_risk_config(config)


def build_pre_trade_rules(config: RiskConfig, history: PriceHistory | None = None) -> list[Any]:
    """The enabled pre-trade rules of ``config``, in the order of :class:`PreTradeConfig`."""
    p = config.pre_trade
    out: list[Any] = []
    if p.trading_hours.enabled:
        h = p.trading_hours
        out.append(TradingHours(h.allow_pre_market, h.allow_post_market, h.pre_market_minutes, h.post_market_minutes))
    if p.restricted_symbols.enabled and p.restricted_symbols.symbols:
        out.append(r.RestrictedSymbols(p.restricted_symbols.symbols, p.restricted_symbols.allow_reducing))
    if p.short_selling.enabled and not p.short_selling.allowed:
        out.append(r.ShortSelling())
    simple = (
        (p.max_order_quantity, r.MaxOrderQuantity, "limit"),
        (p.max_order_notional, r.MaxOrderNotional, "limit"),
        (p.price_band, r.PriceBand, "percent"),
        (p.max_position_quantity, r.MaxPositionQuantity, "limit"),
        (p.max_position_notional, r.MaxPositionNotional, "limit"),
        (p.max_position_percent_equity, r.MaxPositionPercentOfEquity, "percent"),
        (p.max_open_positions, r.MaxOpenPositions, "limit"),
        (p.max_gross_exposure, r.MaxGrossExposure, "limit"),
        (p.max_net_exposure, r.MaxNetExposure, "limit"),
        (p.buying_power, r.BuyingPower, "leverage"),
    )
    out += [cls(getattr(c, field)) for c, cls, field in simple if c.enabled]
    if p.min_cash_reserve.enabled and (p.min_cash_reserve.amount or p.min_cash_reserve.percent):
        out.append(r.MinCashReserve(p.min_cash_reserve.amount, p.min_cash_reserve.percent))
    if p.sector_exposure.enabled:
        s = p.sector_exposure
        out.append(r.SectorExposure(s.sectors, s.limit, s.percent))
    if p.correlation_limit.enabled:
        c = p.correlation_limit
        if history is None:
            raise ValueError("correlation_limit needs a PriceHistory")
        out.append(CorrelationLimit(c.max_correlation, history, c.window, c.min_observations))
    if p.max_order_rate.enabled:
        m = p.max_order_rate
        out.append(r.MaxOrderRate(m.per_second, m.per_symbol, m.window_seconds))
    return out


def build_monitors(config: RiskConfig, history: PriceHistory | None = None) -> list[Any]:
    """The enabled portfolio rules and circuit breakers of ``config`` (``history`` first when given)."""
    pc, bc = config.portfolio, config.breakers
    out: list[Any] = [history] if history is not None else []
    d = pc.daily_loss
    if d.enabled:
        out.append(pr.DailyLossLimit(d.limit, d.percent, config.exchange, d.action, d.reduce_fraction))
    if pc.max_drawdown.enabled:
        m = pc.max_drawdown
        out.append(pr.MaxDrawdown(m.percent, m.action, m.reduce_fraction))
    if pc.heat.enabled:
        h = pc.heat
        out.append(pr.PortfolioHeat(h.percent, h.default_stop_percent, h.action, h.reduce_fraction))
    if pc.value_at_risk.enabled:
        v = pc.value_at_risk
        out.append(pr.ValueAtRisk(v.percent, v.confidence, v.horizon_days, v.method, history, v.min_observations,
                                  v.action, v.reduce_fraction))
    if bc.volatility_spike.enabled:
        v2 = bc.volatility_spike
        out.append(br.VolatilitySpike(v2.threshold, v2.period, v2.annualization, v2.action))
    if bc.stale_data.enabled:
        s = bc.stale_data
        out.append(br.StaleData(s.max_age_seconds, s.symbols, config.exchange, s.market_hours_only,
                                s.check_interval_seconds, s.action))
    if bc.broker_disconnect.enabled:
        d = bc.broker_disconnect
        out.append(br.BrokerDisconnect(d.kinds, d.max_disconnect_seconds, d.action, d.components))
    if bc.reject_streak.enabled:
        out.append(br.RejectStreak(bc.reject_streak.count, bc.reject_streak.action))
    return out


def build_risk_engine(config: RiskConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None) -> RiskEngine:
    """A :class:`RiskEngine` with every rule, portfolio rule and breaker ``config`` enables.

    Parameters
    ----------
    config : RiskConfig | Mapping | str | PathLike | None
        A validated config, a mapping, a YAML file path or text (see :func:`load_risk_config`);
        None = the defaults.

    Raises
    ------
    ConfigError
        If the config is invalid (the message names the key path).
    """
    cfg = _config(config)
    needs_history = cfg.pre_trade.correlation_limit.enabled or cfg.portfolio.value_at_risk.enabled
    history = PriceHistory(cfg.portfolio.value_at_risk.window, cfg.exchange) if needs_history else None
    engine = RiskEngine(build_pre_trade_rules(cfg, history), build_monitors(cfg, history))
    engine.config = cfg
    return engine


def build_alert_manager(
    config: RiskConfig | Mapping[str, Any] | str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> AlertManager | None:
    """An :class:`AlertManager` with a log sink and one apprise sink per route (None when disabled).

    Route URLs are read from the environment variables each route names in ``url_env``.

    Raises
    ------
    ConfigError
        If a named environment variable is unset or empty, or apprise rejects its URL.
    """
    cfg = _config(config).alerts
    if not cfg.enabled:
        return None
    env = os.environ if environ is None else environ
    sinks: list[Any] = [LogSink()] if cfg.log else []
    for i, route in enumerate(cfg.routes):
        urls = []
        for name in route.url_env:
            value = env.get(name, "")
            if not value:
                raise ConfigError(f"risk.alerts.routes[{i}].url_env: environment variable {name!r} "
                                  f"(route {route.name!r}) is not set")
            urls.append(value)
        try:
            sinks.append(AppriseSink(urls, route.levels, route.events))
        except ValueError as exc:
            raise ConfigError(f"risk.alerts.routes[{i}] ({route.name!r}): {exc}") from None
    try:
        return AlertManager(sinks, events=cfg.events, min_level=cfg.min_level, dedupe_seconds=cfg.dedupe_seconds,
                            max_alerts=cfg.max_alerts, per_seconds=cfg.per_seconds)
    except ValueError as exc:
        raise ConfigError(f"risk.alerts.events: {exc}") from None
