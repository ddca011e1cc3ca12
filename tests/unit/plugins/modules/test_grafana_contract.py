# Copyright: contributors to the vigil.monitoring collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Contract check of every exchange that the Grafana modules had with the double.

``tests/unit/plugins/conftest.py`` moves this test after all others, so it
sees the traffic of the whole session.
"""

from __future__ import annotations

import pytest
from grafana_double.contract import SpecNotFoundError, check_exchanges


def test_grafana_contract_all_exchanges(grafana):
    records = list(grafana.records)
    try:
        problems = check_exchanges(records)
    except SpecNotFoundError as error:
        pytest.fail(str(error), pytrace=False)

    assert records, "no exchanges were recorded"
    assert not problems, "contract problems:\n" + "\n".join(problems)
