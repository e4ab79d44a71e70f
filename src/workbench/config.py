"""Workbench configuration: frozen pydantic models loaded from YAML plus the environment.

A config file has these sections (every key optional; see ``sample_config/paper.yaml``)::

    mode: paper            # backtest | paper | live
    session: {strategy: sma_crossover, params: {fast: 10}, data: demo, speed: 3000, starting_cash: 100000}
    journal: {url: sqlite:///workbench_data/journal.sqlite, synchronous: NORMAL}   # live: FULL (NORMAL refused)
    broker: {slippage_bps: 0, commission: {kind: per_share, rate: 0.005, minimum: 1.0}, allow_short: true}
    risk: {...}            # see workbench.risk.config
    graduation: {min_days: 20, min_sharpe: 1.0, ...}   # see workbench.operations.graduation

Errors name the path of the bad key (``session.speed: Input should be greater than 0``).

Safety: ``mode: live`` is refused unless the environment variable ``WORKBENCH_CONFIRM_LIVE`` is
``yes`` (or the caller passes ``confirm_live=True`` from an explicit command-line flag). Secrets
never live in the file: a key ending in ``_env`` names the environment variable that holds it, and
:func:`load_config` also reads a git-ignored ``.env`` next to the config file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from workbench.errors import ConfigError
from workbench.operations.graduation import GraduationCriteria
from workbench.risk.config import RiskConfig

LIVE_CONFIRM_ENV = "WORKBENCH_CONFIRM_LIVE"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SessionConfig(_Model):
    strategy: str = "sma_crossover"
    params: dict[str, Any] = {}
    data: str = "demo"
    speed: float | None = Field(3000.0, gt=0, description="multiple of real time; null = as fast as possible")
    starting_cash: float = Field(100_000.0, gt=0, description="currency")
    regular_hours: bool = True


class JournalConfig(_Model):
    url: str | None = Field(None, description="SQLAlchemy URL or path; default $WORKBENCH_JOURNAL or "
                            "workbench_data/journal.sqlite")
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"


class CommissionConfig(_Model):
    kind: Literal["zero", "per_share", "percent"] = "zero"
    rate: float = Field(0.005, ge=0, description="per_share: currency per share")
    minimum: float = Field(1.0, ge=0, description="currency per fill")
    maximum_pct: float | None = Field(1.0, gt=0, description="per_share cap, percent of notional")
    bps: float = Field(1.0, ge=0, description="percent: basis points of notional")


class BrokerConfig(_Model):
    kind: Literal["simulated", "ibkr", "alpaca"] = "simulated"
    slippage_bps: float = Field(0.0, ge=0)
    slippage_ticks: float = Field(0.0, ge=0)
    max_volume_participation: float | None = Field(None, gt=0, le=1)
    commission: CommissionConfig = CommissionConfig()
    allow_short: bool = True
    leverage: float = Field(1.0, gt=0)


class WorkbenchConfig(_Model):
    mode: Literal["backtest", "paper", "live"] = "paper"
    session: SessionConfig = SessionConfig()
    journal: JournalConfig = JournalConfig()
    broker: BrokerConfig = BrokerConfig()
    risk: RiskConfig = RiskConfig()
    ibkr: dict[str, Any] | None = Field(None, description="IB connection settings (workbench.adapters.ibkr.config)")
    alpaca: dict[str, Any] | None = Field(None, description="Alpaca settings without keys (workbench.adapters.alpaca"
                                          ".config: paper, feed, URLs); keys come from the environment / .env")
    graduation: GraduationCriteria = GraduationCriteria()

    @model_validator(mode="before")
    @classmethod
    def _live_defaults_to_full(cls, data: Any) -> Any:
        """``journal.synchronous`` defaults to FULL for ``mode: live`` (NORMAL otherwise)."""
        if isinstance(data, Mapping) and data.get("mode") == "live":
            journal = data.get("journal")
            if journal is None or (isinstance(journal, Mapping) and "synchronous" not in journal):
                data = {**data, "journal": {**(journal or {}), "synchronous": "FULL"}}
        return data

    @model_validator(mode="after")
    def _durable_live_journal(self) -> WorkbenchConfig:
        """Live sessions need a journal that survives power loss: SQLite ``synchronous=FULL`` or PostgreSQL."""
        url = self.journal.url or os.environ.get("WORKBENCH_JOURNAL") or "sqlite"
        if self.mode == "live" and self.journal.synchronous != "FULL" and not url.startswith("postgresql"):
            raise ValueError("mode: live needs journal.synchronous: FULL on SQLite (NORMAL can lose acknowledged "
                             "events on power loss) or a PostgreSQL journal URL")
        return self

    def fill_model(self) -> Any:
        from workbench.brokers.fills import FillModel, SlippageModel

        b = self.broker
        return FillModel(SlippageModel(b.slippage_bps, b.slippage_ticks), b.max_volume_participation)

    def commission_model(self) -> Any:
        from workbench.brokers.fills import PercentCommission, PerShareCommission, ZeroCommission

        c = self.broker.commission
        if c.kind == "per_share":
            return PerShareCommission(c.rate, c.minimum, c.maximum_pct)
        if c.kind == "percent":
            return PercentCommission(c.bps, c.minimum)
        return ZeroCommission()


def format_validation_error(exc: ValidationError, root: str = "", where: str = "", what: str = "config") -> ConfigError:
    """A ConfigError listing each bad key by its dotted path (``root.a.b[0].c: message (got x)``)."""
    lines = []
    for err in exc.errors():
        parts = [root] if root else []
        parts += [f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"]]
        loc = ".".join(parts).replace(".[", "[")
        got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
        lines.append(f"{loc}: {err['msg']}{got}")
    return ConfigError(f"{where}invalid {what}: " + "; ".join(lines))


def _read_dotenv(path: Path) -> None:
    """Load KEY=VALUE lines of a .env file into os.environ (existing variables win)."""
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        os.environ.setdefault(key.strip(), value.strip().strip("'\""))


def load_config(
    source: str | os.PathLike[str] | Mapping[str, Any] | None = None, *, confirm_live: bool = False
) -> WorkbenchConfig:
    """Load and validate a config from a YAML file, a mapping, or None (defaults).

    Raises
    ------
    ConfigError
        Unreadable file, bad YAML, an unknown or invalid key (the message gives its path), or
        ``mode: live`` without the explicit confirmation.
    """
    where = ""
    if source is None:
        data: Any = {}
    elif isinstance(source, Mapping):
        data = dict(source)
    else:
        import yaml

        path = Path(source)
        where = f"{path}: "
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}cannot read config: {exc}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{where}not valid YAML: {exc}") from None
        if data is None:
            raise ConfigError(f"{where}the config file is empty; write the keys to change (e.g. 'mode: paper' "
                              "alone runs on every default)")
        _read_dotenv(path.parent / ".env")
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}expected a mapping at the top level, got {type(data).__name__}")
    try:
        config = WorkbenchConfig.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(exc, where=where) from None
    if config.mode == "live" and not (confirm_live or os.environ.get(LIVE_CONFIRM_ENV, "").lower() == "yes"):
        raise ConfigError(
            f"{where}mode: live needs an explicit opt-in: set {LIVE_CONFIRM_ENV}=yes or pass --confirm-live "
            "(the default is always simulated)"
        )
    return config
