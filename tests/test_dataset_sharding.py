# SPDX-License-Identifier: Apache-2.0
"""Sharded replay across machines: N engines (here N processes, each with two
cores) given `receiver:parquet` `shard: {index: k, count: N}` replay disjoint sets
of partitions that together are the whole dataset; `convert --shard K/N` splits
the same way."""
import json
import re
import subprocess

import pytest

from engines import v1_config
from test_engine_replay_checkpoint import write_logs

SHARDS = 3


@pytest.fixture(scope="module")
def lake(cli, tmp_path_factory):
    """At least 12 partitions (one `convert` run each, each its own random
    `_part_id`) of 100 logs each, with every shard owning one or more (a hash of 12
    random ids leaves one of 3 shards empty in ~2% of lakes, so more partitions are
    added until none is), and the OTLP/JSON source of all of them."""
    tmp = tmp_path_factory.mktemp("sharded")
    lake, source = tmp / "lake", tmp / "source.jsonl"
    run = 0
    with open(source, "w") as all_logs:
        while run < 12 or not all(shard_records(cli, lake, tmp)):
            assert run < 60, "60 random partitions and still a shard without any"
            part = tmp / f"part{run}.jsonl"
            write_logs(part, run * 100, 100)
            all_logs.write(part.read_text())
            subprocess.run([str(cli), "convert", str(part), str(lake)], check=True,
                           capture_output=True)
            run += 1
    return lake, source, run * 100


def shard_records(cli, lake, tmp):
    """Records per shard of the lake, as `convert --shard K/N` splits it."""
    counts = []
    for k in range(SHARDS):
        out = tmp / f"probe{k}.jsonl"
        out.unlink(missing_ok=True)
        subprocess.run([str(cli), "convert", str(lake), str(out), "--shard", f"{k}/{SHARDS}"],
                       check=True, capture_output=True)
        counts.append(len(bodies(out)))
    return counts


def bodies(path):
    found = []
    if not path.exists():
        return found
    for line in path.read_text().splitlines():
        for rl in json.loads(line).get("resourceLogs", []):
            for sl in rl.get("scopeLogs", []):
                found += [r["body"]["stringValue"] for r in sl.get("logRecords", [])]
    return found


def test_shards_of_engines_replay_every_record_exactly_once(cli, lake, tmp_path):
    # Scenario: 3 engines, each `--num-cores 2` with receiver:parquet
    # `shard: {index: k, count: 3}` and a checkpoint object on the dataset's own
    # storage (the same name for all: each shard keeps its own file), each writing
    # what it replays to its own OTLP/JSON files; then each runs again.
    # Guarantees: every shard replays some partitions; together they deliver all the
    # records exactly once (compare against the source); the second runs replay
    # nothing (each resumed from its own checkpoint, none overwrote another's).
    base, source, total = lake
    outputs = []
    for k in range(SHARDS):
        config = tmp_path / f"shard{k}.yaml"
        out = tmp_path / f"shard{k}-{{core_id}}.jsonl"
        config.write_text(v1_config(f"""
        src:
          type: receiver:parquet
          config:
            base_uri: "{base}"
            shard: {{index: {k}, count: {SHARDS}}}
            checkpoint: {{object: replay.ckpt, interval: 0s}}
        out:
          type: exporter:file
          config: {{path: "{out}"}}""", "- {from: src, to: out}"))
        for attempt in range(2):
            proc = subprocess.run([str(cli), "run", "-c", str(config), "--num-cores", "2"],
                                  capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, proc.stderr[-3000:]
            files = [tmp_path / f"shard{k}-{c}.jsonl" for c in range(2)]
            got = [b for f in files for b in bodies(f)]
            if attempt == 0:
                first = got
                assert got, f"shard {k} replayed nothing"
            else:
                assert len(got) == len(first), "a rerun replayed again"
        outputs += [tmp_path / f"shard{k}-{c}.jsonl" for c in range(2)]
    checkpoints = sorted(p.name for p in base.glob("replay.ckpt*"))
    assert checkpoints == [f"replay.ckpt.shard-{k}-of-{SHARDS}" for k in range(SHARDS)]
    union = tmp_path / "union.jsonl"
    union.write_text("".join(p.read_text() for p in outputs if p.exists()))
    assert len(bodies(union)) == total
    subprocess.run([str(cli), "compare", str(source), str(union)], check=True,
                   capture_output=True)


def test_convert_shards_split_the_dataset(cli, lake, tmp_path):
    # Scenario: `convert DATASET OUT --shard K/3` for K = 0, 1, 2, and a bad --shard.
    # Guarantees: the three outputs are disjoint and together the source; 3/3 is a
    # usage error that says what a shard is.
    base, source, total = lake
    outputs = []
    for k in range(SHARDS):
        out = tmp_path / f"convert{k}.jsonl"
        subprocess.run([str(cli), "convert", str(base), str(out), "--shard", f"{k}/{SHARDS}"],
                       check=True, capture_output=True)
        outputs.append(out)
    sets = [set(bodies(p)) for p in outputs]
    assert all(sets) and sum(len(s) for s in sets) == len(set().union(*sets)) == total
    union = tmp_path / "union.jsonl"
    union.write_text("".join(p.read_text() for p in outputs))
    subprocess.run([str(cli), "compare", str(source), str(union)], check=True,
                   capture_output=True)
    proc = subprocess.run([str(cli), "convert", str(base), str(tmp_path / "x.jsonl"),
                           "--shard", "3/3"], capture_output=True, text=True)
    assert proc.returncode != 0 and re.search(r"shard .*0 <= K < N", proc.stderr)
