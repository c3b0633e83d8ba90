# SPDX-License-Identifier: Apache-2.0
"""`otap-parquet repair` (docs/operations.md) on crash leftovers of a writer killed
during a flush: child files whose root file never appeared and `.part-*.tmp` files,
on local disk and on S3 (moto). After `repair --apply` the replay and a
child-table-only DuckDB query see only data whose root is there."""
import fcntl
import os
import signal
import subprocess
import sys
import time

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

BUCKET = "telemetry"
TWO_HOURS = 2 * 3600


def generate(run, path, seed, requests=3, items=20):
    run("generate", "--signal", "logs", "--requests", requests, "--items", items,
        "--seed", seed, path)
    return path


def part_ids(lake):
    return sorted(p.name for p in (lake / "logs").iterdir())


def backdate(lake, seconds=TWO_HOURS):
    old = time.time() - seconds
    for path in lake.rglob("*"):
        if path.is_file():
            os.utime(path, (old, old))


def orphan_attr_rows(lake):
    """log_attrs rows of a child-table-only query whose log record is not there."""
    def table(name):
        return ds.dataset(lake / name, format="parquet", partitioning="hive",
                          ignore_prefixes=["."]).to_table()
    con = duckdb.connect()
    con.register("logs", table("logs"))
    con.register("log_attrs", table("log_attrs"))
    return con.execute(
        "SELECT count(*) FROM log_attrs a WHERE NOT EXISTS (SELECT 1 FROM logs l "
        "WHERE l._part_id = a._part_id AND l.id = a.parent_id)").fetchone()[0]


@pytest.fixture
def crashed_lake(run, tmp_path):
    """Two writers into one lake: A completed; B was killed during its first flush
    after renaming its child files, before its root file (deleted here). Plus a
    temporary file B never renamed. Everything backdated by two hours."""
    a = generate(run, tmp_path / "a.jsonl", seed=1)
    b = generate(run, tmp_path / "b.jsonl", seed=2)
    lake = tmp_path / "lake"
    run("convert", a, lake)
    (part_a,) = part_ids(lake)
    run("convert", b, lake)
    (part_b,) = [p for p in part_ids(lake) if p != part_a]
    for root in (lake / "logs" / part_b).iterdir():
        root.unlink()
    temp = lake / "logs" / part_b / ".part-1795000000000-dead.parquet.tmp"
    temp.write_bytes(b"PAR1 half a file")
    backdate(lake)
    return lake, a, part_b, temp


def child_files(lake, part):
    return sorted(p for p in lake.glob(f"*/{part}/*.parquet"))


def test_repair_removes_orphan_children_and_stale_temp_files(run, crashed_lake, tmp_path):
    # Scenario: the crashed lake above, before and after `repair --apply`.
    # Guarantees: the dry run (exit 3) lists every orphan child file and the temp file
    # by path and removes nothing; --apply (exit 0) removes exactly them; a second run
    # finds nothing (exit 0); the replay is then exactly writer A's input, with no
    # orphan rows, and no child row is visible without its log record.
    lake, a, part_b, temp = crashed_lake
    orphans = child_files(lake, part_b)
    assert orphans and orphan_attr_rows(lake) > 0

    dry = run("repair", lake, check=False)
    assert dry.returncode == 3, dry.stdout + dry.stderr
    for path in orphans:
        assert f"orphan-child  {path}" in dry.stdout or f"file://{path}" in dry.stdout, dry.stdout
    assert str(temp) in dry.stdout
    assert "would remove" in dry.stdout and "dry run" in dry.stdout
    assert all(p.exists() for p in orphans) and temp.exists()

    applied = run("repair", lake, "--apply", check=False)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"{len(orphans) + 1} removed" in applied.stdout, applied.stdout
    assert not any(p.exists() for p in orphans) and not temp.exists()

    again = run("repair", lake, "--apply", check=False)
    assert again.returncode == 0, again.stdout
    assert "0 removable, 0 removed" in again.stdout, again.stdout

    assert orphan_attr_rows(lake) == 0
    out = tmp_path / "replay.jsonl"
    proc = run("convert", lake, out)
    assert "orphan rows 0" in proc.stderr, proc.stderr
    run("compare", a, out)


def test_repair_grace_period_keeps_young_leftovers(run, crashed_lake):
    # Scenario: the same leftovers, but just written (a flush may still be publishing).
    # Guarantees: --apply removes nothing younger than the grace period and says so;
    # --grace-period 0s removes them.
    lake, _, part_b, temp = crashed_lake
    backdate(lake, seconds=0)
    kept = run("repair", lake, "--apply", check=False)
    assert kept.returncode == 0, kept.stdout
    assert "kept (younger than the grace period)" in kept.stdout
    assert child_files(lake, part_b) and temp.exists()
    # The summary counts young files as kept, not as leftovers (temps and orphans
    # alike): maybe a flush still publishing.
    young = len(child_files(lake, part_b)) + 1
    assert (f"0 stale temporary files, 0 orphan child files (0 rows); 0 removable, "
            f"0 removed; {young} younger than the grace period") in kept.stdout, kept.stdout
    removed = run("repair", lake, "--apply", "--grace-period", "0s", check=False)
    assert removed.returncode == 0, removed.stdout
    assert not child_files(lake, part_b) and not temp.exists()


def test_repair_bad_arguments_are_errors(run, tmp_path):
    proc = run("repair", tmp_path, "--grace-period", "soon", check=False)
    assert proc.returncode == 2  # a usage error (docs/cli.md)
    assert "--grace-period" in proc.stderr
    proc = run("repair", tmp_path / "no-such-lake", check=False)
    assert proc.returncode == 1
    assert "no-such-lake" in proc.stderr


def test_repair_after_real_kill_during_convert(run, cli, tmp_path):
    # Scenario: `convert` of many small flushes is killed with SIGKILL once some files
    # are published (wherever it is: writing, between renames, or done).
    # Guarantees (whatever the kill hit): after `repair --apply --grace-period 0s`
    # no temporary file is left, no child row lacks its log record, and the replay
    # reads every remaining file with no orphan rows.
    src = generate(run, tmp_path / "big.jsonl", seed=3, requests=60, items=50)
    lake = tmp_path / "lake"
    proc = subprocess.Popen([str(cli), "convert", str(src), str(lake), "--rows-per-file",
                             "200", "--no-fsync"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(lake.glob("logs/*/*.parquet"))) >= 3:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    repaired = run("repair", lake, "--apply", "--grace-period", "0s", check=False)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert not list(lake.rglob("*.tmp"))
    assert orphan_attr_rows(lake) == 0
    out = run("convert", lake, tmp_path / "replay.jsonl")
    assert "orphan rows 0" in out.stderr and "0 corrupt skipped" in out.stderr, out.stderr


def test_repair_on_s3(s3_server, run, cli, tmp_path):
    # Scenario: the crash of the first test on S3 (moto): writer B's root object is
    # deleted, a temporary object is left; objects cannot be backdated, so the grace
    # period is 0s.
    # Guarantees: the dry run lists the orphan objects and the temp object by s3://
    # URI (exit 3); --apply removes exactly them (exit 0); a second run finds nothing;
    # the replay from S3 is exactly writer A's input.
    client = s3_server.client()
    client.create_bucket(Bucket=BUCKET)
    flags = ["--s3-endpoint", s3_server.endpoint, "--allow-http"]
    env = s3_server.env()

    def run_env(*args, check=True):
        proc = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True,
                              env=env, timeout=300)
        if check and proc.returncode != 0:
            raise AssertionError(f"{args}: exit {proc.returncode}: {proc.stderr}")
        return proc

    def keys():
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        # Arrow leaves a directory marker ("…/") where it deleted the last object.
        return sorted(o["Key"] for page in pages for o in page.get("Contents", [])
                      if not o["Key"].endswith("/"))

    a = generate(run, tmp_path / "a.jsonl", seed=1)
    b = generate(run, tmp_path / "b.jsonl", seed=2)
    uri = f"s3://{BUCKET}/lake"
    run_env("convert", a, uri, *flags)
    (part_a,) = {k.split("/")[2] for k in keys()}
    run_env("convert", b, uri, *flags)
    (part_b,) = {k.split("/")[2] for k in keys()} - {part_a}
    for key in keys():
        if key.startswith(f"lake/logs/{part_b}/"):
            client.delete_object(Bucket=BUCKET, Key=key)
    temp_key = f"lake/log_attrs/{part_b}/.part-1795000000000-dead.parquet.tmp"
    client.put_object(Bucket=BUCKET, Key=temp_key, Body=b"PAR1")
    orphans = [k for k in keys() if f"/{part_b}/" in k]
    assert len(orphans) >= 3
    # Our writer's objects say when it finished them: the Last-Modified of a multipart
    # upload is its start, and repair counts an orphan's age from the later of both.
    child = next(k for k in orphans if k != temp_key)
    body = client.get_object(Bucket=BUCKET, Key=child)["Body"].read()
    footer = pq.read_metadata(pa.BufferReader(body)).metadata
    assert int(footer[b"otap_parquet.finished_unix_ms"]) > 0

    dry = run_env("repair", uri, "--grace-period", "0s", *flags, check=False)
    assert dry.returncode == 3, dry.stdout + dry.stderr
    for key in orphans:
        assert f"s3://{BUCKET}/{key}" in dry.stdout, dry.stdout
    assert keys().count(temp_key) == 1

    applied = run_env("repair", uri, "--grace-period", "0s", "--apply", *flags, check=False)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert not [k for k in keys() if f"/{part_b}/" in k]
    assert [k for k in keys() if f"/{part_a}/" in k]

    again = run_env("repair", uri, "--grace-period", "0s", "--apply", *flags, check=False)
    assert again.returncode == 0 and "0 removable, 0 removed" in again.stdout, again.stdout

    out = tmp_path / "replay.jsonl"
    run_env("convert", uri, out, *flags)
    run("compare", a, out)


def test_repair_keeps_temp_file_locked_by_another_process(run, tmp_path):
    # Scenario: an old temporary file that another live process holds a shared flock
    # on (as every writer does on its open files), next to an unlocked old one.
    # Guarantees: `repair --apply --grace-period 0s` removes only the unlocked one.
    lake = tmp_path / "lake"
    run("convert", generate(run, tmp_path / "a.jsonl", seed=1), lake)
    (part,) = part_ids(lake)
    live = lake / "logs" / part / ".part-1795000000000-live.parquet.tmp"
    dead = lake / "logs" / part / ".part-1795000000001-dead.parquet.tmp"
    live.write_bytes(b"PAR1")
    dead.write_bytes(b"PAR1")
    backdate(lake)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1]); "
         "fcntl.flock(f, fcntl.LOCK_SH); print('locked', flush=True); time.sleep(600)",
         str(live)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = run("repair", lake, "--apply", "--grace-period", "0s", check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert live.exists() and not dead.exists()
    finally:
        holder.kill()
        holder.wait()
    proc = run("repair", lake, "--apply", "--grace-period", "0s", check=False)
    assert proc.returncode == 0 and not live.exists()


def test_repair_keeps_abandon_marker_while_a_compact_runs(run, tmp_path):
    # Scenario: the marker of a compact killed while undoing a compaction, older than
    # the grace period, while another process holds the dataset's compact lock (as a
    # running `compact` does); then the same marker, the lock released, younger than
    # the grace period.
    # Guarantees: `repair --apply` keeps it both times, and says why: a compact is
    # running (with the lock named), then younger than the grace period.
    lake = tmp_path / "lake"
    run("convert", generate(run, tmp_path / "a.jsonl", seed=1), lake)
    marker = lake / "_compactions" / "0123456789abcdef.abandoning-00000000000000ab"
    marker.parent.mkdir()
    marker.write_text("logs/_part_id=0123456789abcdef\n")
    backdate(lake)
    with open(lake / ".compact.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another open file: repair's own lock fails
        proc = run("repair", lake, "--apply", "--grace-period", "0s", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (f'abandon-marker {marker.as_uri()} detail="a compact is running (it holds '
            f'.compact.lock)": kept (a compact is running)\n') in proc.stdout, proc.stdout
    assert marker.exists()
    marker.write_text("logs/_part_id=0123456789abcdef\n")  # young again
    proc = run("repair", lake, "--apply", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (f"abandon-marker {marker.as_uri()}: kept (younger than the grace period)\n"
            in proc.stdout), proc.stdout
    assert marker.exists()
