"""``python -m tokenfab.cli``: the same as the ``tokenfab`` command."""

import sys

from . import main

sys.exit(main())
