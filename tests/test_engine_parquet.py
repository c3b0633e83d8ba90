# SPDX-License-Identifier: Apache-2.0
"""`exporter:parquet` end to end: `otap-parquet run` with traffic_generator →
batch → exporter:parquet on 2 cores, read back with pyarrow and DuckDB."""
import pathlib
import re
import signal
import subprocess

import duckdb
import pyarrow.dataset as ds
from engines import wait_until

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


def make_config(tmp_path, out, max_batches, extra_writer=""):
    """configs/traffic-parquet.yaml with logs only, a batch count and `out`."""
    text = (CONFIGS / "traffic-parquet.yaml").read_text()
    text = (text
            .replace("max_batches: ${env:OTAP_MAX_BATCHES:-200}", f"max_batches: {max_batches}")
            .replace("${env:OTAP_PARQUET_OUT:-out/traffic-parquet}", str(out))
            .replace("trace_weight: 30", "trace_weight: 0")
            .replace("metric_weight: 10", "metric_weight: 0"))
    if extra_writer:
        text = text.replace("flush_when_older_than: 10s", f"flush_when_older_than: 10s\n{extra_writer}")
    config = tmp_path / "parquet.yaml"
    config.write_text(text)
    return config


def metric(text, name, node):
    return sum(map(int, re.findall(
        rf'otap_node_{name}\{{[^}}]*node="{node}"[^}}]*\}} (\d+)', text)))


def read_table(base, table):
    # pyarrow skips "_"-prefixed directories (`_part_id=...`) unless told otherwise.
    return ds.dataset(base / table, format="parquet", partitioning="hive",
                      ignore_prefixes=["."]).to_table()


def check_dataset(base, expected_logs):
    assert not list(base.rglob("*.tmp")), list(base.rglob("*.tmp"))
    files = list(base.rglob("*.parquet"))
    assert files
    for f in files:
        rel = f.relative_to(base).parts
        assert rel[1].startswith("_part_id="), f
    tables = sorted(p.name for p in base.iterdir() if p.is_dir())
    assert "logs" in tables and "log_attrs" in tables, tables
    for table in tables:
        read_table(base, table)  # every table reads
    logs = read_table(base, "logs")
    assert logs.num_rows == expected_logs
    # One _part_id per pipeline instance (core).
    assert len(set(logs.column("_part_id").to_pylist())) == 2
    con = duckdb.connect()
    glob = lambda t: f"read_parquet('{base}/{t}/**/*.parquet', hive_partitioning=true)"
    attrs = con.execute(f"SELECT count(*) FROM {glob('log_attrs')}").fetchone()[0]
    joined = con.execute(f"""
        SELECT count(*) FROM {glob('log_attrs')} a
        JOIN {glob('logs')} l ON l._part_id = a._part_id AND l.id = a.parent_id
    """).fetchone()[0]
    assert attrs > 0
    assert joined == attrs


def test_traffic_to_parquet_two_cores(cli, tmp_path):
    # Scenario: 2 cores, each generating 30 log batches of 100 records into
    # exporter:parquet (files flushed only at shutdown: 100000-row target, 10s age).
    # Guarantees: exit 0; every table reads with pyarrow; the logs count equals
    # what the generators sent; every log_attrs row joins its log record on
    # (_part_id, id) = (_part_id, parent_id); every batch was Acked; metrics show
    # the exporter's files and rows.
    out = tmp_path / "out"
    config = make_config(tmp_path, out, 30)
    metrics = tmp_path / "metrics.prom"
    proc = subprocess.run(
        [str(cli), "run", "-c", str(config), "--num-cores", "2", "--duration", "60s",
         "--metrics-file", str(metrics)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = metrics.read_text()
    sent_items = metric(text, "sent_items_total", "generator")
    assert sent_items == 2 * 30 * 100
    assert metric(text, "acked_total", "generator") == metric(text, "sent_batches_total", "generator")
    assert metric(text, "nacked_retryable_total", "generator") == 0
    assert metric(text, "parquet_files_closed_total", "parquet") > 0
    rows = re.findall(r'otap_node_parquet_rows_written_total\{[^}]*table="logs"\} (\d+)', text)
    assert sum(map(int, rows)) == sent_items
    assert re.search(r'otap_node_parquet_flushes_total\{[^}]*reason="shutdown"\} [1-9]', text)
    check_dataset(out, sent_items)


def test_sigterm_mid_run_publishes_every_acked_batch(engine, tmp_path):
    # Scenario: unbounded generators on 2 cores, small files (1000-row target, so
    # some batches are Acked before the signal), then SIGTERM.
    # Guarantees: exit 0; nothing Nacked or dropped; every Acked batch is on disk
    # (logs rows = items sent = items Acked); no `.tmp` leftovers.
    out = tmp_path / "out"
    config = make_config(tmp_path, out, "null", "                target_bytes_per_file: 64MiB")
    config.write_text(config.read_text()
                      .replace("target_rows_per_file: 100000", "target_rows_per_file: 1000")
                      .replace("signals_per_second: null   # uncapped", "signals_per_second: 20000"))
    metrics = tmp_path / "metrics.prom"
    run = engine(config, "--num-cores", "2", "--metrics-file", metrics)
    # Data is published before the signal.
    wait_until(lambda: list(out.rglob("*.parquet")), "a published parquet file")
    run.stop(signal.SIGTERM)
    text = metrics.read_text()
    sent = metric(text, "sent_batches_total", "generator")
    sent_items = metric(text, "sent_items_total", "generator")
    assert sent > 0
    assert metric(text, "acked_total", "generator") == sent
    assert sum(map(int, re.findall(r'otap_node_dropped_total\{[^}]*\} (\d+)', text))) == 0
    check_dataset(out, sent_items)
