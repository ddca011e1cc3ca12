"""``python3 -m grafana_double --config grafana.ini`` runs the double."""

import sys

from .cli import main

sys.exit(main())
