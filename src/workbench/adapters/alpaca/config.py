"""Alpaca adapter settings: keys from the environment or ``.env`` (pydantic-settings), paper by default.

Keys are read from ``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY`` (Alpaca's own variable names;
``ALPACA_API_KEY`` / ``ALPACA_SECRET_KEY`` also work) and held as ``SecretStr``: they print as
``**********`` in reprs, logs, exceptions and the journal, and :meth:`AlpacaConfig.public` (what a
session stores) leaves them out. Other settings use the ``ALPACA_`` prefix
(``ALPACA_PAPER=false``, ``ALPACA_FEED=sip``, ``ALPACA_TRADING_URL=http://127.0.0.1:8080``).

``paper=True`` is the default; a live account (``paper=False``) needs the session's explicit live
opt-in (``workbench live --confirm-live``), checked by the session builder, not here.

This module imports no vendor code (the CLI and the config loader import it).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workbench.errors import ConfigError

PAPER_TRADING_URL = "https://paper-api.alpaca.markets"
LIVE_TRADING_URL = "https://api.alpaca.markets"
DATA_URL = "https://data.alpaca.markets"
DATA_STREAM_URL = "wss://stream.data.alpaca.markets/v2/{feed}"
PAPER_TRADING_STREAM_URL = "wss://paper-api.alpaca.markets/stream"
LIVE_TRADING_STREAM_URL = "wss://api.alpaca.markets/stream"


class AlpacaConfig(BaseSettings):
    """Settings of the Alpaca adapter (see the module docstring for the environment variables).

    Attributes
    ----------
    api_key, secret_key : SecretStr
        Never logged, never journaled.
    paper : bool
        Paper account (default) or live.
    feed : "iex" | "sip"
        Market data feed.
    trading_url, data_url : str | None
        REST base URLs without ``/v2`` (None: Alpaca's, paper or live).
    data_stream_url, trading_stream_url : str | None
        Full websocket URLs (None: Alpaca's).
    silence_timeout : float | None
        Seconds without any market data message after which the data socket counts as dead
        (alpaca-py #740); None disables it (a quiet subscription, e.g. daily bars only).
    reconnect_initial, reconnect_maximum : float
        Backoff bounds in seconds (exponential with jitter).
    rest_retry_wait : float
        Seconds alpaca-py waits between its retries of 429/504 answers (Alpaca's client: 3).
    rest_timeout : float
        Seconds a REST request may take (alpaca-py sets none: a request that never gets an answer
        would block every later order).
    health_interval : float
        Seconds between ConnectionHealthReported events.
    """

    model_config = SettingsConfigDict(env_prefix="ALPACA_", env_file=".env", extra="ignore", frozen=True,
                                      populate_by_name=True)

    api_key: SecretStr = Field(SecretStr(""), validation_alias=AliasChoices("api_key", "APCA_API_KEY_ID",
                                                                            "ALPACA_API_KEY"))
    secret_key: SecretStr = Field(SecretStr(""), validation_alias=AliasChoices("secret_key", "APCA_API_SECRET_KEY",
                                                                               "ALPACA_SECRET_KEY"))
    paper: bool = True
    feed: Literal["iex", "sip"] = "iex"
    trading_url: str | None = None
    data_url: str | None = None
    data_stream_url: str | None = None
    trading_stream_url: str | None = None
    silence_timeout: float | None = Field(60.0, gt=0)
    reconnect_initial: float = Field(0.5, gt=0)
    reconnect_maximum: float = Field(30.0, gt=0)
    rest_retry_wait: float = Field(3.0, ge=0)
    rest_timeout: float = Field(10.0, gt=0)
    health_interval: float = Field(5.0, gt=0)
    connect_timeout: float = Field(30.0, gt=0)

    @field_validator("trading_url", "data_url", "data_stream_url", "trading_stream_url")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    # ------------------------------------------------------------------------------- URLs
    @property
    def rest_trading_url(self) -> str:
        return self.trading_url or (PAPER_TRADING_URL if self.paper else LIVE_TRADING_URL)

    @property
    def rest_data_url(self) -> str:
        """Historical data REST base: ``data_url``, else the trading URL when it is local (an emulator
        serves both), else Alpaca's."""
        return self.data_url or (self.trading_url if self._local else DATA_URL)  # type: ignore[return-value]

    @property
    def _local(self) -> bool:
        return bool(self.trading_url and ("127.0.0.1" in self.trading_url or "localhost" in self.trading_url))

    @property
    def stream_data_url(self) -> str:
        return self.data_stream_url or DATA_STREAM_URL.format(feed=self.feed)

    @property
    def stream_trading_url(self) -> str:
        return self.trading_stream_url or (PAPER_TRADING_STREAM_URL if self.paper else LIVE_TRADING_STREAM_URL)

    def credentials(self) -> tuple[str, str]:
        """The key and secret in clear, for the vendor clients only.

        Raises
        ------
        ConfigError
            When either is missing (names the variables, never a value).
        """
        key, secret = self.api_key.get_secret_value(), self.secret_key.get_secret_value()
        if not key or not secret:
            raise ConfigError("alpaca: API key and secret are required: set APCA_API_KEY_ID and "
                              "APCA_API_SECRET_KEY in the environment or in .env")
        return key, secret

    def public(self) -> dict[str, Any]:
        """Settings without the secrets (what a session stores in the journal)."""
        return self.model_dump(mode="json", exclude={"api_key", "secret_key"})

    @classmethod
    def for_emulator(cls, emulator: Any, **overrides: Any) -> AlpacaConfig:
        """Settings pointing at a running :class:`~workbench.emulators.alpaca.AlpacaEmulator` (its fake keys)."""
        values: dict[str, Any] = dict(api_key=emulator.key, secret_key=emulator.secret, paper=True,
                                      trading_url=emulator.rest_url, data_url=emulator.rest_url,
                                      data_stream_url=emulator.data_url, trading_stream_url=emulator.trading_url)
        values.update(overrides)
        return cls(**values)


def load_alpaca_config(values: dict[str, Any] | None = None) -> AlpacaConfig:
    """:class:`AlpacaConfig` from ``values`` over the environment / ``.env``.

    Raises
    ------
    ConfigError
        Invalid values (the message names the setting, never a secret value).
    """
    from pydantic import ValidationError

    try:
        return AlpacaConfig(**dict(values or {}))
    except ValidationError as exc:
        fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"alpaca settings invalid: {fields}") from None
