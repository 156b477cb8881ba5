"""``python -m phonovault.core.cli``: the command line."""

import sys

from phonovault.core.cli.main import main

sys.exit(main())
