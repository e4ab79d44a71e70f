"""The exported API of workbench.widgets: every name resolves (lazily) and is documented."""

from __future__ import annotations

import subprocess
import sys

import workbench.widgets as widgets


def test_every_exported_name_resolves_and_has_a_docstring():
    for name in widgets.__all__:
        value = getattr(widgets, name)
        if callable(value):
            assert value.__doc__, f"{name} has no docstring"
    assert set(widgets.__all__) <= set(dir(widgets))


def test_unknown_name_is_an_attribute_error():
    try:
        widgets.NotAThing  # noqa: B018
    except AttributeError as exc:
        assert "NotAThing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_serving_does_not_import_the_heavy_libraries():
    code = ("import sys, workbench.widgets.serve; "
            "print(sorted(m for m in ('pandas', 'plotly', 'sqlalchemy', 'ipywidgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
