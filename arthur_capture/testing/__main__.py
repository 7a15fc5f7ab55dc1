"""``python -m arthur_capture.testing`` runs a local Arthur server until interrupted."""

import sys

from arthur_capture.testing._command import main

sys.exit(main())
