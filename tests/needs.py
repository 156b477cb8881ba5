"""What a test does when the machine lacks something it needs (a tool, root, a mount).

On a developer's machine it skips and says why. CI's machine has everything the suite needs
(`make test` installs the Debian tools, runs as root, may mount), so there a missing piece
fails the test: a check that quietly skips in CI is a check that never runs.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this check, but {reason}")
    pytest.skip(reason)
