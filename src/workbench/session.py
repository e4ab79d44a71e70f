"""Paper-trading sessions: journal + engine + simulated broker + replayed feed + live runner.

:func:`paper_session` builds a session that a notebook can ``start()`` on its running loop (or
``await``), and that ``workbench paper`` runs from the command line. :func:`resume_session`
restarts a journaled session by its id after a crash: rebuild from the journal, warm strategies
up on the data before the resume point, reconcile with the (restored) simulated broker, resume.

Everything needed to restart is stored with the session: the strategy name and parameters, the
data spec and the speed are the session's ``parameters`` in the journal.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.brokers.fills import CommissionModel, FillModel
from workbench.engine.backtest import BacktestResult, build_engine, make_result
from workbench.engine.live import LiveRunner
from workbench.engine.reconcile import rebuild, reconcile, warm_up
from workbench.engine.strategy import Strategy
from workbench.errors import ConfigError, DataError
from workbench.feeds.replay import ReplayFeed, regular_hours
from workbench.feeds.stream import MarketDataStream
from workbench.model import events as ev

DEFAULT_JOURNAL = Path("workbench_data") / "journal.sqlite"


def default_journal_url() -> str:
    """``$WORKBENCH_JOURNAL`` or ``sqlite:///workbench_data/journal.sqlite`` (relative to the cwd)."""
    env = os.environ.get("WORKBENCH_JOURNAL")
    if env:
        return env if "://" in env else f"sqlite:///{Path(env).resolve()}"
    return f"sqlite:///{DEFAULT_JOURNAL.resolve()}"


def open_journal(journal: Any = None, synchronous: str = "NORMAL", *, create: bool = True,
                 make_folder: bool | None = None) -> Any:
    """A :class:`~workbench.persistence.Journal` from a Journal, URL, path or None (default).

    Paper sessions use SQLite ``synchronous=NORMAL`` in WAL mode: a committed event survives a
    crash of the process (the failure the recovery tests inject) but may not survive a power cut;
    pass ``"FULL"`` for that (live trading uses FULL).

    Parameters
    ----------
    create : bool
        A SQLite file that does not exist is created (a new session); False (resume, reports,
        ``journal``, ``ctl``): it must exist.
    make_folder : bool | None
        Create the SQLite file's missing folders; default only for the default location
        (``workbench_data/``): a typo in a path must not create folders anywhere.

    Raises
    ------
    JournalError
        The SQLite file does not exist (``create=False``) or its folder does not exist.
    """
    from workbench.errors import JournalError
    from workbench.persistence import Journal

    if isinstance(journal, Journal):
        return journal
    url = default_journal_url() if journal is None else str(journal)
    if make_folder is None:
        make_folder = journal is None
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if not create and not path.exists():
            raise JournalError(f"journal {path} does not exist (check --journal or $WORKBENCH_JOURNAL)")
        if not path.parent.is_dir():
            if not make_folder:
                raise JournalError(f"journal folder {path.parent} does not exist: create it first (the journal "
                                   "file is created, its folder is not)")
            path.parent.mkdir(parents=True, exist_ok=True)
    return Journal(url, synchronous=synchronous)


def load_stream(data: Any = "demo", *, regular: bool = True) -> Any:
    """Market data for a session: ``"demo"`` (shipped SPY minute bars + quotes), a recording
    directory, a CSV/Parquet bar file, a MarketDataStream, or canonical frames.

    The validation reports of the files read (:class:`~workbench.feeds.validation.ValidationReport`:
    rows read, kept, skipped and flagged by check) are in the stream's ``validation`` attribute.

    Raises
    ------
    DataError
        The file or folder does not exist, cannot be read or decoded (the message names the file
        and row), or no market data is left after validation and the regular-hours filter.
    """
    from workbench.feeds.recorder import Recording

    if isinstance(data, MarketDataStream | Recording):
        return data
    reports: list[Any] = []
    spec = "data"
    if isinstance(data, str | Path):
        spec = str(data)
        if spec == "demo":
            from workbench.feeds.samples import load_demo_spy

            *loaded, bar_report, quote_report = load_demo_spy(return_reports=True)
            frames, reports = tuple(loaded), [bar_report, quote_report]
        elif not Path(spec).expanduser().exists():
            raise DataError(f"data: no such file or folder: {Path(spec).expanduser().resolve()}")
        elif Path(spec).is_dir():
            return Recording(spec)
        else:
            from workbench.feeds.loaders import load_bars

            frame, report = load_bars(spec)
            frames, reports = (frame,), [report]
    elif isinstance(data, pd.DataFrame):
        frames = (data,)
    else:
        frames = tuple(data)
    if regular:
        frames = tuple(regular_hours(f) for f in frames)
    stream = MarketDataStream(*frames)
    stream.validation = reports  # type: ignore[attr-defined]
    if len(stream) == 0:
        read = "; ".join(str(r) for r in reports) or f"{sum(len(f) for f in frames)} rows"
        raise DataError(f"{spec}: no market data to run on ({read}"
                        f"{'; regular hours only' if regular else ''}): refusing an empty stream")
    return stream


def data_identity(data: Any) -> tuple[str, str]:
    """How a session stores its data: ``(spec, sha256)``; a file or recording folder by its absolute
    path and the SHA-256 of its bytes (a folder: of its files' names and bytes, in name order), so a
    resume from another folder finds it and a resume on changed data is refused. ``"demo"`` and
    in-memory data (``"custom"``) have no checksum."""
    import hashlib

    if not isinstance(data, str | Path):
        return "custom", ""
    if str(data) == "demo":
        return "demo", ""
    path = Path(data).expanduser().resolve()
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with file.open("rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
    return str(path), digest.hexdigest()


def check_starting_cash(value: Any) -> float:
    """``value`` as a starting cash (currency): a finite number > 0; ConfigError naming it otherwise."""
    import math

    try:
        cash = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"starting cash must be a number, got {value!r}") from None
    if not (math.isfinite(cash) and cash > 0):
        raise ConfigError(f"starting cash must be a finite number > 0, got {value!r}")
    return cash


def stream_symbols(stream: Any) -> set[str]:
    """The symbols in a MarketDataStream or Recording (upper case)."""
    symbols = getattr(stream, "symbols", None)
    if symbols is None:
        symbols = {x for f in getattr(stream, "frames", {}).values() for x in f["symbol"].unique()}
    return {str(x).upper() for x in symbols}


def make_strategy(name: str, params: Mapping[str, Any] | None = None) -> Strategy:
    """An example strategy by name (see :data:`workbench.strategies.EXAMPLES`) or ``module:Class``."""
    from workbench.strategies import EXAMPLES

    cls = EXAMPLES.get(name)
    if cls is None and ":" in name:
        import importlib

        module, _, attr = name.partition(":")
        cls = getattr(importlib.import_module(module), attr)
    if cls is None:
        raise ConfigError(f"strategy: unknown {name!r}; known: {sorted(EXAMPLES)} or 'module:Class'")
    return cls(**dict(params or {}))


def _strategy_name(strategy: Strategy) -> str:
    from workbench.strategies import EXAMPLES

    for name, cls in EXAMPLES.items():
        if type(strategy) is cls:
            return name
    return f"{type(strategy).__module__}:{type(strategy).__qualname__}"


@dataclass
class PaperSession:
    """A running (or finished) paper session. Control it from a notebook or a script.

    Use ``session.start()`` to schedule it on the running loop (returns at once), ``await
    session`` to wait for the end, and ``pause()``, ``resume()``, ``cancel_all()``,
    ``flatten()``, ``kill()``, ``stop()`` to control it; each control is journaled.
    """

    session_id: str
    engine: Any
    runner: LiveRunner
    journal: Any
    feed: ReplayFeed
    corrections: list[ev.ReconciliationCorrected]

    def start(self) -> Any:
        return self.runner.start()

    def __await__(self):
        return self.runner.__await__()

    def pause(self) -> None:
        self.runner.pause()

    def resume(self) -> None:
        self.runner.resume()

    def cancel_all(self) -> None:
        self.runner.cancel_all()

    def flatten(self) -> None:
        self.runner.flatten()

    def kill(self, reason: str = "kill switch (notebook)") -> None:
        self.runner.kill(reason)

    def reset_kill_switch(self, reason: str, *, confirm: bool = False, by: str = "") -> None:
        """Lift the kill switch (``Resume`` does not): ``confirm=True`` and a ``reason`` are required;
        who (``by``, default the OS user) and why are journaled in ``KillSwitchReset``."""
        self.runner.reset_kill_switch(reason, confirm=confirm, by=by)

    def stop(self) -> None:
        self.runner.stop()

    def submit_order(
        self, symbol: str, side: str, quantity: float, order_type: str = "MARKET", *,
        limit_price: float | None = None, stop_price: float | None = None, time_in_force: str = "DAY",
    ) -> None:
        """Queue a manual order (like the order ticket): the engine creates it and sends it through
        the risk engine; the outcome is journaled (``CommandAcknowledged`` names the order or the denial)."""
        self.runner.request("submit_order", symbol=symbol, side=side, quantity=quantity, order_type=order_type,
                            limit_price=limit_price, stop_price=stop_price, time_in_force=time_in_force)

    async def wait(self, seconds: float) -> dict[str, Any]:
        """Let the session trade for ``seconds`` (without blocking the loop); returns :meth:`summary`."""
        import asyncio

        await asyncio.sleep(seconds)
        return self.summary()

    @property
    def done(self) -> bool:
        return self.runner.done

    @property
    def progress(self) -> float:
        """Share of the replay delivered (0..1)."""
        return self.feed.position / max(len(self.feed), 1)

    def summary(self) -> dict[str, Any]:
        """Counts and P&L now: orders, fills, open positions, equity, realized/unrealized P&L (currency)."""
        eng = self.engine
        pf = eng.portfolio
        fills = sum(1 for o in eng.orders.values() for e in o.events if type(e) is ev.OrderFilled)
        return {
            "session_id": self.session_id,
            "state": self.runner.state,
            "paused": eng.paused,
            "trading_state": str(eng.risk.state),
            "data_events": self.runner.position,
            "progress": self.progress,
            "orders": len(eng.orders),
            "open_orders": len(eng.open_orders()),
            "fills": fills,
            "positions": {p.symbol: p.quantity for p in pf.open_positions()},
            "equity": pf.equity,
            "cash": pf.cash,
            "realized_pnl": pf.realized_pnl,
            "unrealized_pnl": pf.unrealized_pnl,
            "pnl": pf.equity - pf.starting_cash,
        }

    def result(self) -> BacktestResult:
        """Orders, fills, trades, positions and equity of the session as DataFrames."""
        return make_result(self.engine)

    def _repr_html_(self) -> str:
        from workbench.model.display import table_html

        s = self.summary()
        s["positions"] = ", ".join(f"{k} {v:g}" for k, v in s["positions"].items()) or "flat"
        return table_html(f"Paper session {self.session_id}", list(s.items()))


def paper_session(
    strategy: Strategy | str = "sma_crossover",
    *,
    params: Mapping[str, Any] | None = None,
    data: Any = "demo",
    speed: float | None = None,
    journal: Any = None,
    session_id: str | None = None,
    name: str = "",
    starting_cash: float = 100_000.0,
    fill_model: FillModel | None = None,
    commission: CommissionModel | None = None,
    regular: bool = True,
    record_to: str | Path | None = None,
    risk: Any = None,
    durable_submit: bool = False,
    on_progress: Callable[[LiveRunner], None] | None = None,
    snapshot_interval: float = 1.0,
    config: Any = None,
    broker: str = "simulated",
    **broker_options: Any,
) -> PaperSession:
    """Build a paper session on a replayed stream with the simulated broker and the journal.

    ``broker="ibkr"`` (or a config with ``broker.kind: ibkr``) builds the session on Interactive
    Brokers instead (:func:`workbench.adapters.ibkr.session.ibkr_session`; ``broker_options`` such
    as ``ibkr={...}``, ``emulator=``, ``symbols=`` go to it): paper account, live data.

    Parameters
    ----------
    strategy : Strategy | str
        An instance, or an example name (``sma_crossover``, ...) with ``params``.
    data : str | MarketDataStream | Recording | DataFrame(s)
        ``"demo"`` = the shipped SPY minute bars with quotes (regular hours).
    speed : float | None
        Multiple of real time; None = as fast as possible.
    journal : Journal | str | None
        Default: :func:`default_journal_url`.
    record_to : path | None
        Record every market data item received to Parquet in this directory.
    config : WorkbenchConfig | None
        A loaded config (:func:`workbench.config.load_config`): its session, broker, journal and
        risk sections replace the corresponding arguments; it is stored with the session so a
        restart rebuilds the same risk engine, alerts and fill model.
    """
    if broker == "ibkr" or (config is not None and config.broker.kind == "ibkr"):
        from workbench.adapters.ibkr.session import ibkr_session

        if config is not None:
            strategy, params = config.session.strategy, config.session.params
            broker_options.setdefault("ibkr", config.ibkr)
            if risk is None:  # the config's risk section and alerts, as for the simulated broker
                risk, broker_options["alerts"] = _risk_and_alerts(config)
        return ibkr_session(strategy, params=params, journal=journal, session_id=session_id, name=name,
                            starting_cash=starting_cash, risk=risk, on_progress=on_progress,
                            snapshot_interval=snapshot_interval, **broker_options)
    if broker != "simulated" or broker_options:
        raise ConfigError(f"paper_session: broker {broker!r} takes no {sorted(broker_options)}; brokers: "
                          "'simulated' (default), 'ibkr'")
    alerts = None
    if config is not None:
        sc = config.session
        strategy, params, data, speed = sc.strategy, sc.params, sc.data, sc.speed
        starting_cash, regular = sc.starting_cash, sc.regular_hours
        fill_model, commission = config.fill_model(), config.commission_model()
        risk, alerts = _risk_and_alerts(config)
        if journal is None:
            journal = open_journal(config.journal.url, config.journal.synchronous)
    if isinstance(strategy, str):
        strategy_name, strategy = strategy, make_strategy(strategy, params)
    else:
        strategy_name = _strategy_name(strategy)
    params = strategy.params.model_dump()
    starting_cash = check_starting_cash(starting_cash)
    if risk is None:
        risk = default_risk_engine()
    # everything is checked and built before the session row exists: a bad input leaves no orphan session
    try:
        stream = load_stream(data, regular=regular)
    except DataError as exc:
        raise DataError(f"session.data: {exc}" if config is not None else str(exc)) from None
    symbols = stream_symbols(stream)
    feed = ReplayFeed(stream, speed=speed)
    engine = build_engine(strategy, starting_cash=starting_cash, fill_model=fill_model, commission=commission,
                          risk=risk, clock=feed.clock, keep_events=False)
    if alerts is not None:
        alerts.attach(engine)
    recorder = None
    if record_to is not None:
        from workbench.feeds.recorder import Recorder

        recorder = Recorder(record_to)
    jr = open_journal(journal)
    data_spec, fingerprint = data_identity(data)
    parameters = {"strategy": strategy_name, "params": params, "data": data_spec, "speed": speed,
                  "starting_cash": starting_cash, "regular": regular, "symbols": sorted(symbols)}
    from workbench.feeds.progress import replay_checkpoints

    parameters["replay"] = replay_checkpoints(stream)  # the banner's replay progress
    if fingerprint:
        parameters["data_sha256"] = fingerprint
    if config is not None:
        parameters["config"] = _without_secrets(config.model_dump(mode="json"))
    sid = jr.create_session(session_id, name=name or f"paper {strategy_name}", mode="paper", strategy=strategy_name,
                            parameters=parameters)
    runner = LiveRunner(engine, feed, journal=jr, session_id=sid, recorder=recorder, durable_submit=durable_submit,
                        on_progress=on_progress, snapshot_interval=snapshot_interval)
    runner.symbols = frozenset(symbols)
    engine.record(ev.SessionStarted(ts_event=engine.now_ns(), session_id=sid, mode="paper", strategy=strategy_name,
                                    parameters=params))
    _stop_hook(runner, sid)
    return PaperSession(sid, engine, runner, jr, feed, [])


def default_risk_engine() -> Any:
    """The risk engine of a session without a config: the default profile (every default of
    :class:`workbench.risk.config.RiskConfig`, listed in ``sample_config/risk.yaml``): order size
    (10,000 shares, 100,000 notional), position value (250,000, 100% of equity), price band (5%),
    order rate (10/s), regular trading hours, buying power, daily loss (3%) and drawdown (15%)."""
    from workbench.risk.factory import build_risk_engine

    return build_risk_engine(None)


def session_risk_engine(parameters: Mapping[str, Any]) -> Any:
    """A fresh risk engine like the one of a session with these journaled ``parameters``: its
    config's ``risk`` section, else its journaled ``risk_config`` (broker sessions), else the
    default profile (e.g. for re-running it as a backtest, or restarting it after a crash)."""
    from workbench.risk.factory import build_risk_engine

    if "config" in parameters:
        from workbench.config import load_config

        return build_risk_engine(load_config(parameters["config"], confirm_live=True).risk)
    if parameters.get("risk_config"):
        from workbench.risk.config import RiskConfig

        return build_risk_engine(RiskConfig.model_validate(parameters["risk_config"]))
    return default_risk_engine()


def risk_parameters(risk: Any) -> dict[str, Any]:
    """What to journal about a session's risk engine so a restart rebuilds it: its ``RiskConfig``
    (``{"risk_config": {...}}``), or nothing for an engine assembled by hand (then a restart gets
    the default profile)."""
    config = getattr(risk, "config", None)
    return {"risk_config": config.model_dump(mode="json")} if config is not None else {}


def _without_secrets(dumped: dict[str, Any]) -> dict[str, Any]:
    """A dumped config to store in the journal: the journal URL's password masked (the rest of a
    config never holds a secret: those are named by ``*_env`` keys and read from the environment)."""
    from workbench.persistence.database import mask_url

    journal = dumped.get("journal") or {}
    if journal.get("url"):
        dumped = {**dumped, "journal": {**journal, "url": mask_url(journal["url"])}}
    return dumped


def _risk_and_alerts(config: Any) -> tuple[Any, Any]:
    from workbench.risk.factory import build_alert_manager, build_risk_engine

    return build_risk_engine(config.risk), build_alert_manager(config.risk)


def _stop_hook(runner: LiveRunner, sid: str) -> None:
    engine = runner.engine
    original_stop = engine.stop

    def stop() -> None:
        original_stop()
        engine.record(engine.account_state())
        engine.record(ev.SessionStopped(ts_event=engine.now_ns(), session_id=sid,
                                        reason="stopped" if runner._stop_requested else "end of data"))

    engine.stop = stop  # type: ignore[method-assign]


def resume_session(
    session_id: str,
    *,
    journal: Any = None,
    data: Any = None,
    speed: float | str | None = "saved",
    strategy: Strategy | None = None,
    on_progress: Callable[[LiveRunner], None] | None = None,
    snapshot_interval: float = 1.0,
    record_to: str | Path | None = None,
) -> PaperSession:
    """Restart a journaled paper session after a crash (rebuild, warm up, reconcile, resume).

    With ``record_to`` (the session's recording directory) the recording continues: items the
    crashed process had not flushed are re-recorded from the data before trading resumes.

    The strategy, its parameters, the data and the speed come from the session's journaled
    parameters unless given.

    Raises
    ------
    ConfigError
        If the session's parameters cannot rebuild the strategy or data.
    SessionLocked
        If another live process runs the session (raised when the session starts).
    """
    jr = open_journal(journal, create=False)
    row = jr.session(session_id)
    _check_resumable(jr, row)
    saved = dict(row.get("parameters") or {})
    if strategy is None:
        strategy = make_strategy(saved.get("strategy", "sma_crossover"), saved.get("params"))
    if data is None:
        data = saved.get("data", "demo")
        if data == "custom":
            raise ConfigError(f"session {session_id}: its data was not a named source: pass data=")
        if saved.get("data_sha256"):
            if not Path(data).exists():
                raise DataError(f"session {session_id!r}: its data {data} no longer exists; cannot resume")
            if data_identity(data)[1] != saved["data_sha256"]:
                raise DataError(f"session {session_id!r}: its data {data} changed since the session started "
                                f"(SHA-256 differs from the journaled {saved['data_sha256'][:12]}...): refusing to "
                                "resume on different data")
    if speed == "saved":
        speed = saved.get("speed")
    stream = load_stream(data, regular=bool(saved.get("regular", True)))
    state = jr.load_state(session_id) or {}
    position = int(state.get("position", 0))
    feed = ReplayFeed(stream, speed=speed, start=position)  # type: ignore[arg-type]
    options: dict[str, Any] = {}
    alerts = None
    if "config" in saved:
        from workbench.config import load_config

        config = load_config(saved["config"], confirm_live=True)
        options = {"fill_model": config.fill_model(), "commission": config.commission_model()}
        options["risk"], alerts = _risk_and_alerts(config)
    options.setdefault("risk", default_risk_engine())
    engine = build_engine(strategy, starting_cash=float(saved.get("starting_cash", 100_000.0)), clock=feed.clock,
                          keep_events=False, **options)
    if alerts is not None:
        alerts.attach(engine)
    broker = engine.broker
    if "broker" in state and hasattr(broker, "restore"):
        broker.restore(state["broker"])
    rebuild(engine, jr.events(session_id))
    engine._order_seq = max(engine._order_seq, int(state.get("order_seq", 0)))
    recorder = None
    if record_to is not None:
        from workbench.feeds.recorder import Recorder

        upto = int(state.get("recorded_upto", position))
        recorder = Recorder(record_to, start_seq=upto)
        for item in itertools.islice(iter(stream), upto, position):
            recorder.record(item)
        recorder.flush()
    runner = LiveRunner(engine, feed, journal=jr, session_id=session_id, position=position, on_progress=on_progress,
                        snapshot_interval=snapshot_interval, recorder=recorder)
    runner.symbols = frozenset(stream_symbols(stream))
    corrections: list[ev.ReconciliationCorrected] = []
    started = ev.SessionStarted(ts_event=engine.now_ns(), session_id=session_id, mode="paper",
                                strategy=saved.get("strategy", ""), parameters=dict(strategy.params.model_dump()),
                                resumed=True)
    from workbench.execution.recovery import PARENT_EVENT_TYPES

    parents = list(jr.events(session_id, types=list(PARENT_EVENT_TYPES)))
    _resume_hook(engine, itertools.islice(iter(stream), position), started, corrections, parents)
    _stop_hook(runner, session_id)
    return PaperSession(session_id, engine, runner, jr, feed, corrections)


def _check_resumable(jr: Any, row: Mapping[str, Any]) -> None:
    """A session that did not stop cleanly (a crash: status still ``running``, or never started) is
    resumable, and so is one stopped on request before the end of its data (``stop``, Ctrl-C); a
    finished one (it reached the end of its data, or stopped for any other reason) is not: resuming
    it would only journal a second start/stop pair."""
    if row.get("status") != "stopped":
        return
    stops = list(jr.events(row["session_id"], types=[ev.SessionStopped]))
    reason = stops[-1].reason if stops else ""
    if reason != "stopped":
        raise ConfigError(f"session {row['session_id']!r} is finished (it stopped cleanly: {reason or 'stopped'}): "
                          "only a session that did not stop cleanly, or was stopped before the end of its data, "
                          "can be resumed; start a new session instead")


def _resume_hook(engine: Any, history: Any, started: ev.SessionStarted,
                 corrections: list[ev.ReconciliationCorrected], parents: list[ev.Event] | None = None) -> None:
    """Make ``engine.start()`` (called by the runner on the running loop, with the session lock held)
    start the strategies, warm them up on ``history``, journal ``started`` and reconcile.

    Strategies' ``on_start`` runs first (it creates their state; timers need the running loop) with
    order calls ignored, as during the warm-up: what they ordered is already in the journal.
    """
    original_start = engine.start

    def start() -> None:
        engine.warming_up = True
        try:
            original_start()
        finally:
            engine.warming_up = False
        warm_up(engine, history)
        engine.record(dataclasses.replace(started, ts_event=engine.now_ns()))  # the clock is at the resume point
        corrections.extend(reconcile(engine, engine.broker))
        if parents:  # execution algorithms that were working: re-armed with what the journal and broker say
            from workbench.execution.recovery import resume_algorithms

            resume_algorithms(engine, parents)

    engine.start = start  # type: ignore[method-assign]
