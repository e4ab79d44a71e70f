"""Risk configuration: limits, circuit breakers and alert routes, validated by pydantic.

The ``risk:`` section of a YAML config (see ``workbench/sample_config/risk.yaml`` for every key
with its default and unit). Every rule has ``enabled``; amounts are in the account currency,
quantities in shares, percentages as fractions (0.05 = 5%), times in seconds. Unknown keys are
errors. :func:`load_risk_config` raises :class:`~workbench.errors.ConfigError` naming the path of
the bad key, e.g. ``risk.pre_trade.max_order_quantity.limit: Input should be greater than 0 (got -5)``.

Secrets (alert channel URLs hold tokens) are never in the file: a route lists the *names* of
environment variables holding apprise URLs (``url_env``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from workbench.alerts.rules import AlertLevel
from workbench.errors import ConfigError
from workbench.risk.engine import BreachAction


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Rule(_Model):
    enabled: bool = True


class QuantityLimit(_Rule):
    limit: float = Field(10_000, gt=0, description="shares")


class NotionalLimit(_Rule):
    limit: float = Field(250_000, gt=0, description="currency")


class PercentLimit(_Rule):
    percent: float = Field(1.0, gt=0, description="fraction of equity")


class CountLimit(_Rule):
    limit: int = Field(50, gt=0)


class BuyingPowerConfig(_Rule):
    leverage: float = Field(1.0, gt=0)


class CashReserveConfig(_Rule):
    amount: float = Field(0.0, ge=0)
    percent: float = Field(0.0, ge=0, le=1, description="of equity")


class PriceBandConfig(_Rule):
    percent: float = Field(0.05, gt=0)


class OrderRateConfig(_Rule):
    per_second: float | None = Field(10.0, gt=0)
    per_symbol: float | None = Field(5.0, gt=0)
    window_seconds: float = Field(1.0, gt=0)


class TradingHoursConfig(_Rule):
    allow_pre_market: bool = False
    allow_post_market: bool = False
    pre_market_minutes: int = Field(330, ge=0)
    post_market_minutes: int = Field(240, ge=0)


class RestrictedConfig(_Rule):
    symbols: list[str] = []
    allow_reducing: bool = True


class ShortSellingConfig(_Rule):
    allowed: bool = True


class SectorConfig(_Rule):
    enabled: bool = False
    sectors: dict[str, str] = {}
    limit: float | None = Field(None, gt=0)
    percent: float | None = Field(0.4, gt=0)


class CorrelationConfig(_Rule):
    enabled: bool = False
    max_correlation: float = Field(0.8, gt=-1, le=1)
    window: int = Field(60, ge=3)
    min_observations: int = Field(20, ge=3)


class PreTradeConfig(_Model):
    """Pre-trade rules (see :mod:`workbench.risk.rules`), checked in this order."""

    trading_hours: TradingHoursConfig = TradingHoursConfig()
    restricted_symbols: RestrictedConfig = RestrictedConfig()
    short_selling: ShortSellingConfig = ShortSellingConfig()
    max_order_quantity: QuantityLimit = QuantityLimit()
    max_order_notional: NotionalLimit = NotionalLimit(limit=100_000)
    price_band: PriceBandConfig = PriceBandConfig()
    max_position_quantity: QuantityLimit = QuantityLimit(enabled=False, limit=50_000)
    max_position_notional: NotionalLimit = NotionalLimit()
    max_position_percent_equity: PercentLimit = PercentLimit()
    max_open_positions: CountLimit = CountLimit()
    max_gross_exposure: NotionalLimit = NotionalLimit(limit=1_000_000)
    max_net_exposure: NotionalLimit = NotionalLimit(limit=1_000_000)
    buying_power: BuyingPowerConfig = BuyingPowerConfig()
    min_cash_reserve: CashReserveConfig = CashReserveConfig()
    sector_exposure: SectorConfig = SectorConfig()
    correlation_limit: CorrelationConfig = CorrelationConfig()
    max_order_rate: OrderRateConfig = OrderRateConfig()

    @model_validator(mode="after")
    def _sector_limit(self) -> PreTradeConfig:
        s = self.sector_exposure
        if s.enabled and s.limit is None and s.percent is None:
            raise ValueError("sector_exposure needs limit or percent")
        return self


class _Monitor(_Rule):
    action: BreachAction = BreachAction.REDUCE_ONLY
    reduce_fraction: float = Field(0.0, ge=0, le=1, description="cut every position by this fraction on breach")


class DailyLossConfig(_Monitor):
    limit: float | None = Field(None, gt=0, description="currency")
    percent: float | None = Field(0.03, gt=0, le=1, description="of start-of-day equity")

    @model_validator(mode="after")
    def _one(self) -> DailyLossConfig:
        if self.limit is None and self.percent is None:
            raise ValueError("daily_loss needs limit or percent")
        return self


class DrawdownConfig(_Monitor):
    action: BreachAction = BreachAction.HALT
    percent: float = Field(0.15, gt=0, le=1)


class HeatConfig(_Monitor):
    enabled: bool = False
    percent: float = Field(0.06, gt=0)
    default_stop_percent: float | None = Field(None, gt=0, le=1)


class VarConfig(_Monitor):
    enabled: bool = False
    percent: float = Field(0.05, gt=0, description="VaR limit as a fraction of equity")
    confidence: float = Field(0.99, gt=0, lt=1)
    horizon_days: float = Field(1.0, gt=0)
    method: Literal["historical", "parametric"] = "historical"
    window: int = Field(250, ge=2, description="daily returns kept")
    min_observations: int = Field(20, ge=2)


class PortfolioConfig(_Model):
    daily_loss: DailyLossConfig = DailyLossConfig()
    max_drawdown: DrawdownConfig = DrawdownConfig()
    heat: HeatConfig = HeatConfig()
    value_at_risk: VarConfig = VarConfig()


class _Breaker(_Rule):
    action: BreachAction = BreachAction.HALT


class VolatilityConfig(_Breaker):
    enabled: bool = False
    threshold: float = Field(0.05, gt=0, description="per bar, or annualized when annualization is set")
    period: int = Field(20, ge=2)
    annualization: float | None = Field(None, gt=0)


class StaleDataConfig(_Breaker):
    enabled: bool = False
    max_age_seconds: float = Field(300.0, gt=0)
    symbols: list[str] | None = None
    market_hours_only: bool = True
    check_interval_seconds: float | None = Field(None, gt=0)


class DisconnectConfig(_Breaker):
    """Broker-disconnect breaker (:mod:`workbench.risk.disconnect`): hold new orders while a watched
    connection is down, resume after reconnect (+ reconciliation), ``action`` after the limit."""

    kinds: list[Literal["execution", "data"]] = ["execution", "data"]
    max_disconnect_seconds: float = Field(300.0, gt=0, description="outage that escalates to `action`")
    components: list[str] = Field([], description="extra component names watched (exact)")


class RejectStreakConfig(_Breaker):
    count: int = Field(5, ge=1)


class BreakersConfig(_Model):
    volatility_spike: VolatilityConfig = VolatilityConfig()
    stale_data: StaleDataConfig = StaleDataConfig()
    broker_disconnect: DisconnectConfig = DisconnectConfig()
    reject_streak: RejectStreakConfig = RejectStreakConfig()


class AlertRouteConfig(_Model):
    """One destination: apprise URLs read from the environment variables named in ``url_env``."""

    name: str
    url_env: list[str] = Field(min_length=1)
    levels: list[AlertLevel] | None = None
    events: list[str] | None = None


class AlertsConfig(_Model):
    enabled: bool = True
    log: bool = True
    events: list[str] | None = None
    min_level: AlertLevel = AlertLevel.INFO
    dedupe_seconds: float = Field(60.0, ge=0)
    max_alerts: int = Field(30, ge=1)
    per_seconds: float = Field(60.0, gt=0)
    routes: list[AlertRouteConfig] = []


class RiskConfig(_Model):
    """The ``risk:`` section."""

    exchange: str = "XNYS"
    pre_trade: PreTradeConfig = PreTradeConfig()
    portfolio: PortfolioConfig = PortfolioConfig()
    breakers: BreakersConfig = BreakersConfig()
    alerts: AlertsConfig = AlertsConfig()


def _error(exc: ValidationError, root: str, where: str) -> ConfigError:
    from workbench.config import format_validation_error  # workbench.config imports this module

    return format_validation_error(exc, root, where, what="risk config")


def load_risk_config(source: str | os.PathLike[str] | Mapping[str, Any] | None = None, *, root: str = "risk") -> RiskConfig:
    """Validate a risk config from a YAML file, a YAML string or a mapping.

    A mapping (or file) with a top-level ``risk`` key uses that section. None gives the defaults.

    Raises
    ------
    ConfigError
        If the file is missing or not YAML, or a key is unknown or invalid; the message gives the
        path of each bad key (``risk.portfolio.daily_loss.percent: ...``).
    """
    where = ""
    if source is None:
        data: Any = {}
    elif isinstance(source, Mapping):
        data = source
    else:
        import yaml

        text = str(source)
        path = Path(text)
        try:
            if isinstance(source, os.PathLike) or (len(text) < 4096 and "\n" not in text and path.suffix in (".yaml", ".yml")):
                where = f"{path}: "
                text = path.read_text()
            data = yaml.safe_load(text) or {}
        except OSError as exc:
            raise ConfigError(f"{where}cannot read risk config: {exc}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{where}not valid YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}{root}: expected a mapping, got {type(data).__name__}")
    if root in data:
        data = data[root] or {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}{root}: expected a mapping, got {type(data).__name__}")
    try:
        return RiskConfig.model_validate(data)
    except ValidationError as exc:
        raise _error(exc, root, where) from None
