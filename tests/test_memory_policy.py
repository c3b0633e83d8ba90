# SPDX-License-Identifier: Apache-2.0
"""The process memory policy reaches jemalloc (docs/engine.md, "Memory").

libarrow's jemalloc reads JE_ARROW_MALLOC_CONF before main(); the CLI sets ours and
executes itself again, so jemalloc's effective options (as it reports them) are ours
unless the user set the variable."""
import os
import re
import subprocess


def memory_line(cli, env_update):
    env = {k: v for k, v in os.environ.items() if k != "JE_ARROW_MALLOC_CONF"}
    env.update(env_update, SPDLOG_LEVEL="debug")
    env.pop("ARROW_DEFAULT_MEMORY_POOL", None)
    proc = subprocess.run([str(cli), "--version"], capture_output=True, text=True,
                          env=env, check=True)
    assert proc.stdout.startswith("otap-parquet ")  # ran once to the end
    m = re.search(r"memory: (.*)", proc.stderr)
    assert m, proc.stderr
    return m.group(1)


def test_jemalloc_options_are_ours_when_unset(cli):
    line = memory_line(cli, {})
    if "arrow pool jemalloc" not in line:
        return  # an Arrow build without jemalloc: nothing to configure
    assert "dirty_decay_ms 10000 muzzy_decay_ms -1" in line, line


def test_jemalloc_options_of_the_user_win(cli):
    line = memory_line(cli, {"JE_ARROW_MALLOC_CONF": "muzzy_decay_ms:5000"})
    if "arrow pool jemalloc" not in line:
        return
    # Arrow's compiled-in dirty decay (1 s), the user's muzzy decay.
    assert "muzzy_decay_ms 5000" in line, line
    assert "muzzy_decay_ms -1" not in line
