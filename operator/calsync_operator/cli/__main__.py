"""``python -m calsync_operator.cli``: the ``calsync`` console script without the script."""

from __future__ import annotations

import sys

from calsync_operator.cli.main import main

sys.exit(main())
