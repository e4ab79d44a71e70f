"""Base class of the display components: a titled ``VBox`` bound to a :class:`JournalView`."""

from __future__ import annotations

import os
from typing import Any

import ipywidgets as widgets

from workbench.persistence import Journal
from workbench.widgets.source import JournalView, Snapshot

__all__ = ["Component", "as_view"]


def as_view(source: JournalView | Journal | str | os.PathLike[str], session_id: str | None = None, *,
            live: Any = None) -> JournalView:
    """``source`` itself when it is a :class:`JournalView`, else a new view of ``(journal, session_id)``."""
    if isinstance(source, JournalView):
        if session_id is not None:
            source.session_id = session_id
        if live is not None:
            source.live = live
        return source
    return JournalView(source, session_id, live=live)


class Component(widgets.VBox):
    """A dashboard part: construct once, then call :meth:`update` with each new snapshot.

    Parameters
    ----------
    source : JournalView | Journal | str
        Where to read (a view shared with other components, or a journal/URL).
    session_id : str, optional
        Session shown (when ``source`` is not already a view bound to one).
    live : object, optional
        A running paper/live session (see :class:`JournalView`).

    Subclasses build their child widgets in ``__init__`` and change only their values in
    :meth:`update` (no widget is recreated on refresh).
    """

    title = ""
    volatile = False
    """True when the component shows something that changes without a new event (ages, the
    command queue): the dashboard then updates it on every refresh, others only after new events."""

    def __init__(self, source: JournalView | Journal | str | os.PathLike[str], session_id: str | None = None, *,
                 live: Any = None, **kwargs: Any) -> None:
        self.view = as_view(source, session_id, live=live)
        self.heading = widgets.HTML(f"<div class='wb-title'>{self.title}</div>" if self.title else "")
        super().__init__(**kwargs)

    def refresh(self) -> Snapshot | None:
        """Read a snapshot from the view and :meth:`update` (no-op without a session)."""
        if self.view.session_id is None:
            return None
        snap = self.view.snapshot()
        self.update(snap)
        return snap

    def update(self, snapshot: Snapshot) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
