# SPDX-License-Identifier: Apache-2.0
"""Partitioning by a resource attribute (`resource_attribute: service.name`, CLI
`--partition-by resource:service.name`): one directory level per value, escaped so
that no value leaves the dataset, a default level for records without it; replays
select levels with `partitions` (receiver:parquet) / `--partition` (convert), and
DuckDB reads the levels as hive columns."""
import collections
import json
import subprocess

import duckdb
import pytest

from engines import v1_config
from test_engine_replay import metric

HOSTILE = ["..", "../../escape", "a/b", "nul\u0000byte", "x" * 1000, None]


def service_names(path):
    """Log records per service.name (None: without one) of an OTLP JSON lines file."""
    counts = collections.Counter()
    for line in path.read_text().splitlines():
        for rl in json.loads(line)["resourceLogs"]:
            names = [a["value"]["stringValue"] for a in rl["resource"].get("attributes", [])
                     if a["key"] == "service.name"]
            n = sum(len(sl.get("logRecords", [])) for sl in rl.get("scopeLogs", []))
            counts[names[0] if names else None] += n
    return counts


@pytest.fixture
def logs(run, tmp_path):
    """Generated logs whose first resources get hostile service names (one none)."""
    src = tmp_path / "gen.jsonl"
    run("generate", "--signal", "logs", "--requests", "6", "--items", "5", "--seed", "7", src)
    out = tmp_path / "in.jsonl"
    lines = []
    k = 0
    for line in src.read_text().splitlines():
        doc = json.loads(line)
        for rl in doc["resourceLogs"]:
            if k < len(HOSTILE):
                attrs = [a for a in rl["resource"]["attributes"] if a["key"] != "service.name"]
                if HOSTILE[k] is not None:
                    attrs.append({"key": "service.name", "value": {"stringValue": HOSTILE[k]}})
                rl["resource"]["attributes"] = attrs
            k += 1
        lines.append(json.dumps(doc))
    out.write_text("\n".join(lines) + "\n")
    return out


def test_levels_are_escaped_and_inside_the_dataset(run, logs, tmp_path):
    # Scenario: convert with service.name and hour levels; values "..", a path,
    # "a/b", a NUL byte, 1000 bytes and a resource without the attribute.
    # Guarantees: every file lies inside the dataset under
    # <table>/service.name=<escaped>/date=…/hour=…/_part_id=…/; the hostile values
    # get the escaped levels, the missing one the default level; the replay equals
    # the input (joins exact); `partitions --json` shows each level's value.
    lake = tmp_path / "lake"
    run("convert", logs, lake, "--partition-by", "resource:service.name",
        "--partition-by", "hour", "--rows-per-file", "40")
    root = lake.resolve()
    levels = set()
    for path in lake.rglob("*.parquet"):
        assert path.resolve().is_relative_to(root), path
        rel = path.relative_to(lake).parts
        assert len(rel) == 6, rel  # table, service, date, hour, _part_id, file
        assert rel[1].startswith("service.name=") and rel[2].startswith("date=")
        assert rel[3].startswith("hour=") and rel[4].startswith("_part_id=")
        levels.add(rel[1])
    assert "service.name=..%2F..%2Fescape" in levels
    assert "service.name=a%2Fb" in levels
    assert "service.name=nul%00byte" in levels
    assert "service.name=.." in levels
    assert "service.name=__HIVE_DEFAULT_PARTITION__" in levels
    long_level = [lv for lv in levels if lv.startswith("service.name=xxx")]
    assert len(long_level) == 1 and len(long_level[0]) <= len("service.name=") + 128
    assert not (tmp_path / "escape").exists() and not list(tmp_path.glob("b*"))

    out = tmp_path / "replay.jsonl"
    run("convert", lake, out)
    run("compare", logs, out)

    doc = json.loads(run("partitions", lake, "--json").stdout)
    values = {p["levels"]["service.name"] for p in doc["partitions"]}
    assert {"..", "a/b", "nul\u0000byte", None} <= values


def test_replay_selects_partitions_and_duckdb_reads_levels(run, cli, logs, tmp_path):
    # Scenario: the dataset above; a replay of one service (CLI --partition and
    # receiver:parquet `partitions`), and DuckDB's hive-partitioned read.
    # Guarantees: each replay holds exactly that service's records; DuckDB's
    # per-service counts equal the input's for the plain names.
    lake = tmp_path / "lake"
    run("convert", logs, lake, "--partition-by", "resource:service.name")
    expected = service_names(logs)
    plain = [name for name in expected if name and name.isalpha() and len(name) < 50]
    assert len(plain) >= 2
    name = plain[0]

    out = tmp_path / "one.jsonl"
    run("convert", lake, out, "--partition", f"service.name={name}")
    assert service_names(out) == {name: expected[name]}
    out = tmp_path / "missing.jsonl"
    run("convert", lake, out, "--partition", "service.name")
    assert service_names(out) == {None: expected[None]}
    bad = run("convert", lake, tmp_path / "x.jsonl", "--partition", "=x", check=False)
    assert bad.returncode != 0 and "=x" in bad.stderr

    copy = tmp_path / "copy"
    config = tmp_path / "p.yaml"
    config.write_text(v1_config(f"""
      src:
        type: receiver:parquet
        config:
          base_uri: "{lake}"
          partitions: ["service.name={name}", "service.name=a/b"]
      dst:
        type: exporter:parquet
        config:
          storage: {{file: {{base_uri: "{copy}"}}}}
          partitioning_strategies: [{{resource_attribute: service.name}}]""",
                                "- {from: src, to: dst}"))
    metrics = tmp_path / "m.prom"
    proc = subprocess.run([str(cli), "run", "-c", config, "--metrics-file", metrics],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert metric(metrics.read_text(), "parquet_records_emitted", "src") == \
        expected[name] + expected["a/b"]
    assert sorted(d.name for d in (copy / "logs").iterdir()) == \
        sorted([f"service.name={name}", "service.name=a%2Fb"])

    con = duckdb.connect()
    rows = con.execute(
        "SELECT \"service.name\", count(*) FROM read_parquet(?, hive_partitioning=true) "
        "GROUP BY 1", [str(lake / "logs" / "**" / "*.parquet")]).fetchall()
    counts = dict(rows)
    for service in plain:
        assert counts[service] == expected[service], (service, counts)


def test_time_range_prunes_event_time_directories(run, tmp_path):
    # Scenario: an hour-partitioned dataset plus an unreadable file in a partition of
    # the year 2000 (its directory says so).
    # Guarantees: a replay from 2020 on never opens that partition (no corrupt file
    # met), while a full replay meets it; the records are the same.
    src = tmp_path / "in.jsonl"
    run("generate", "--signal", "logs", "--requests", "2", "--items", "5", src)
    lake = tmp_path / "lake"
    run("convert", src, lake, "--partition-by", "hour")
    old = lake / "logs" / "date=2000-01-01" / "hour=00" / \
        "_part_id=00000000-0000-4000-8000-000000000000"
    old.mkdir(parents=True)
    (old / "part-946684800000-00000000-0000-4000-8000-000000000001.parquet").write_bytes(
        b"PAR1 not a parquet file PAR1")
    pruned = run("convert", lake, tmp_path / "a.jsonl", "--start", "2020-01-01T00:00:00Z")
    assert "0 corrupt skipped" in pruned.stderr, pruned.stderr
    full = run("convert", lake, tmp_path / "b.jsonl", check=False)
    assert "0 corrupt skipped" not in full.stderr, full.stderr
    run("compare", src, tmp_path / "a.jsonl")
