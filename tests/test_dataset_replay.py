# SPDX-License-Identifier: Apache-2.0
"""OTLP → Parquet dataset → OTLP through the CLI: the replay is the same telemetry,
for every signal and field, also with files rotated every few rows and event-time
partitions; time ranges select records."""
import pytest


@pytest.mark.parametrize("signal", ["logs", "traces", "metrics"])
@pytest.mark.parametrize(
    "layout",
    [
        [],
        ["--rows-per-file", "7"],
        ["--rows-per-file", "13", "--partition-by", "part_id", "--partition-by", "hour"],
    ],
    ids=["one-file", "rotated", "hourly"],
)
def test_dataset_roundtrip_is_lossless(tmp_path, run, signal, layout):
    src = tmp_path / "in.jsonl"
    run("generate", "--edge-cases", "--signal", signal, "--requests", "6", "--seed", "7", src)
    lake = tmp_path / "lake"
    run("convert", "--max-batch-rows", "9", src, lake, *layout)
    out = tmp_path / "out.jsonl"
    run("convert", lake, out)
    run("compare", src, out)


def test_time_range_selects_records(tmp_path, run):
    src = tmp_path / "in.jsonl"
    run("generate", "--signal", "logs", "--requests", "3", "--items", "20", src)
    lake = tmp_path / "lake"
    run("convert", src, lake)
    everything = tmp_path / "all.jsonl"
    run("convert", lake, everything)
    none = tmp_path / "none.jsonl"
    run("convert", "--start", "2100-01-01T00:00:00Z", lake, none)
    assert none.read_text().strip() == ""
    proc = run("compare", src, everything)
    assert proc.returncode == 0


def test_bad_dataset_inputs(tmp_path, run):
    proc = run("convert", "--start", "yesterday", tmp_path, tmp_path / "o.jsonl", check=False)
    assert proc.returncode == 2 and "yesterday" in proc.stderr  # usage error
    lake = tmp_path / "lake" / "logs" / "_part_id=00000000-0000-4000-8000-000000000000"
    lake.mkdir(parents=True)
    (lake / "part-1-x.parquet").write_bytes(b"PAR1 garbage")
    out = tmp_path / "o.jsonl"
    proc = run("convert", tmp_path / "lake", out, check=False)
    assert proc.returncode == 3, proc.stderr  # corrupt file skipped, reported
    assert "corrupt" in proc.stderr
