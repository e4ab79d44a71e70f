"""Run a scan: factors -> composite score -> filters -> ranking -> selection; and what changed.

A scan ranks every symbol of the universe with data on the scan date by its composite score (see
:mod:`.score`); symbols that a filter refuses keep their score but get no rank and the refusal as
``reason``; the ``top`` best ranked with a score of at least ``min_score`` are ``selected``.

The ranked table (``ScanResult.table``, one row per symbol, sorted by rank then score) has the
columns: one per factor (raw value), ``contribution_<factor>`` per weighted factor (weight x
z-score), ``score``, ``rank`` (1 = best, NaN = refused or not scorable), ``passed``, ``reason``,
``selected``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from workbench.errors import ConfigError, DataError
from workbench.scanning.factors import Factor, make_factor
from workbench.scanning.filters import Filter, ScanContext, make_filter
from workbench.scanning.panel import Panel
from workbench.scanning.score import score_arrays
from workbench.scanning.universe import Universe

__all__ = ["DEFAULT_FACTORS", "DEFAULT_WEIGHTS", "ScanConfig", "ScanResult", "Scanner", "detect_changes"]

DEFAULT_FACTORS: dict[str, dict[str, Any]] = {
    "momentum_126": {"factor": "momentum", "lookback": 126, "skip": 5},
    "momentum_63": {"factor": "momentum", "lookback": 63},
    "relative_strength_63": {"factor": "relative_strength", "benchmark": "SPY", "lookback": 63},
    "volatility_20": {"factor": "volatility", "window": 20},
    "atr_14": {"factor": "atr", "period": 14},
    "rsi_14": {"factor": "rsi", "period": 14},
    "volume_surge_20": {"factor": "volume_surge", "window": 20},
    "gap": {"factor": "gap"},
    "distance_from_ma_50": {"factor": "distance_from_ma", "window": 50},
}
DEFAULT_WEIGHTS: dict[str, float] = {"momentum_126": 1.0, "momentum_63": 0.5, "relative_strength_63": 0.5,
                                     "volatility_20": -0.5, "distance_from_ma_50": 0.25}
DEFAULT_FILTERS: list[dict[str, Any]] = [
    {"filter": "regime", "benchmark": "SPY", "moving_average": 200},
    {"filter": "liquidity", "min_price": 5.0, "min_dollar_volume": 1e6, "window": 20},
]


class ScanConfig(BaseModel):
    """A scan's definition (YAML-friendly).

    ``history`` is how many sessions before the scan date the factors see (enough for the longest
    look-back: Wilder-smoothed factors start at the window's first session, so a window shorter
    than ~10x their period changes their value slightly).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "default"
    factors: dict[str, dict[str, Any]] = Field(default_factory=lambda: dict(DEFAULT_FACTORS))
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    filters: list[dict[str, Any]] = Field(default_factory=lambda: [dict(f) for f in DEFAULT_FILTERS])
    top: int = Field(3, ge=1)
    min_score: float | None = None
    winsor: float | None = Field(3.0, gt=0)
    history: int = Field(300, ge=2)
    exclude: tuple[str, ...] = ("SPY",)

    @field_validator("weights")
    @classmethod
    def _finite(cls, weights: dict[str, float]) -> dict[str, float]:
        for name, w in weights.items():
            if not np.isfinite(w):
                raise ValueError(f"weight of {name!r} is not finite: {w!r}")
        return weights

    def build(self) -> tuple[list[Factor], list[Filter]]:
        """The factor and filter objects.

        Raises
        ------
        ConfigError
            Unknown factor or filter, bad parameter, or a weight for a factor not in ``factors``.
        """
        unknown = [n for n in self.weights if n not in self.factors]
        if unknown:
            raise ConfigError(f"weights: unknown factor(s) {unknown}; configured factors: {sorted(self.factors)}")
        factors = [make_factor(name, spec) for name, spec in self.factors.items()]
        filters = [make_filter(spec, i) for i, spec in enumerate(self.filters)]
        return factors, filters

    def fingerprint(self) -> str:
        """A short hash of the definition (in the scan id, so differently configured scans differ)."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:8]


@dataclass(frozen=True)
class ScanResult:
    """One scan: when, over what, the ranked table (see the module docstring), the selection."""

    scan_id: str
    name: str
    date: pd.Timestamp
    as_of_ns: int
    table: pd.DataFrame
    factor_names: tuple[str, ...]

    @property
    def selected(self) -> list[str]:
        return list(self.table.index[self.table["selected"]])

    @property
    def ranked(self) -> pd.DataFrame:
        """Rows with a rank, best first."""
        return self.table[self.table["rank"].notna()]

    def records(self) -> list[dict[str, Any]]:
        """The table as JSON-ready rows (what the journal keeps): NaN becomes None."""
        return frame_records(self.table, "symbol")


class Scanner:
    """Runs a :class:`ScanConfig` over a universe; build once, call :meth:`run` per scan.

    Raises
    ------
    ConfigError
        From the constructor, as :meth:`ScanConfig.build`.
    """

    def __init__(self, config: ScanConfig | None = None, universe: Universe | Sequence[str] | None = None) -> None:
        self.config = config or ScanConfig()
        self.factors, self.filters = self.config.build()
        self._fingerprint = self.config.fingerprint()
        self.universe = universe if isinstance(universe, Universe) or universe is None else Universe.of(universe)

    def run(self, panel: Panel, *, as_of_ns: int | None = None, date: str | pd.Timestamp | None = None,
            held: Sequence[str] = (), spreads_bps: Mapping[str, float] | None = None) -> ScanResult:
        """Scan ``panel`` as known at ``as_of_ns`` (or up to session ``date``; default: all of it).

        Raises
        ------
        DataError
            A universe symbol without data, or no session before the scan time.
        ConfigError
            A factor or filter's benchmark missing from the panel.
        """
        cfg = self.config
        if self.universe is not None:
            self.universe.check(panel.symbols)
        cut = panel.as_of(as_of_ns) if as_of_ns is not None else panel.until(date) if date is not None else panel
        if not len(cut):
            raise DataError(f"scan {cfg.name!r}: no session of data before the scan time")
        window = cut.tail(cfg.history)
        columns = {s: i for i, s in enumerate(window.symbols)}
        names = [s for s in (self.universe or window.symbols) if s not in cfg.exclude]
        take = np.array([columns[s] for s in names], dtype=np.int64)
        raw = {f.name: f.latest(window)[take] for f in self.factors}
        weighted = [n for n, w in cfg.weights.items() if w != 0]
        score, contributions = score_arrays(np.column_stack([raw[n] for n in weighted]) if weighted
                                            else np.zeros((len(names), 0)),
                                            np.array([cfg.weights[n] for n in weighted], dtype=float), winsor=cfg.winsor)
        if not weighted:
            score = np.full(len(names), np.nan)
        context = ScanContext(window, names, tuple(held), dict(spreads_bps or {}))
        reasons = ["" if np.isfinite(x) else "no score: a weighted factor is missing (history or no bar on the date)"
                   for x in score]
        for flt in self.filters:
            refused = flt.reasons(context).to_dict()
            reasons = [r or refused.get(s, "") for r, s in zip(reasons, names)]
        passed = np.array([not r for r in reasons], dtype=bool)
        order = sorted((i for i in range(len(names)) if passed[i]), key=lambda i: (-score[i], names[i]))
        rank = np.full(len(names), np.nan)
        rank[order] = np.arange(1, len(order) + 1, dtype=float)
        eligible = passed if cfg.min_score is None else passed & (score >= cfg.min_score)
        columns_out: dict[str, Any] = dict(raw)
        for j, n in enumerate(weighted):
            columns_out[f"contribution_{n}"] = contributions[:, j]
        columns_out.update(score=score, rank=rank, passed=passed, reason=reasons,
                           selected=eligible & (rank <= cfg.top))
        sort = np.lexsort((-np.nan_to_num(score, nan=-np.inf), np.nan_to_num(rank, nan=np.inf)))
        table = pd.DataFrame({k: np.asarray(v, dtype=object if k == "reason" else None)[sort]
                              for k, v in columns_out.items()}, index=pd.Index(np.asarray(names, dtype=object)[sort]))
        known = int(window.known_ns[-1]) if len(window.known_ns) else 0
        at = as_of_ns if as_of_ns is not None else known
        return ScanResult(_scan_id(cfg.name, at, self._fingerprint), cfg.name, window.dates[-1], int(at), table,
                          tuple(raw))

    def relabel(self, result: ScanResult, as_of_ns: int) -> ScanResult:
        """``result`` as a scan at ``as_of_ns`` (same table): for a scan time with no new data since."""
        return ScanResult(_scan_id(self.config.name, as_of_ns, self._fingerprint), result.name, result.date,
                          int(as_of_ns), result.table, result.factor_names)


def _scan_id(name: str, at_ns: int, fingerprint: str) -> str:
    return f"{name}-{pd.Timestamp(at_ns, tz='UTC').strftime('%Y%m%dT%H%M%S')}-{fingerprint}"


def frame_records(frame: pd.DataFrame, index_name: str) -> list[dict[str, Any]]:
    """Rows of ``frame`` as plain JSON-ready dicts (index as ``index_name``; NaN -> None)."""
    keys = [index_name, *map(str, frame.columns)]
    columns = [frame.index.tolist(), *(frame[c].tolist() for c in frame.columns)]
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in zip(keys, row)}
            for row in zip(*columns)]


def detect_changes(previous: ScanResult | pd.DataFrame | None, current: ScanResult | pd.DataFrame) -> pd.DataFrame:
    """What changed between two scans (tables or results), one row per symbol in either selection
    or ranking.

    Columns: ``change`` (``new``: selected now, not before; ``dropped``: selected before, not now;
    ``up`` / ``down`` / ``unchanged``: rank move of a symbol ranked in both; ``ranked`` / ``unranked``:
    gained or lost a rank without a change of selection), ``previous_rank``, ``rank``,
    ``rank_change`` (previous - current: positive moved up), ``previous_score``, ``score``,
    ``score_change``. With no previous scan every selected symbol is ``new``.
    """
    cur = current.table if isinstance(current, ScanResult) else current
    prev = previous.table if isinstance(previous, ScanResult) else previous

    def view(table: pd.DataFrame | None) -> tuple[dict[str, float], dict[str, float], set[str]]:
        if table is None:
            return {}, {}, set()
        names = table.index.tolist()
        ranks = dict(zip(names, table["rank"].tolist()))
        scores = dict(zip(names, table["score"].tolist()))
        selected = {n for n, s in zip(names, table["selected"].tolist()) if s}
        return ranks, scores, selected

    c_rank, c_score, c_sel = view(cur)
    p_rank, p_score, p_sel = view(prev)
    symbols = sorted({s for s, r in c_rank.items() if r == r} | c_sel | {s for s, r in p_rank.items() if r == r} | p_sel)
    nan = float("nan")
    rows = []
    for s in symbols:
        pr, r = p_rank.get(s, nan), c_rank.get(s, nan)
        ps, sc = p_score.get(s, nan), c_score.get(s, nan)
        if s in c_sel and s not in p_sel:
            change = "new"
        elif s in p_sel and s not in c_sel:
            change = "dropped"
        elif pr == pr and r == r:
            change = "up" if r < pr else "down" if r > pr else "unchanged"
        elif r == r:
            change = "ranked"
        elif pr == pr:
            change = "unranked"
        else:
            change = "unchanged"
        rows.append((change, pr, r, pr - r, ps, sc, sc - ps))
    columns = ["change", "previous_rank", "rank", "rank_change", "previous_score", "score", "score_change"]
    return pd.DataFrame(rows, index=pd.Index(symbols, name="symbol", dtype=object), columns=columns)
