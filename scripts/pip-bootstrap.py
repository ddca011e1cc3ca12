"""Install pip into an empty virtual environment, offline first.

ansible-test bootstraps pip in each of its virtual environments with a
script that it downloads from a site outside the Python package index, and
looks for a copy in ~/.ansible/test/cache first. scripts/sanity.sh puts this
file there: it takes the same arguments (pip options and requirement
specifiers such as pip==24.2), installs the pip wheel that ships with
CPython through ensurepip, and lets that pip install the requested versions
from the package index.
"""

from __future__ import annotations

import subprocess
import sys

# Flags of the original bootstrap script that pip install does not know.
BOOTSTRAP_ONLY_FLAGS = {"--no-setuptools", "--no-wheel"}


def main(arguments: list[str]) -> int:
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    pip_arguments = [a for a in arguments if a not in BOOTSTRAP_ONLY_FLAGS]
    return subprocess.call([sys.executable, "-m", "pip", "install", *pip_arguments])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
