# Copyright: vigil.monitoring contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja tests shared by the roles of vigil.monitoring."""

from __future__ import annotations

import os
import re

# Prometheus durations: number-unit pairs, each unit at most once and larger
# units first, for example 15d, 1h30m or 500ms, as prometheus/common
# model.ParseDuration takes them.
_DURATION_RE = re.compile(
    r"^(?=[0-9])([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$"
)
# bcrypt, which hashes the web passwords, reads at most 72 bytes.
_BCRYPT_MAX_BYTES = 72
# Sizes that --storage.tsdb.retention.size accepts, for example 512MB or 10GB.
_SIZE_RE = re.compile(r"^[0-9]+(?:B|KB|MB|GB|TB|PB|EB)$")


def is_prometheus_duration(value):
    """Test whether ``value`` is a Prometheus duration."""
    return isinstance(value, str) and bool(_DURATION_RE.match(value))


def is_web_password(value):
    """Test whether ``value`` works as a basic auth password everywhere.

    It must be 1 to 72 bytes of UTF-8 (bcrypt's limit) without white space at
    either end, because Prometheus trims a scrape job's password_file.
    """
    if not isinstance(value, str) or value == "" or value != value.strip():
        return False
    return len(value.encode("utf-8")) <= _BCRYPT_MAX_BYTES


def is_port(value):
    """Test whether ``value`` is a TCP port number from 1 to 65535."""
    text = str(value)
    return text.isdigit() and 1 <= int(text) <= 65535


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
            "web_password": is_web_password,
            "port": is_port,
        }
