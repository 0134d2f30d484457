"""``python -m gateway``: the ``gateway`` command (see ``gateway --help``)."""

import sys

from gateway.cli import main

sys.exit(main())
