"""``python -m arthur_capture`` runs the command line."""

import sys

from arthur_capture.cli import main

sys.exit(main())
