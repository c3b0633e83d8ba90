# SPDX-License-Identifier: Apache-2.0
"""The reliability suite's summary: one `reliability: <scenario> ...` line per
scenario at the end of the pytest run (see rel_common.summary)."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import rel_common  # noqa: E402


def pytest_terminal_summary(terminalreporter):
    if rel_common.SUMMARIES:
        terminalreporter.section("reliability summary")
        for line in rel_common.SUMMARIES:
            terminalreporter.write_line(line)
