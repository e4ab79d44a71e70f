"""The public API of workbench.analytics: every exported name exists and is documented."""

from __future__ import annotations

import inspect

import workbench.analytics as analytics


def test_all_names_resolve_and_have_docstrings():
    assert len(set(analytics.__all__)) == len(analytics.__all__)
    for name in analytics.__all__:
        obj = getattr(analytics, name)
        if callable(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"


def test_summary_importable_from_metrics():
    """The backtest result imports summary from metrics."""
    from workbench.analytics.metrics import summary

    assert summary is analytics.summary
