#!/usr/bin/env python3
"""Add up the JUnit XML reports of one test run and print one closing line.

Exits non-zero when a test failed or when the reports hold no test at all,
so that a run which collected nothing does not pass.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def count(path: str) -> tuple[int, int, int]:
    """Return (passed, failed, skipped) for one JUnit XML file."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    passed = failed = skipped = 0
    for suite in suites:
        tests = int(suite.get("tests", 0))
        bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skip = int(suite.get("skipped", 0))
        failed += bad
        skipped += skip
        passed += tests - bad - skip
    return passed, failed, skipped


def main(paths: list[str]) -> int:
    totals = [0, 0, 0]
    # An unmatched shell glob arrives as its pattern: no report was written.
    for path in (path for path in paths if Path(path).is_file()):
        for index, value in enumerate(count(path)):
            totals[index] += value
    passed, failed, skipped = totals
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    if passed == 0:
        print("no test ran: the reports are empty", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
