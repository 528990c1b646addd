"""``python -m bayes_reg``: the same command line as ``bayes-reg``."""

import sys

from bayes_reg.cli import main

sys.exit(main())
