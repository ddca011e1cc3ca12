# Copyright: vigil.monitoring contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja tests shared by the roles of vigil.monitoring."""

from __future__ import annotations

import os
import re

# Prometheus durations: one or more number-unit pairs, largest unit first,
# for example 15d, 1h30m or 500ms (prometheus/common model.ParseDuration).
_DURATION_RE = re.compile(r"^(?:[0-9]+(?:y|w|d|h|ms|m|s))+$")
# Sizes that --storage.tsdb.retention.size accepts, for example 512MB or 10GB.
_SIZE_RE = re.compile(r"^[0-9]+(?:B|KB|MB|GB|TB|PB|EB)$")


def is_prometheus_duration(value):
    """Test whether ``value`` is a Prometheus duration."""
    return isinstance(value, str) and bool(_DURATION_RE.match(value))


def is_prometheus_size(value):
    """Test whether ``value`` is a Prometheus size."""
    return isinstance(value, str) and bool(_SIZE_RE.match(value))


def is_readable_file(path):
    """Test whether ``path`` is a regular file that the controller can read.

    Jinja tests run on the controller, so this checks files that a role will
    copy to its hosts without a round trip to any host.
    """
    return (
        isinstance(path, str)
        and path != ""
        and os.path.isfile(path)
        and os.access(path, os.R_OK)
    )


class TestModule:
    """Tests of vigil.monitoring."""

    def tests(self):
        return {
            "prometheus_duration": is_prometheus_duration,
            "prometheus_size": is_prometheus_size,
            "readable_file": is_readable_file,
        }
