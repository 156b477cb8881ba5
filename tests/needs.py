"""What a test does when the machine lacks something it needs (a tool, root, a mount).

It fails and says why: a check that quietly skips is a check that never runs, and CI's
machine has everything the suite needs (`make test` installs the Debian tools, runs as root,
may mount). On a machine that cannot have it (no root, no user namespaces), a developer can
opt in to skipping those few checks with ``PHONOVAULT_ALLOW_SKIPS=1``; CI never sets it.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("PHONOVAULT_ALLOW_SKIPS") == "1" and not os.environ.get("CI"):
        pytest.skip(reason)
    pytest.fail(f"this check cannot run here: {reason} "
                "(PHONOVAULT_ALLOW_SKIPS=1 skips it on a machine that lacks it)")  # fmt: skip
