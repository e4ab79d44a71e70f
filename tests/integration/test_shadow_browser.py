"""The dashboard in Chromium shows a graduated live session beside its paper shadow.

A paper record graduates on the Alpaca emulator (through alpaca-py) with its shadow; the page
served by ``workbench dashboard`` on that journal, opened on the live session, shows the panel
"Live and its paper shadow": the multiplier card equals the last journaled
``SizeMultiplierChanged``, the equity row equals each session's last journaled account state
(read from the journal's ``equity`` read model here), the history table has one row per change;
opened on a session without a shadow, the panel is hidden.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alpaca_helpers import FAST_RECONNECT, demo_bars, start_emulator
from test_dashboard_browser import CHROMIUM, _dashboard, _page, _texts
from test_graduation_shadow import PAPER, _graduate, record  # noqa: F401 (record: the module's paper record fixture)

from workbench.model import events as ev
from workbench.widgets.html import money, number

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian chromium at /usr/bin/chromium"),
]


async def _graduated(record: dict[str, Any]) -> Any:  # noqa: F811
    from alpaca_helpers import run_to_end

    emulator = start_emulator(data=demo_bars(120), speed=2400.0)
    try:
        live = _graduate(record, "alpaca", emulator, "browser-live", alpaca=FAST_RECONNECT)
        await run_to_end(live, emulator)
    finally:
        emulator.stop_thread()
    return live


def test_dashboard_shows_live_and_shadow_side_by_side(record: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    import asyncio

    live = asyncio.run(_graduated(record))
    journal = record["journal"]
    changes = list(journal.events(live.session_id, types=[ev.SizeMultiplierChanged]))
    assert len(changes) >= 2, "the multiplier should have stepped at least once on 120 bars"
    equity = {sid: money(journal.equity(sid)["equity"].iloc[-1]) for sid in (live.session_id, live.shadow.session_id)}
    path = Path(journal.engine.url.database)
    with _dashboard(path, tmp_path, live.session_id) as (url, _port, _launched), _page(url) as page:
        page.wait_for_selector(".wb-shadow .wb-stat-multiplier", timeout=90_000)
        assert page.text_content(".wb-shadow .wb-stat-multiplier").strip() == number(changes[-1].new)
        figures = _texts(page, ".wb-shadow-sides td[data-column='figure']")
        row = figures.index("equity")
        assert _texts(page, ".wb-shadow-sides td[data-column='live']")[row] == equity[live.session_id]
        assert _texts(page, ".wb-shadow-sides td[data-column='shadow']")[row] == equity[live.shadow.session_id]
        sessions = _texts(page, ".wb-shadow-sides td[data-column='live']")[figures.index("session")]
        assert sessions == live.session_id
        assert len(_texts(page, ".wb-shadow-history td[data-column='to']")) == len(changes)
        picker = page.locator(".wb-session-picker select")
        labels = picker.evaluate("s => [...s.options].map(o => o.textContent)")
        picker.select_option(index=next(i for i, text in enumerate(labels) if text.startswith(PAPER)))
        page.wait_for_selector(".wb-shadow", state="hidden", timeout=30_000)
        assert page.locator("text=refresh failed").count() == 0
