"""The Alpaca REST sessions read the environment's proxy and CA settings once (not per order), and still
honour them: the semantics are ``requests``' own (``Session.merge_environment_settings``: proxies from
``HTTPS_PROXY``/``NO_PROXY``, ``REQUESTS_CA_BUNDLE``; https://requests.readthedocs.io/en/latest/user/advanced/#proxies)."""

from __future__ import annotations

import requests

from workbench.adapters.alpaca.execution import freeze_environment

URL = "https://paper-api.alpaca.markets"


def test_proxy_and_ca_bundle_from_the_environment_are_kept(monkeypatch, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    expected = requests.Session().merge_environment_settings(URL, {}, None, None, None)
    session = requests.Session()
    freeze_environment(session, URL)
    assert session.trust_env is False
    # what requests itself computes for a request now equals what it computed from the environment
    got = session.merge_environment_settings(URL, {}, None, None, None)
    assert got["proxies"]["https"] == expected["proxies"]["https"] == "http://proxy.example:3128"
    assert got["verify"] == expected["verify"] == str(bundle)


def test_no_proxy_for_a_local_emulator(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    session = requests.Session()
    freeze_environment(session, "http://127.0.0.1:8080")
    assert session.merge_environment_settings("http://127.0.0.1:8080/v2/orders", {}, None, None, None)["proxies"] \
        .get("http") is None
