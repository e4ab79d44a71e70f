"""Faults the TWS emulator can inject, to test an adapter against what live IB does.

Each one reproduces a failure reported against IB clients (``../shared/protocols/pitfalls.md``):

- ``busy_client_ids``: error 326 "client id already in use", then the socket closes (ib_async #143,
  #152; NautilusTrader PR #3796);
- ``drop_on_next_fill``: the socket drops right after an execution, before its messages are sent
  (fills in flight; LEAN IB #249); :meth:`TwsEmulator.drop` drops without fills in flight;
- ``roll_back_ids_to`` on :meth:`TwsEmulator.restart`: a gateway restart hands out an old
  ``nextValidId`` (ib_insync #644, LEAN IB #242);
- ``duplicate_exec_details``: every live execDetails is sent twice; ``correct_exec_details``: each is
  followed by a correction (same execution, execId ending ``.02``: IB's correction form);
- ``commission_first``: commissionReport before its execDetails (rust-ibapi #788);
- ``historical_requests_per_10min``: historical requests beyond it get error 162 (LEAN #607);
- ``max_messages_per_second``: a client sending faster gets error 100 (TWS's 50 msg/s limit);
- ``info_storm``: informational errors (2104, 2106, 2158, 2119 and 10349 on the order) after every
  order event (ib_async #191).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# (code, text) of informational messages TWS sends that must not change any order's state
INFO_MESSAGES: tuple[tuple[int, str], ...] = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
    (2119, "Market data farm is connecting:usfarm"),
)
ORDER_INFO = (10349, "Order TIF was set to DAY based on order preset.")


@dataclass
class TwsFaults:
    """Switches of the emulator's fault injection (all off by default)."""

    busy_client_ids: set[int] = field(default_factory=set)
    drop_on_next_fill: bool = False
    duplicate_exec_details: bool = False
    correct_exec_details: bool = False
    commission_first: bool = False
    historical_requests_per_10min: int = 60
    historical_window: float = 600.0  # seconds (tests shorten IB's ten minutes)
    max_messages_per_second: int = 0
    info_storm: int = 0
