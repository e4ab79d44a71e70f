"""``workbench dashboard``: the Voila command line, token, environment and CLI parser."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from workbench.widgets import serve


def test_prepare_dashboard_binds_localhost_with_a_token_and_hides_tracebacks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    server = serve.prepare_dashboard("data/journal.sqlite", port=8899, token="secret-token")
    argv = server.argv
    assert "--Voila.ip=127.0.0.1" in argv and "--port=8899" in argv
    assert not [a for a in argv if "secret-token" in a]  # not on the command line: any local user can read it (ps)
    assert server.env["JUPYTER_TOKEN"] == "secret-token" and "--Voila.auto_token=True" in argv
    assert "--show_tracebacks=False" in argv
    assert "--Voila.identity_provider_class=workbench.widgets.auth.TokenOnlyIdentityProvider" in argv
    assert argv[argv.index("-m") + 1] == "workbench.widgets.voila_main"
    assert Path(argv[argv.index("-m") + 2]).name == "ops.ipynb"
    assert server.url == "http://127.0.0.1:8899/?token=secret-token"
    assert server.env["WORKBENCH_JOURNAL"] == f"sqlite:///{tmp_path / 'data' / 'journal.sqlite'}"
    assert server.env["WORKBENCH_DASHBOARD_KERNEL"] == "1"


def test_generated_tokens_and_ports(monkeypatch):
    monkeypatch.delenv("WORKBENCH_JOURNAL", raising=False)
    one, two = serve.prepare_dashboard(), serve.prepare_dashboard()
    assert one.token != two.token and len(one.token) >= 32
    assert 0 < one.port < 65536
    assert one.journal_url.endswith("workbench_data/journal.sqlite") and one.journal_url.startswith("sqlite:////")


def test_journal_from_the_environment_and_urls_kept(monkeypatch):
    monkeypatch.setenv("WORKBENCH_JOURNAL", "postgresql+psycopg://u@h/db")
    assert serve.prepare_dashboard(token="t").env["WORKBENCH_JOURNAL"] == "postgresql+psycopg://u@h/db"
    assert serve.absolute_journal_url("sqlite:////abs/j.db") == "sqlite:////abs/j.db"


@pytest.mark.parametrize(("kwargs", "message"), [({"port": 0}, "port"), ({"port": 70000}, "port"),
                                                  ({"token": "  "}, "token")])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        serve.prepare_dashboard(**kwargs)


def test_missing_notebook_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing\.ipynb"):
        serve.prepare_dashboard(notebook=tmp_path / "nothing.ipynb")


def test_cli_parser(monkeypatch):
    parser = argparse.ArgumentParser(prog="workbench")
    serve.add_dashboard_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["dashboard", "--journal", "j.sqlite", "--port", "9000", "--token", "t",
                              "--session-id", "s1"])
    assert args.func is serve.run_dashboard
    assert (args.journal, args.port, args.token, args.session_id, args.open) == ("j.sqlite", 9000, "t", "s1", False)
    seen = {}
    monkeypatch.setattr(serve, "serve_dashboard", lambda *a, **k: seen.update(args=a, kwargs=k) or 0)
    assert args.func(args) == 0
    assert seen["args"] == ("j.sqlite", 9000, "t", False)
    assert seen["kwargs"]["session_id"] == "s1"
    assert os.environ.get("WORKBENCH_SESSION") is None
