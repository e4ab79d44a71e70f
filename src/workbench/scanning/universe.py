"""The universe a scan ranks: a list of symbols, from a list, a file or the data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from workbench.errors import DataError

__all__ = ["Universe"]


@dataclass(frozen=True)
class Universe:
    """An ordered set of symbols (upper case, no duplicates)."""

    symbols: tuple[str, ...]

    @classmethod
    def of(cls, symbols: Iterable[str]) -> Universe:
        """From symbols; blanks are dropped, duplicates kept once, case folded to upper."""
        seen: dict[str, None] = {}
        for s in symbols:
            name = str(s).strip().upper()
            if name:
                seen.setdefault(name, None)
        if not seen:
            raise DataError("universe: no symbols")
        return cls(tuple(seen))

    @classmethod
    def from_file(cls, path: str | Path) -> Universe:
        """From a text file (one symbol per line, ``#`` comments) or a CSV with a ``symbol`` column.

        Raises
        ------
        DataError
            Missing or unreadable file, or no symbols in it, naming the file.
        """
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"{p}: cannot read the universe file: {exc}") from None
        lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        lines = [line for line in lines if line]
        if lines and "," in lines[0]:
            header = [h.strip().lower() for h in lines[0].split(",")]
            if "symbol" not in header:
                raise DataError(f"{p}: a CSV universe needs a 'symbol' column (header: {lines[0]!r})")
            k = header.index("symbol")
            lines = [row.split(",")[k] for row in lines[1:]]
        try:
            return cls.of(lines)
        except DataError:
            raise DataError(f"{p}: the universe file lists no symbols") from None

    @classmethod
    def from_data(cls, data: pd.DataFrame | Sequence[str]) -> Universe:
        """Every symbol of a bar frame (``symbol`` column) or of a panel's column list."""
        names = data["symbol"].unique() if isinstance(data, pd.DataFrame) else data
        return cls.of(sorted(map(str, names)))

    def check(self, available: Iterable[str]) -> None:
        """Raise :class:`DataError` naming every symbol of the universe that has no data."""
        have = set(available)
        missing = [s for s in self.symbols if s not in have]
        if missing:
            raise DataError(f"universe: no data for symbol(s) {missing}")

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.symbols)

    def __len__(self) -> int:
        return len(self.symbols)
