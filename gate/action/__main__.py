"""`python -m gate.action`: the GitHub Action's entrypoint (see `gate.action.main`)."""

import sys

from gate.action.main import main

sys.exit(main())
