"""Versioned event encoding: exact round trip of every event type, errors, upcasters."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.errors import JournalError
from workbench.model import events as ev
from workbench.model.enums import OrderSide, OrderType
from workbench.model.events import EVENT_TYPES
from workbench.persistence.serde import DEFAULT_CODEC, EventCodec, dumps, json_value


def same(a: object, b: object) -> bool:
    """Equality that treats NaN as equal to NaN, tells -0.0 from 0.0 and checks container/enum types."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    return a == b


# -------------------------------------------------------------------------------- every type
def test_every_event_type_round_trips_exactly(every_event: list[ev.Event]) -> None:
    assert {type(e) for e in every_event} == set(EVENT_TYPES)
    for event in every_event:
        payload = DEFAULT_CODEC.encode(event)
        text = json.dumps(payload, allow_nan=False)  # strict JSON: no NaN literals anywhere
        back = DEFAULT_CODEC.decode(json.loads(text))
        assert back == event, type(event).__name__
        assert same(back, event), type(event).__name__


def test_envelope_names_type_and_version() -> None:
    event = ev.OrderCanceled(ts_event=5, order_id="o-1", symbol="SPY", reason="user")
    assert DEFAULT_CODEC.encode(event) == {
        "type": "OrderCanceled", "v": 1, "ts_event": 5, "order_id": "o-1", "symbol": "SPY", "reason": "user",
    }


def test_non_finite_floats_are_strict_json_and_come_back() -> None:
    event = ev.AccountState(ts_event=1, cash=math.nan, equity=math.inf, gross_exposure=-math.inf, net_exposure=-0.0)
    text = dumps(DEFAULT_CODEC.encode(event))
    assert "NaN" in text and "Infinity" in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    back = DEFAULT_CODEC.loads(text)
    assert back == event  # NaN decodes to the math.nan object, so dataclass equality holds
    assert same(back, event)


def test_object_values_keep_nan_in_free_form_dicts() -> None:
    event = ev.SessionStarted(ts_event=1, session_id="s", mode="paper", parameters={"x": math.nan, "y": [math.inf]})
    back = DEFAULT_CODEC.loads(DEFAULT_CODEC.dumps(event))
    assert math.isnan(back.parameters["x"]) and back.parameters["y"] == [math.inf]


# ----------------------------------------------------------------------------- hypothesis
_json_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | st.text()
_json_values = st.recursive(
    _json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


def _strategy(hint: object) -> st.SearchStrategy:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is not None and type(None) in args:
        return st.none() | _strategy(next(a for a in args if a is not type(None)))
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(-(2**63), 2**63 - 1)
    if hint is float:
        return st.floats()  # includes NaN, +-inf, -0.0, subnormals
    if hint is str:
        return st.text()
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(list(hint))
    if origin is tuple:
        return st.lists(_strategy(args[0]), max_size=4).map(tuple)
    if origin is dict:
        return st.dictionaries(st.text(), _strategy(args[1]) if args[1] is not object else _json_values, max_size=4)
    if hint is object:
        return _json_values
    raise TypeError(hint)


@st.composite
def any_event(draw: st.DrawFn) -> ev.Event:
    cls = draw(st.sampled_from(EVENT_TYPES))
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: draw(_strategy(hints[f.name])) for f in dataclasses.fields(cls)})


@settings(max_examples=400, deadline=None)
@given(any_event())
def test_random_events_round_trip(event: ev.Event) -> None:
    back = DEFAULT_CODEC.loads(DEFAULT_CODEC.dumps(event))
    assert same(back, event)


# --------------------------------------------------------------------------------- errors
def _payload(**changes: object) -> dict[str, object]:
    payload = DEFAULT_CODEC.encode(
        ev.OrderInitialized(ts_event=1, order_id="o", symbol="SPY", side=OrderSide.BUY, order_type=OrderType.MARKET,
                            quantity=10.0)
    )
    payload.update(changes)
    return payload


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"type": "OrderTeleported"}, "unknown event type 'OrderTeleported'"),
        ({"side": "SIDEWAYS"}, "OrderInitialized.side: 'SIDEWAYS' is not a OrderSide"),
        ({"quantity": "ten"}, "OrderInitialized.quantity: expected a number, got 'ten'"),
        ({"ts_event": 1.5}, "OrderInitialized.ts_event: expected an integer"),
        ({"linked_order_ids": "abc"}, "OrderInitialized.linked_order_ids: expected an array"),
        ({"colour": "red"}, "unexpected field(s) ['colour']"),
        ({"v": 99}, "OrderInitialized v99 was written by a newer workbench"),
        ({"v": "1"}, "'v' must be an integer version"),
    ],
)
def test_bad_payload_names_type_and_field(changes: dict[str, object], message: str) -> None:
    with pytest.raises(JournalError) as info:
        DEFAULT_CODEC.decode(_payload(**changes))
    assert message in str(info.value)


def test_missing_required_field_is_named() -> None:
    payload = _payload()
    del payload["symbol"]
    with pytest.raises(JournalError, match="required field 'symbol' is missing"):
        DEFAULT_CODEC.decode(payload)


def test_missing_optional_field_takes_its_default() -> None:
    payload = _payload()
    del payload["tag"]
    assert DEFAULT_CODEC.decode(payload).tag == ""


def test_malformed_json_text() -> None:
    with pytest.raises(JournalError, match="not valid JSON"):
        DEFAULT_CODEC.loads('{"type": "OrderSubmitted", ')


def test_encode_rejects_wrong_field_type_and_unknown_class() -> None:
    bad = ev.OrderCanceled(ts_event=1, order_id="o", symbol=123, reason="")  # type: ignore[arg-type]
    with pytest.raises(JournalError, match=r"OrderCanceled\.symbol: expected str, got 123"):
        DEFAULT_CODEC.encode(bad)

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Stranger(ev.Event):
        pass

    with pytest.raises(JournalError, match="cannot journal Stranger"):
        DEFAULT_CODEC.encode(Stranger(ts_event=1))
    with pytest.raises(JournalError, match="args: object value"):
        json_value({"when": object()}, "args")


# ------------------------------------------------------------------------------ upcasters
def test_upcaster_upgrades_v1_payload_to_v2() -> None:
    """Scenario: OrderDenied v1 called its field ``why`` and had no ``rule``; v2 is today's shape."""
    v1_payload = {"type": "OrderDenied", "v": 1, "ts_event": 7, "order_id": "o-9", "symbol": "SPY",
                  "why": "max position 500 exceeded"}
    codec = EventCodec(versions={"OrderDenied": 2})

    with pytest.raises(JournalError, match="no upcaster from v1 to v2"):
        codec.decode(v1_payload)

    @codec.upcaster("OrderDenied", from_version=1)
    def rename_why(payload: dict) -> dict:
        payload["reason"] = payload.pop("why")
        payload["rule"] = "unknown (v1)"
        return payload

    expected = ev.OrderDenied(ts_event=7, order_id="o-9", symbol="SPY", reason="max position 500 exceeded",
                              rule="unknown (v1)")
    assert codec.decode(v1_payload) == expected
    assert codec.encode(expected)["v"] == 2  # new writes carry the new version
    assert codec.decode(codec.encode(expected)) == expected  # v2 payloads skip the upcaster
    assert DEFAULT_CODEC.version("OrderDenied") == 1  # the default codec is untouched


def test_upcaster_chain_and_failures() -> None:
    codec = EventCodec(versions={"OrderCanceled": 3})
    codec.register_upcaster("OrderCanceled", 1, lambda p: {**p, "reason": p["reason"] + "+2"})
    codec.register_upcaster("OrderCanceled", 2, lambda p: {**p, "reason": p["reason"] + "+3"})
    old = {"type": "OrderCanceled", "v": 1, "ts_event": 1, "order_id": "o", "symbol": "S", "reason": "r"}
    assert codec.decode(old).reason == "r+2+3"
    with pytest.raises(ValueError, match=r"from_version must be in 1\.\.2"):
        codec.register_upcaster("OrderCanceled", 3, lambda p: p)
    codec.register_upcaster("OrderCanceled", 2, lambda p: p["nope"])
    with pytest.raises(JournalError, match="OrderCanceled: upcaster from v2 failed"):
        codec.decode(old)
