"""Named points of a run where the crash tests kill the process.

``RESTORE_LEDGER_KILL_AT=<name>`` makes the process send itself SIGKILL at that point:
the tests use it to prove that a restore, apply or rollback killed anywhere leaves the
target as before or as after, never in between. Unset, a checkpoint does nothing.
"""

from __future__ import annotations

import os
import signal

KILL_AT = "RESTORE_LEDGER_KILL_AT"


def checkpoint(name: str) -> None:
    if os.environ.get(KILL_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)
