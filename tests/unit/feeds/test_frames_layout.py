"""Canonical layouts: detection, conversion, and the exported API of workbench.feeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import workbench.feeds as feeds
from workbench.errors import DataError
from workbench.feeds import BAR_COLUMNS, QUOTE_COLUMNS, TRADE_COLUMNS, DataKind, detect_kind, empty_frame, to_canonical


def test_kinds_priorities_and_columns():
    assert DataKind.BAR < DataKind.QUOTE < DataKind.TRADE
    assert [k.columns for k in DataKind] == [BAR_COLUMNS, QUOTE_COLUMNS, TRADE_COLUMNS]
    for kind in DataKind:
        frame = empty_frame(kind)
        assert list(frame.columns) == list(kind.columns) and detect_kind(frame) is kind
        assert frame["ts_event"].dtype == np.int64


def test_to_canonical_converts_datetimes_and_orders_columns():
    frame = pd.DataFrame({
        "extra": [1], "price": [10], "size": [5], "aggressor": [None], "symbol": ["A"],
        "ts_init": pd.to_datetime(["2024-01-02 14:30:00.000000001"], utc=True),
        "ts_event": [1_704_205_800_000_000_001],
    })
    out = to_canonical(frame)
    assert list(out.columns) == list(TRADE_COLUMNS)
    assert out["ts_init"].iloc[0] == out["ts_event"].iloc[0] == 1_704_205_800_000_000_001
    assert out["price"].dtype == np.float64 and out["aggressor"].iloc[0] == ""


def test_to_canonical_rejects_bad_frames():
    with pytest.raises(DataError, match="not a canonical"):
        detect_kind(pd.DataFrame({"ts_event": [1]}))
    naive = pd.DataFrame({"ts_event": pd.to_datetime(["2024-01-02"]), "ts_init": [0], "symbol": ["A"],
                          "price": [1.0], "size": [1.0], "aggressor": [""]})
    with pytest.raises(DataError, match="naive"):
        to_canonical(naive)
    wrong = naive.assign(ts_event=[0], aggressor=["LONG"])
    with pytest.raises(DataError, match="aggressor='LONG'"):
        to_canonical(wrong)


def test_exported_api():
    assert sorted(feeds.__all__) == sorted(set(feeds.__all__))
    for name in feeds.__all__:
        assert getattr(feeds, name) is not None
