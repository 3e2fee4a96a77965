"""Named points where crash tests stop a worker dead (SIGKILL), to prove effects happen once.

Armed only through the CHAIN_FAILPOINTS setting, which only test settings read from the
environment; in any other environment this module does nothing.
"""

from __future__ import annotations

import os
import signal

from django.conf import settings


def failpoint(name: str) -> None:
    armed = getattr(settings, "CHAIN_FAILPOINTS", ())
    if name in armed:
        os.kill(os.getpid(), signal.SIGKILL)
