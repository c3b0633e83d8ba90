# SPDX-License-Identifier: Apache-2.0
"""The command line's edges (docs/cli.md): an option that the command would not
apply is refused with exit code 2 and a message naming it, instead of being
silently ignored (a user asking for `--verify` or `--start` believes they got it)."""
import pytest


@pytest.fixture
def inputs(run, tmp_path):
    src = tmp_path / "src.jsonl"
    run("generate", src, "--signal", "logs", "--requests", "1", "--items", "5")
    lake = tmp_path / "lake"
    run("convert", src, lake)
    return src, lake


@pytest.mark.parametrize("args, flag", [
    # Dataset-input options with OTLP file inputs: no filter would be applied.
    (["{src}", "{out}", "--start", "2026-01-01T00:00:00Z"], "--start"),
    (["{src}", "{out}", "--end", "1"], "--end"),
    (["{src}", "{out}", "--partition", "service.name=x"], "--partition"),
    (["{src}", "{out}", "--shard", "0/2"], "--shard"),
    (["{src}", "{lake}", "--shard", "0/2"], "--shard"),
    # --verify replaying a dataset: nothing would be verified.
    (["{lake}", "{out}", "--verify"], "--verify"),
    # Dataset-output options with an OTLP file output: no dataset is written.
    (["{src}", "{out}", "--compression", "snappy"], "--compression"),
    (["{src}", "{out}", "--partition-by", "hour"], "--partition-by"),
    (["{lake}", "{out}", "--rows-per-file", "10"], "--rows-per-file"),
    (["{lake}", "{out}", "--bloom-filter", "trace_id"], "--bloom-filter"),
])
def test_convert_refuses_options_it_would_ignore(run, tmp_path, inputs, args, flag):
    src, lake = inputs
    out = tmp_path / "out.jsonl"
    proc = run("convert", *[a.format(src=src, lake=lake, out=out) for a in args],
               check=False)
    assert proc.returncode == 2, proc.stderr
    assert flag in proc.stderr
    assert not out.exists()


def test_compare_refuses_an_unknown_signal(run, inputs):
    src, _ = inputs
    proc = run("compare", src, src, "--signal", "logz", check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--signal" in proc.stderr

