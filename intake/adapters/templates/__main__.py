"""``python -m intake.adapters.templates --write-docs docs/templates.md``."""

import sys

from intake.adapters.templates.docs import main

sys.exit(main())
