# SPDX-License-Identifier: Apache-2.0
"""`receiver:parquet` end to end: `otap-parquet run` replays a dataset written by
`otap-parquet convert` (one-shot: the run ends by itself), with the original
design's legacy config, and receiver:parquet → exporter:parquet rewrites a dataset
that converts back to the same telemetry."""
import json
import pathlib
import re

import pytest
from engines import v1_config

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"

ITEM_KEYS = {"logs": ("resourceLogs", "scopeLogs", "logRecords"),
             "traces": ("resourceSpans", "scopeSpans", "spans")}


def count_items(path, signal):
    top, mid, leaf = ITEM_KEYS[signal]
    total = 0
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        request = json.loads(line)
        for r in request.get(top, []):
            for s in r.get(mid, []):
                total += len(s.get(leaf, []))
    return total


def metric(text, name, node):
    return sum(map(int, re.findall(
        rf'otap_node_{name}(?:_total)?\{{[^}}]*node="{node}"[^}}]*\}} (\d+)', text)))


def make_lake(run, tmp_path, signal="logs", extra=()):
    src = tmp_path / "in.jsonl"
    run("generate", "--signal", signal, "--requests", "5", "--items", "40", "--seed", "3",
        *extra, src)
    lake = tmp_path / "lake"
    run("convert", "--max-batch-rows", "30", src, lake)
    return src, lake


def test_legacy_demo_config_replays_one_shot(run, tmp_path):
    # Scenario: configs/parquet-receiver-demo.yaml (legacy format, old URNs) pointed
    # at a converted dataset, made one-shot, debug at basic verbosity.
    # Guarantees: the run ends by itself with 0; debug totals and the receiver's
    # metrics show exactly the dataset's log records, all acked, no errors.
    src, lake = make_lake(run, tmp_path)
    expected = count_items(src, "logs")
    assert expected > 0
    text = (CONFIGS / "parquet-receiver-demo.yaml").read_text()
    text = (text.replace('"output_parquet_files"', f'"{lake}"')
            .replace('polling_interval: "5s"', 'polling_interval: "0s"')
            .replace('min_file_age: "10s"', 'min_file_age: "0s"')
            .replace("batch_size: 1000", "batch_size: 25")
            .replace("validate_relations: false", "validate_relations: true")
            .replace("verbosity: detailed", "verbosity: basic"))
    assert str(lake) in text and "0s" in text
    config = tmp_path / "demo.yaml"
    config.write_text(text)
    metrics = tmp_path / "metrics.prom"
    proc = run("run", "--num-cores", "1", "--pipeline", config, "--metrics-file", metrics)
    assert "Pipeline run successfully" in proc.stdout
    totals = re.findall(r"totals: logs=(\d+) batches/(\d+) items", proc.stdout)
    assert totals and int(totals[-1][1]) == expected, proc.stdout[-2000:]
    m = metrics.read_text()
    assert metric(m, "parquet_records_emitted", "parquet_receiver") == expected
    batches = metric(m, "parquet_batches_emitted", "parquet_receiver")
    assert batches >= expected // 25
    assert metric(m, "parquet_batches_acked", "parquet_receiver") == batches
    assert metric(m, "parquet_batches_in_flight", "parquet_receiver") == 0
    assert metric(m, "parquet_files_read", "parquet_receiver") > 0
    assert metric(m, "parquet_corrupt_files", "parquet_receiver") == 0
    assert metric(m, "parquet_orphan_rows", "parquet_receiver") == 0
    assert metric(m, "received_items", "noop_exporter") == expected
    assert metric(m, "errors", "parquet_receiver") == 0


def test_replay_config_validates(run):
    proc = run("run", "-c", CONFIGS / "parquet-replay.yaml", "--validate-and-exit")
    assert "is valid" in proc.stdout


@pytest.mark.parametrize("signal", ["logs", "traces", "metrics"])
def test_parquet_to_parquet_is_same_telemetry(run, tmp_path, signal):
    # Scenario: receiver:parquet → exporter:parquet into a second dataset (v1 config).
    # Guarantees: the run ends by itself; the second dataset converts back to the
    # same telemetry as the generator's input.
    src, lake = make_lake(run, tmp_path, signal, ["--edge-cases"])
    second = tmp_path / "second"
    config = tmp_path / "p2p.yaml"
    config.write_text(v1_config(f"""
        src:
          type: receiver:parquet
          config:
            base_uri: "{lake}"
            signal_types: [{signal}]
            processing_options: {{batch_size: 7}}
        dst:
          type: exporter:parquet
          config:
            storage: {{file: {{base_uri: "{second}"}}}}
            writer_options: {{flush_when_older_than: 1s}}""", "- {from: src, to: dst}"))
    metrics = tmp_path / "metrics.prom"
    run("run", "--num-cores", "1", "-c", config, "--metrics-file", metrics)
    m = metrics.read_text()
    assert metric(m, "parquet_batches_in_flight", "src") == 0
    assert metric(m, "parquet_batches_nacked", "src") == 0
    out = tmp_path / "out.jsonl"
    run("convert", second, out)
    run("compare", src, out)


def test_polling_replays_each_partition_once(engine, run, tmp_path):
    # Scenario: polling every 300ms on 2 cores over a converted dataset, until the
    # metrics show the dataset emitted and at least 4 passes; then SIGTERM.
    # Guarantees: the dataset is emitted once in total (its partition belongs to one
    # instance); later passes skip it without reading any file; the run ends with 0.
    # (Waits on the counts instead of a fixed --duration: a loaded machine may need
    # longer for the first pass.)
    from engines import wait_until
    src, lake = make_lake(run, tmp_path)
    expected = count_items(src, "logs")
    config = tmp_path / "poll.yaml"
    config.write_text(v1_config(f"""
        src:
          type: receiver:parquet
          config: {{base_uri: "{lake}", polling_interval: 300ms}}
        out: {{type: exporter:noop}}""", "- {from: src, to: out}"))
    metrics = tmp_path / "metrics.prom"
    proc = engine(config, "--num-cores", "2", "--metrics-file", metrics)

    def settled():
        proc.check_running()
        m = proc.metrics()
        return (metric(m, "received_items", "out") >= expected and
                metric(m, "parquet_passes", "src") >= 4)
    wait_until(settled, "the dataset emitted and 4 passes", 60)
    proc.stop()
    m = metrics.read_text()
    assert metric(m, "parquet_records_emitted", "src") == expected
    assert metric(m, "received_items", "out") == expected
    assert metric(m, "parquet_passes", "src") >= 4
    assert metric(m, "parquet_resume_skipped_files", "src") >= 1
