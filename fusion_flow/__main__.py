"""``python -m fusion_flow``: the same as the ``fusion-flow`` command."""

import sys

from fusion_flow.cli import main

sys.exit(main())
