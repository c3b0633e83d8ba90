# SPDX-License-Identifier: Apache-2.0
"""`otap-parquet partitions` and `partitions delete` (docs/cli.md, docs/operations.md
"Retention"): listing against DuckDB, deletion by event time and by id space with the
remaining records counted by DuckDB and replayed, replay checkpoints that block a
deletion, --force, and S3 (moto)."""
import collections
import datetime
import json
import os
import signal
import subprocess

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from test_engine_replay_checkpoint import bodies, load_checkpoint, pipeline

BUCKET = "telemetry"
UTC = datetime.timezone.utc
# Three event-time hours: two before 2026-11-01, one after.
HOURS = [
    datetime.datetime(2026, 10, 30, 10, tzinfo=UTC),
    datetime.datetime(2026, 10, 31, 23, tzinfo=UTC),
    datetime.datetime(2026, 11, 1, 1, tzinfo=UTC),
]
PER_HOUR = [120, 80, 50]


def hour_dir(hour):
    return f"date={hour:%Y-%m-%d}/hour={hour:%H}"


def write_logs(path, first=0):
    """Logs with unique bodies rec-<n>, PER_HOUR[i] of them in hour i, minutes apart,
    one attribute each. Returns {hour index: set of bodies}."""
    out = collections.defaultdict(set)
    n = first
    with open(path, "w") as f:
        for i, hour in enumerate(HOURS):
            records = []
            for k in range(PER_HOUR[i]):
                t = int((hour.timestamp() + k * 17) * 1e9)
                records.append({
                    "timeUnixNano": str(t),
                    "body": {"stringValue": f"rec-{n}"},
                    "attributes": [{"key": "seq", "value": {"intValue": str(n)}}],
                })
                out[i].add(f"rec-{n}")
                n += 1
            f.write(json.dumps({"resourceLogs": [{
                "resource": {"attributes": [
                    {"key": "service.name", "value": {"stringValue": "svc"}}]},
                "scopeLogs": [{"scope": {"name": "retention"}, "logRecords": records}],
            }]}) + "\n")
    return out


@pytest.fixture
def lake(run, tmp_path):
    """Three hourly partitions of one writer (small files)."""
    src = tmp_path / "in.jsonl"
    expected = write_logs(src)
    lake = tmp_path / "lake"
    run("convert", src, lake, "--partition-by", "hour", "--rows-per-file", "30")
    return lake, expected


def count(lake, table, where=""):
    glob = str(lake / table / "**" / "*.parquet")
    return duckdb.connect().execute(
        f"SELECT count(*) FROM read_parquet('{glob}', filename=true) {where}").fetchone()[0]


def partitions(run, lake, *flags, env=None, cli=None):
    if cli is not None:
        proc = subprocess.run([str(cli), "partitions", str(lake), "--json", *flags],
                              capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return json.loads(proc.stdout)
    return json.loads(run("partitions", lake, "--json", *flags).stdout)


def delete(run, lake, *args, code=0):
    proc = run("partitions", "delete", lake, *args, check=False)
    assert proc.returncode == code, proc.stdout + proc.stderr
    return proc


def empty_dirs(lake):
    return [root for root, dirs, files in os.walk(lake) if not dirs and not files]


def test_partitions_list_matches_duckdb(run, lake):
    # Scenario: one writer's logs in three event-time hours, files of 30 rows.
    # Guarantees: one partition per hour directory (date=/hour=/_part_id=); its
    # records, files and event-time range equal DuckDB's reading of that directory;
    # the directory's hour is reported as its time range.
    lake, expected = lake
    doc = partitions(run, lake)
    assert doc["format"] == "otap-parquet-partitions/1"
    assert [p["partition"].rsplit("/", 1)[0] for p in doc["partitions"]] == \
        [hour_dir(h) for h in HOURS]
    assert doc["records"] == sum(PER_HOUR)
    for i, p in enumerate(doc["partitions"]):
        assert p["signals"] == ["logs"]
        glob = str(lake / "logs" / p["partition"] / "*.parquet")
        n, lo, hi = duckdb.connect().execute(
            f"SELECT count(*), min(epoch_ns(time_unix_nano)), max(epoch_ns(time_unix_nano)) "
            f"FROM read_parquet('{glob}')").fetchone()
        assert p["records"] == n == PER_HOUR[i]
        assert (p["event_time"]["min_unix_nano"], p["event_time"]["max_unix_nano"]) == (lo, hi)
        files = sum(1 for d in lake.iterdir() for _ in (d / p["partition"]).glob("*.parquet"))
        assert p["files"] == files
        assert p["directory_time"]["start_unix_nano"] == int(HOURS[i].timestamp()) * 10**9
    text = run("partitions", lake).stdout
    assert hour_dir(HOURS[0]) in text and "EVENT TIME" in text


def test_delete_before_dry_run_then_apply(run, lake, tmp_path):
    # Scenario: `partitions delete --before 2026-11-01`, first without --apply.
    # Guarantees: the dry run deletes nothing and names the two earlier hours; with
    # --apply DuckDB counts of logs and log_attrs equal those of the remaining hour
    # alone (measured before), a replay yields exactly its records, and no empty
    # directory is left under the dataset.
    lake, expected = lake
    files_before = sorted(lake.rglob("*.parquet"))
    keep = hour_dir(HOURS[2])
    keep_logs = count(lake, "logs", f"WHERE filename LIKE '%{keep}%'")
    keep_attrs = count(lake, "log_attrs", f"WHERE filename LIKE '%{keep}%'")
    assert keep_logs == PER_HOUR[2] and keep_attrs == PER_HOUR[2]

    dry = delete(run, lake, "--before", "2026-11-01")
    assert sorted(lake.rglob("*.parquet")) == files_before
    assert "would delete" in dry.stdout and "dry run" in dry.stdout
    for hour in HOURS[:2]:
        assert hour_dir(hour) in dry.stdout

    applied = json.loads(delete(run, lake, "--before", "2026-11-01T00:00:00Z", "--apply",
                                "--json").stdout)
    assert applied["deleted_partitions"] == 2 and applied["blocked"] == 0
    assert applied["kept"] == 1
    assert count(lake, "logs") == keep_logs
    assert count(lake, "log_attrs") == keep_attrs
    assert count(lake, "resource_attrs") > 0
    assert set(bodies(run, tmp_path, lake, "left")) == expected[2]
    assert empty_dirs(lake) == []
    for table in lake.iterdir():
        assert not (table / f"date={HOURS[0]:%Y-%m-%d}").exists(), table


def test_delete_by_part_id_every_signal(run, tmp_path):
    # Scenario: two writers (two _part_ids) of all signals; one id space deleted by
    # `--partition _part_id=<uuid>`.
    # Guarantees: every table's directory of that id space is gone; the remaining
    # row counts of every table equal those of the other writer's files alone.
    src = tmp_path / "in.jsonl"
    run("generate", "--requests", "3", "--items", "10", "--seed", "4", src)
    lake = tmp_path / "lake"
    run("convert", src, lake)
    first = partitions(run, lake)["partitions"][0]["partition"]
    run("convert", src, lake)
    doc = partitions(run, lake)
    assert len(doc["partitions"]) == 2
    tables = sorted(d.name for d in lake.iterdir())
    expected = {t: count(lake, t, f"WHERE filename NOT LIKE '%{first}%'") for t in tables}
    delete(run, lake, "--partition", first, "--apply")
    assert not list(lake.glob(f"*/{first}"))
    for t in tables:
        assert count(lake, t) == expected[t], t
    assert empty_dirs(lake) == []


def replay_checkpoint(run, lake, tmp_path):
    """A real receiver:parquet replay of every partition with a checkpoint file."""
    ckpt = tmp_path / "replay.ckpt"
    config = tmp_path / "replay.yaml"
    config.write_text(pipeline(lake, tmp_path / "copy", f"""              checkpoint: {{path: "{ckpt}"}}"""))
    run("run", "-c", config)
    assert load_checkpoint(ckpt)
    return ckpt


def test_unfinished_checkpoint_blocks_deletion_unless_forced(run, lake, tmp_path):
    # Scenario: a replay with a checkpoint ran to the end; the checkpoint is then
    # made to look interrupted in the second hour (its last root file back in
    # progress, as a kill mid-file leaves it).
    # Guarantees: with the finished checkpoint --before 2026-11-01 --apply deletes
    # both earlier hours (exit 0); with the interrupted one it deletes the first
    # hour only, exits 3 and names the kept partition and the checkpoint; --force
    # then deletes it. DuckDB counts follow each step.
    lake, expected = lake
    ckpt = replay_checkpoint(run, lake, tmp_path)
    doc = json.loads(ckpt.read_text()[: -len("# end\n")])
    second = next(p["partition"] for p in partitions(run, lake)["partitions"]
                  if p["partition"].startswith(hour_dir(HOURS[1])))
    unit = next(u for u in doc["units"] if u["partition"] == second)
    assert unit["files_done"]
    unit["file"] = sorted(unit["files_done"])[-1]
    unit["row"] = 3
    unit["files_done"] = sorted(unit["files_done"])[:-1]
    interrupted = tmp_path / "interrupted.ckpt"
    interrupted.write_text(json.dumps(doc) + "\n# end\n")

    # A dry run with the finished checkpoint: nothing blocked.
    ok = json.loads(delete(run, lake, "--before", "2026-11-01", "--checkpoint", ckpt,
                           "--json").stdout)
    assert ok["blocked"] == 0 and len(ok["selected"]) == 2

    proc = delete(run, lake, "--before", "2026-11-01", "--apply", "--checkpoint", ckpt,
                  "--checkpoint", interrupted, code=3)
    assert second in proc.stdout and "replay not finished" in proc.stdout
    assert str(interrupted) in proc.stdout
    assert count(lake, "logs") == PER_HOUR[1] + PER_HOUR[2]
    assert (lake / "logs" / second).is_dir()

    delete(run, lake, "--before", "2026-11-01", "--apply", "--checkpoint", interrupted,
           "--force")
    assert count(lake, "logs") == PER_HOUR[2]
    assert count(lake, "log_attrs") == PER_HOUR[2]
    assert empty_dirs(lake) == []


def test_bad_arguments(run, lake, tmp_path):
    # Scenario: no selection, a missing checkpoint, a missing dataset.
    # Guarantees: exit 2 (usage) for the first, 1 for the others, with the reason;
    # nothing deleted.
    lake, _ = lake
    files = sorted(lake.rglob("*.parquet"))
    assert "--before or --partition" in delete(run, lake, "--apply", code=2).stderr
    proc = delete(run, lake, "--before", "2030-01-01", "--apply", "--checkpoint",
                  tmp_path / "nope.ckpt", code=1)
    assert "no checkpoint" in proc.stderr
    assert "no dataset" in delete(run, tmp_path / "missing", "--before", "2030-01-01",
                                  code=1).stderr
    assert sorted(lake.rglob("*.parquet")) == files


def test_delete_on_s3(s3_server, run, cli, tmp_path):
    # Scenario: the hourly logs converted to S3 (moto); `partitions` and
    # `partitions delete --before 2026-11-01 --apply` with the same S3 flags as
    # inspect.
    # Guarantees: the listing's records per hour are those written; after deletion
    # no data object of the deleted hours is left (their directory markers stay:
    # removing one would delete a file published meanwhile) and `partitions` lists
    # the kept hour only, the remaining data objects are those of the kept hour, and
    # a replay from S3 yields exactly its records.
    client = s3_server.client()
    client.create_bucket(Bucket=BUCKET)
    flags = ["--s3-endpoint", s3_server.endpoint, "--allow-http"]
    env = s3_server.env()

    def run_env(*args, code=0):
        proc = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True,
                              env=env, timeout=300)
        assert proc.returncode == code, proc.stdout + proc.stderr
        return proc

    src = tmp_path / "in.jsonl"
    expected = write_logs(src)
    uri = f"s3://{BUCKET}/lake"
    run_env("convert", src, uri, "--partition-by", "hour", "--rows-per-file", "30", *flags)
    doc = json.loads(run_env("partitions", uri, "--json", *flags).stdout)
    assert doc["dataset"] == uri
    assert [p["records"] for p in doc["partitions"]] == PER_HOUR

    def keys():
        return [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]

    kept_before = sorted(k for k in keys() if hour_dir(HOURS[2]) in k)
    out = json.loads(run_env("partitions", "delete", uri, "--before", "2026-11-01",
                             "--apply", "--json", *flags).stdout)
    assert out["deleted_partitions"] == 2
    left = keys()
    for hour in HOURS[:2]:  # only directory markers (zero-byte `…/` keys) stay
        assert all(k.endswith("/") for k in left if f"date={hour:%Y-%m-%d}" in k), left
    assert [p["partition"].rsplit("/", 1)[0] for p in
            partitions(None, uri, *flags, env=env, cli=cli)["partitions"]] == \
        [hour_dir(HOURS[2])]
    assert sorted(k for k in left if k.endswith(".parquet")) == \
        sorted(k for k in kept_before if k.endswith(".parquet"))
    out_file = tmp_path / "left.jsonl"
    run_env("convert", "--signal", "logs", uri, out_file, *flags)
    found = set()
    for line in out_file.read_text().splitlines():
        for r in json.loads(line).get("resourceLogs", []):
            for s in r.get("scopeLogs", []):
                found |= {rec["body"]["stringValue"] for rec in s.get("logRecords", [])}
    assert found == expected[2]


class PausedDeleteOnS3:
    """The hourly logs converted to S3 (moto), and `partitions delete --before
    2026-11-01 --apply --json` stopped (SIGSTOP) the first time it reaches step
    `stop_at`; `first` is a logs file of the first (expired) hour, `copied` its bytes
    and `late` a new key beside it. finish() resumes the run and returns its JSON
    summary."""

    def __init__(self, s3_server, cli, tmp_path, stop_at):
        self.client = s3_server.client()
        self.client.create_bucket(Bucket=BUCKET)
        self.flags = ["--s3-endpoint", s3_server.endpoint, "--allow-http"]
        self.env = s3_server.env()
        self.cli = cli
        src = tmp_path / "in.jsonl"
        write_logs(src)
        self.uri = f"s3://{BUCKET}/lake"
        subprocess.run([str(cli), "convert", src, self.uri, "--partition-by", "hour",
                        "--rows-per-file", "30", *self.flags], check=True,
                       env=self.env, timeout=300)
        self.listed = self.keys()
        self.first = [k for k in self.listed if k.startswith("lake/logs/")
                      and hour_dir(HOURS[0]) in k and k.endswith(".parquet")][0]
        self.late = self.first.rsplit("/", 1)[0] + "/9999999999999-late.parquet"
        # Read before the run starts: it may delete `first` before it stops.
        self.copied = self.body(self.first)
        self.log = open(tmp_path / "delete.log", "w+")
        self.proc = subprocess.Popen(
            [str(cli), "partitions", "delete", self.uri, "--before", "2026-11-01",
             "--apply", "--json", *self.flags], stdout=self.log,
            stderr=subprocess.STDOUT,
            env=dict(self.env, OTAP_PARQUET_PARTITIONS_DELETE_STOP_AT=stop_at))
        _, status = os.waitpid(self.proc.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status), f"partitions delete ended before {stop_at}"

    def keys(self):
        return sorted(o["Key"] for o in
                      self.client.list_objects_v2(Bucket=BUCKET).get("Contents", []))

    def body(self, key):
        return self.client.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def finish(self):
        self.proc.send_signal(signal.SIGCONT)
        assert self.proc.wait(timeout=300) == 0
        self.log.seek(0)
        return json.loads(self.log.read())


def test_file_published_after_listing_is_kept_on_s3(s3_server, cli, tmp_path):
    # Scenario: the hourly logs converted to S3 (moto); `partitions delete --before
    # 2026-11-01 --apply` paused (SIGSTOP) after its listing; meanwhile a writer
    # publishes one more logs file into the first (expired) hour's partition; then
    # the run goes on.
    # Guarantees: only the listed objects are deleted: the published one stays and
    # is reported (files_kept, kept_files, exit 0); every listed object of both
    # hours is gone. The old code deleted the partition's prefix, the new file too.
    run = PausedDeleteOnS3(s3_server, cli, tmp_path, "listed")
    run.client.put_object(Bucket=BUCKET, Key=run.late, Body=run.copied)
    out = run.finish()
    assert out["deleted_partitions"] == 2
    assert out["kept_files"] == 1
    assert [f for d in out["selected"] for f in d["files_kept"]] == [
        f"{BUCKET}/{run.late}"]
    left = run.keys()
    assert run.late in left
    expired = [k for k in run.listed if k.endswith(".parquet") and any(
        f"date={h:%Y-%m-%d}" in k for h in HOURS[:2])]
    assert not set(expired) & set(left)


def test_file_published_while_directories_are_removed_is_kept_on_s3(s3_server, cli,
                                                                   tmp_path):
    # Scenario: the hourly logs converted to S3 (moto); `partitions delete --before
    # 2026-11-01 --apply` paused (SIGSTOP) where, every listed file of the first
    # expired partition's logs directory deleted and a listing showing it empty, its
    # directory would be removed; meanwhile a writer publishes a logs file into that
    # directory; then the run goes on.
    # Guarantees: the published object is still there, whole (its footer's rows are
    # those of the file it copies), and `partitions` lists its rows. The old code
    # removed the "empty" directory with DeleteDir, which deletes every object under
    # the prefix: the new file too.
    run = PausedDeleteOnS3(s3_server, cli, tmp_path, "directories")
    body = run.copied
    rows = pq.ParquetFile(pa.BufferReader(body)).metadata.num_rows
    run.client.put_object(Bucket=BUCKET, Key=run.late, Body=body)
    assert run.finish()["deleted_partitions"] == 2
    kept = run.body(run.late)
    assert pq.ParquetFile(pa.BufferReader(kept)).metadata.num_rows == rows
    doc = partitions(None, run.uri, *run.flags, env=run.env, cli=cli)
    assert sorted(p["records"] for p in doc["partitions"]) == sorted([rows, PER_HOUR[2]])


def test_exporter_retention_deletes_expired_partitions_as_it_runs(run, lake, tmp_path,
                                                                  engine):
    # Scenario: the three-hour lake (all hours more than a day old) is the base of an
    # exporter:parquet with `retention: {max_age: 24h, interval: 1s}` and a replay
    # checkpoint that has not finished the second hour; the engine also receives 40
    # logs of an old event time (2023: an expired hour, but of its own `_part_id`).
    # Guarantees: the first and third hours are deleted as the engine runs, with
    # every table's files and no empty directory; the second is kept for the
    # checkpoint (blocked, logged with the partition); the engine's own old records
    # are kept (a running writer's `_part_id` is never deleted); metrics count it all.
    from engines import wait_until
    from test_engine_otlp_receiver import OtlpPipeline, logs_request, metric, post
    from s3_server import free_port

    lake, expected = lake
    ckpt = replay_checkpoint(run, lake, tmp_path)
    doc = json.loads(ckpt.read_text()[: -len("# end\n")])
    second = next(p["partition"] for p in partitions(run, lake)["partitions"]
                  if p["partition"].startswith(hour_dir(HOURS[1])))
    doc["units"] = [u for u in doc["units"] if u["partition"] != second]
    unfinished = tmp_path / "unfinished.ckpt"
    unfinished.write_text(json.dumps(doc) + "\n# end\n")

    port = free_port()
    exporter = {"type": "exporter:parquet", "config": {
        "storage": {"file": {"base_uri": str(lake)}},
        "partitioning_strategies": [{"event_time": "hour"}],
        "retention": {"max_age": "24h", "interval": "1s",
                      "checkpoints": [str(unfinished)]}}}
    pipeline = OtlpPipeline(engine, tmp_path, {"protocols": {"http": {
        "listening_addr": f"127.0.0.1:{port}"}}}, exporter)
    status, _, body = post(port, "/v1/logs", logs_request(40, "fresh").SerializeToString())
    assert status == 200, body
    for i in (0, 2):
        wait_until(lambda i=i: not (lake / "logs" / hour_dir(HOURS[i])).exists(),
                   f"hour {i} deleted", timeout=60)
    stderr = pipeline.stop()
    assert (lake / "logs" / second).is_dir()
    assert "exporter.parquet.retention_blocked" in stderr and second in stderr
    assert count(lake, "logs") == PER_HOUR[1] + 40
    assert count(lake, "log_attrs") == PER_HOUR[1] + 40 * len(
        logs_request(1).resource_logs[0].scope_logs[0].log_records[0].attributes)
    assert empty_dirs(lake) == []
    m = pipeline.metrics
    assert metric(m, "parquet_retention_deleted_partitions") == 2
    assert metric(m, "parquet_retention_blocked_partitions") == 1
    assert metric(m, "parquet_retention_errors") == 0
    assert metric(m, "parquet_retention_passes") >= 1


OLD = int(datetime.datetime(2026, 10, 30, 10, tzinfo=UTC).timestamp()) * 10**9
LATE = int(datetime.datetime(2026, 11, 2, 10, tzinfo=UTC).timestamp()) * 10**9


def untimed_lake(run, tmp_path):
    """An id space without event-time directories: a log timed OLD and one whose
    time_unix_nano is null (OTAP allows it), observed LATE, in one row group."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "in.jsonl"
    records = [
        {"timeUnixNano": str(OLD), "observedTimeUnixNano": str(OLD),
         "body": {"stringValue": "timed"}},
        {"timeUnixNano": str(OLD + 1), "observedTimeUnixNano": str(LATE),
         "body": {"stringValue": "untimed"}},
    ]
    src.write_text(json.dumps({"resourceLogs": [{"scopeLogs": [
        {"scope": {"name": "retention"}, "logRecords": records}]}]}) + "\n")
    lake = tmp_path / "lake"
    run("convert", src, lake, "--partition-by", "none")
    [path] = list((lake / "logs").rglob("*.parquet"))
    table = pq.read_table(path)
    i = table.schema.get_field_index("time_unix_nano")
    time = pa.array([OLD, None], type=table.schema.field(i).type)
    pq.write_table(table.set_column(i, table.schema.field(i), time), path)
    return lake


def test_log_without_time_counts_by_its_observed_time(run, tmp_path):
    # Scenario: untimed_lake; `partitions delete --before 2026-11-01`.
    # Guarantees: the partition is kept (the writer places a log without time by its
    # observed time, which the time column's statistics do not show) and listed
    # with the observed time as its last event time.
    lake = untimed_lake(run, tmp_path)
    doc = json.loads(delete(run, lake, "--before", "2026-11-01", "--json").stdout)
    assert [p["partition"] for p in doc["selected"]] == [], doc
    assert doc["kept"] == 1 and doc["undetermined"] == [], doc
    text = run("partitions", lake).stdout
    assert "2026-11-02T10:00:00Z" in text, text


def test_time_range_keeps_a_log_without_time_observed_in_it(run, tmp_path):
    # Scenario: untimed_lake replayed with --start/--end around LATE only.
    # Guarantees: the log without time is replayed (its event time is the observed
    # one, docs/cli.md): its row group is not skipped by the time statistics.
    lake = untimed_lake(run, tmp_path)
    out = tmp_path / "out.jsonl"
    run("convert", "--signal", "logs", "--start", "2026-11-02T00:00:00Z", "--end",
        "2026-11-03T00:00:00Z", lake, out)
    assert "untimed" in out.read_text() and "\"timed\"" not in out.read_text()

def test_failed_partition_is_reported_and_the_others_deleted(run, lake, tmp_path):
    # Scenario: `partitions delete --before 2026-11-01 --apply` where the first
    # expired hour's log_attrs directory is a plain file, so its deletion fails
    # after its roots went.
    # Guarantees: the second expired hour is still deleted and counted, the failed
    # one is named with the path and the error, and the command exits 1.
    lake, expected = lake
    [first] = list((lake / "log_attrs").glob(f"{hour_dir(HOURS[0])}/_part_id=*"))
    for f in first.iterdir():
        f.unlink()
    first.rmdir()
    first.write_text("not a directory")
    doc = json.loads(delete(run, lake, "--before", "2026-11-01", "--apply", "--json",
                            code=1).stdout)
    assert doc["failed"] == 1 and doc["deleted_partitions"] == 1, doc
    assert doc["exit_code"] == 1
    failed = [p for p in doc["selected"] if p["action"] == "failed"]
    assert [p["partition"].rsplit("/", 1)[0] for p in failed] == [hour_dir(HOURS[0])]
    assert str(first) in failed[0]["error"]
    assert not list(lake.glob(f"*/{hour_dir(HOURS[1])}"))
    first.unlink()  # what made it fail; the rest of the first hour has no roots
    assert set(bodies(run, tmp_path, lake, "left")) == expected[2]


def test_deleting_a_compacted_partition_deletes_what_it_superseded(run, tmp_path):
    # Scenario: the three hours in small files, compacted (committed; --grace 1h keeps
    # the superseded files), then `partitions delete --before 2026-11-01 --apply`.
    # Guarantees: the two expired hours are gone for every reader at once: the files
    # their compactions superseded are deleted with them (else they would be read
    # again, every expired record replayed a second time); the third hour is intact
    # and a later `compact` finishes without error.
    src = tmp_path / "in.jsonl"
    expected = write_logs(src)
    lake = tmp_path / "small"
    run("convert", src, lake, "--partition-by", "hour", "--max-batch-rows", "7",
        "--rows-per-file", "30")
    run("compact", lake, "--older-than", "0s")
    assert all(".c" in p["partition"] for p in partitions(run, lake)["partitions"])
    doc = json.loads(delete(run, lake, "--before", "2026-11-01", "--apply",
                            "--json").stdout)
    assert doc["deleted_partitions"] == 2, doc
    left = partitions(run, lake)["partitions"]
    assert [p["partition"].rsplit("/", 1)[0] for p in left] == [hour_dir(HOURS[2])]
    assert not list(lake.glob(f"*/{hour_dir(HOURS[0])}"))
    assert not list(lake.glob(f"*/{hour_dir(HOURS[1])}"))
    assert set(bodies(run, tmp_path, lake, "left")) == expected[2]
    run("compact", lake, "--grace", "0s")
    assert set(bodies(run, tmp_path, lake, "left")) == expected[2]


def test_checkpoint_finished_before_compaction_finishes_the_compacted_partition(
        run, tmp_path):
    # Scenario: a checkpointed replay ran to the end, then the three hours were
    # compacted (old files deleted). The replay, resumed, skips every compacted
    # partition (it had replayed every root file they superseded), so its checkpoint
    # never gets units of their new paths.
    # Guarantees: retention counts them as finished, as the replay does: --before
    # deletes the two expired hours (exit 0). With the checkpoint interrupted in the
    # second hour (its last root file in progress) that hour is kept (exit 3).
    # Failed on the old code: every compacted partition counted as unfinished (exit 3,
    # nothing deleted), so `retention:` with checkpoints never expired one.
    src = tmp_path / "in.jsonl"
    expected = write_logs(src)
    lake = tmp_path / "lake"
    run("convert", src, lake, "--partition-by", "hour", "--max-batch-rows", "7",
        "--rows-per-file", "30")
    ckpt = replay_checkpoint(run, lake, tmp_path)
    doc = json.loads(ckpt.read_text()[: -len("# end\n")])
    second = next(p["partition"] for p in partitions(run, lake)["partitions"]
                  if p["partition"].startswith(hour_dir(HOURS[1])))
    unit = next(u for u in doc["units"] if u["partition"] == second)
    unit["file"] = sorted(unit["files_done"])[-1]
    unit["row"] = 3
    unit["files_done"] = sorted(unit["files_done"])[:-1]
    interrupted = tmp_path / "interrupted.ckpt"
    interrupted.write_text(json.dumps(doc) + "\n# end\n")
    run("compact", lake, "--older-than", "0s", "--grace", "0s")
    assert all(".c" in p["partition"] for p in partitions(run, lake)["partitions"])
    # The resumed replay has nothing left to replay: the checkpoint is finished.
    copy = tmp_path / "copy"
    before = sum(pq.ParquetFile(f).metadata.num_rows for f in copy.rglob("logs/**/*.parquet"))
    run("run", "-c", tmp_path / "replay.yaml")
    after = sum(pq.ParquetFile(f).metadata.num_rows for f in copy.rglob("logs/**/*.parquet"))
    assert after == before == sum(PER_HOUR)

    proc = delete(run, lake, "--before", "2026-11-01", "--apply", "--checkpoint",
                  interrupted, "--json", code=3)
    kept = [d["partition"] for d in json.loads(proc.stdout)["selected"]
            if d["action"] == "kept-unfinished"]
    assert len(kept) == 1 and kept[0].startswith(hour_dir(HOURS[1])), proc.stdout
    assert count(lake, "logs") == PER_HOUR[1] + PER_HOUR[2]

    doc = json.loads(delete(run, lake, "--before", "2026-11-01", "--apply",
                            "--checkpoint", ckpt, "--json").stdout)
    assert doc["deleted_partitions"] == 1 and doc["blocked"] == 0, doc
    assert count(lake, "logs") == PER_HOUR[2]
    assert count(lake, "log_attrs") == PER_HOUR[2]
    assert set(bodies(run, tmp_path, lake, "left")) == expected[2]


def test_delete_by_part_id_finds_its_compaction(run, tmp_path):
    # Scenario: a run's id space (as a failed `convert` names it, with the
    # `partitions delete --partition _part_id=<uuid> --apply` that removes it) has
    # been compacted meanwhile: its records are now in `_part_id=<uuid>.c<hex>`.
    # Guarantees: the same command deletes the compaction (the same id space, the
    # same records), by the bare `_part_id=` segment and by the old full path; the
    # other run's id space stays. Failed on the old code: "matches no partition",
    # exit 0, nothing deleted (converting again then wrote every record twice).
    src = tmp_path / "in.jsonl"
    expected = write_logs(src)
    lake = tmp_path / "lake"
    for _ in range(2):
        run("convert", src, lake, "--partition-by", "hour", "--max-batch-rows", "7",
            "--rows-per-file", "30")
    listed = partitions(run, lake)["partitions"]
    part_ids = sorted({p["part_id"] for p in listed})
    assert len(part_ids) == 2
    old_path = next(p["partition"] for p in listed if p["part_id"] == part_ids[1])
    run("compact", lake, "--older-than", "0s", "--grace", "0s")
    assert all(".c" in p["part_id"] for p in partitions(run, lake)["partitions"])
    doc = json.loads(delete(run, lake, "--partition", f"_part_id={part_ids[0]}",
                            "--apply", "--json").stdout)
    assert doc["unmatched"] == [] and doc["deleted_partitions"] == len(HOURS), doc
    doc = json.loads(delete(run, lake, "--partition", old_path, "--apply",
                            "--json").stdout)
    assert doc["unmatched"] == [] and doc["deleted_partitions"] == 1, doc
    left = partitions(run, lake)["partitions"]
    assert len(left) == len(HOURS) - 1
    assert all(p["part_id"].startswith(part_ids[1] + ".c") for p in left)
    assert sum(bodies(run, tmp_path, lake, "left").values()) == \
        sum(PER_HOUR) - PER_HOUR[HOURS.index(next(
            h for h in HOURS if old_path.startswith(hour_dir(h))))]
    assert count(lake, "log_attrs") == sum(p["records"] for p in left)
