"""``python -m gateway``: the ``gateway`` command (see ``gateway --help``)."""

import sys

from gateway._cli import main

sys.exit(main())
