"""Control commands carried out by the engine: pause, resume, cancel all, flatten, kill switch,
cancel one order, a manual order (order ticket) and a risk-limit change.

Each returns a short description (journaled in ``CommandAcknowledged``) or raises
:class:`~workbench.errors.CommandError` with the reason (journaled as a rejection).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.errors import CommandError
from workbench.model import commands as cmd
from workbench.model import events as ev
from workbench.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce, TradingState

if TYPE_CHECKING:
    from workbench.engine.engine import TradingEngine


def execute(engine: TradingEngine, command: cmd.Command) -> str:
    """Carry out ``command`` on the engine; returns a short description of what was done."""
    t = type(command)
    if t is cmd.Pause:
        engine.pause()
        return "paused"
    if t is cmd.Resume:
        engine.resume()
        if engine.risk.kill_switch_engaged:  # Resume only undoes Pause: the kill switch needs its own reset
            return "resumed; the kill switch is still engaged (HALTED): reset_kill_switch --confirm --reason ..."
        if engine.risk.state is not TradingState.ACTIVE:
            engine.risk.resume(engine, "resumed by command")  # clears fired breakers and limits
        return "resumed"
    if t is cmd.ResetKillSwitch:
        return _reset_kill_switch(engine, command)  # type: ignore[arg-type]
    if t is cmd.CancelAllOrders:
        engine.cancel_all_orders(command.symbol)  # type: ignore[attr-defined]
        return "canceled all orders"
    if t is cmd.Flatten:
        n = len(engine.flatten(command.symbol))  # type: ignore[attr-defined]
        return f"flatten: {n} closing orders"
    if t is cmd.KillSwitch:
        engine.kill_switch(command.reason or "kill switch", command.flatten)  # type: ignore[attr-defined]
        return "kill switch: halted, orders canceled, positions closing"
    if t is cmd.CancelOrder:
        engine.cancel_order(command.order_id)  # type: ignore[attr-defined]
        return "cancel requested"
    if t is cmd.PlaceOrder:
        return _place_manual(engine, command)  # type: ignore[arg-type]
    if t is cmd.SetLimit:
        return _set_limit(engine, command)  # type: ignore[arg-type]
    raise CommandError(f"unsupported command {t.__name__}")


def reset_kill_switch_args(confirm: bool, reason: str | None) -> dict[str, object]:
    """The args of ``reset_kill_switch`` from the CLI's ``--confirm`` / ``--reason`` (``by``: the OS user).

    Raises
    ------
    CommandError
        Without ``--confirm`` or without a ``--reason`` (the CLI exits with code 2, nothing is sent).
    """
    import getpass

    if not confirm:
        raise CommandError("reset_kill_switch needs --confirm (the kill switch is lifted only deliberately)")
    if not reason or not reason.strip():
        raise CommandError("reset_kill_switch needs --reason '...' (journaled with who reset it)")
    return {"confirm": True, "reason": reason, "by": getpass.getuser()}


def _reset_kill_switch(engine: TradingEngine, c: cmd.ResetKillSwitch) -> str:
    if not c.confirm:
        raise CommandError("reset_kill_switch: not confirmed (send confirm=True / --confirm)")
    try:
        engine.reset_kill_switch(c.reason, by=c.by, source=c.source)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return f"kill switch reset by {c.by or c.source or 'unknown'}: {c.reason}; trading ACTIVE"


def _place_manual(engine: TradingEngine, c: cmd.PlaceOrder) -> str:
    reduce_only = False
    if engine.risk.state is TradingState.HALTED:  # the order ticket takes only orders that reduce a position
        held = engine.portfolio.quantity(c.symbol.upper())
        side = c.side.upper()
        if not ((held > 0 and side == "SELL" and c.quantity <= held) or (held < 0 and side == "BUY"
                                                                        and c.quantity <= -held)):
            raise CommandError(f"trading is HALTED ({engine.risk.state_reason}): the order ticket accepts only "
                               f"orders that reduce a position; {c.side} {c.quantity:g} {c.symbol} would not "
                               f"(position {held:g})")
        reduce_only = True
    try:
        order = engine.create_order(
            c.symbol.upper(), OrderSide(c.side.upper()), c.quantity, OrderType(c.order_type.upper()),
            limit_price=c.limit_price, stop_price=c.stop_price, time_in_force=TimeInForce(c.time_in_force.upper()),
            reduce_only=reduce_only, strategy_id="manual", tag="manual",
        )
    except ValueError as exc:
        raise CommandError(f"submit_order: {exc}") from None
    engine.submit_order(order)
    if order.status is OrderStatus.DENIED:
        raise CommandError(f"order {order.order_id} denied: {order.reason}")
    return f"order {order.order_id} submitted ({order.side} {order.quantity:g} {order.symbol} {order.order_type})"


def _set_limit(engine: TradingEngine, c: cmd.SetLimit) -> str:
    rule_name, _, attribute = c.name.partition(".")
    attribute = attribute or "limit"
    for rule in [*engine.risk.rules, *getattr(engine.risk, "monitors", [])]:
        if getattr(rule, "name", None) == rule_name:
            old = getattr(rule, attribute, None)
            if not isinstance(old, int | float) or isinstance(old, bool):
                raise CommandError(f"set_limit: rule {rule_name!r} has no numeric {attribute!r}")
            if not c.value > 0:
                raise CommandError(f"set_limit: value must be > 0, got {c.value!r}")
            setattr(rule, attribute, type(old)(c.value))
            engine.record(ev.RiskEvent(ts_event=engine.now_ns(), rule=rule_name, action="set_limit", value=c.value,
                                     limit=float(old), message=f"{c.name} changed from {old:g} to {c.value:g}"))
            return f"{c.name}: {old:g} -> {c.value:g}"
    known = sorted(getattr(r, "name", "?") for r in engine.risk.rules)
    raise CommandError(f"set_limit: no configured rule {rule_name!r}; configured: {known}")
