"""A test double of the Grafana HTTP API for the vigil.monitoring collection.

It serves the subset of Grafana's HTTP API that Grafana's OpenAPI
description covers for this collection. See README.md for what it models.
"""

from .config import Settings, load_settings
from .server import GrafanaDouble

__all__ = ["GrafanaDouble", "Settings", "load_settings"]
