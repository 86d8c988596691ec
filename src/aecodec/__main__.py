"""`python -m aecodec` runs the command line."""

import sys

from aecodec.cli import main

sys.exit(main())
