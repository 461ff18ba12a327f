"""``python -m minireg`` runs the same command line as the ``minireg`` script."""

import sys

from minireg.cli import main

sys.exit(main())
