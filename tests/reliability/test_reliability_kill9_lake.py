# SPDX-License-Identifier: Apache-2.0
"""Reliability: kill -9 during the lake operations `compact`, `partitions delete`
(retention) and `repair --apply`.

Kill points are deterministic: every change a dataset command makes to its storage
(a file opened for writing or closed, a file moved or deleted, a directory made, a
manifest written) is one numbered event (src/otap_parquet/storage/kill_points.h).
A first run on a copy of the dataset logs the events
(OTAP_PARQUET_TEST_EVENT_LOG); each trial then runs the command on a fresh copy
with OTAP_PARQUET_TEST_KILL_AT_EVENT=N, which SIGKILLs it right before event N.
The N of the trials are spread evenly over the run's events (all of its writes,
moves and manifests; runs of deletions in one directory sampled at their ends and
middle, the rest when more trials are asked for): no timing, the same points on
every run.

Guarantees, with uniquely tagged log records (each record's body is unique, and
`rec` repeats it, so a mis-join shows):
- compact (`--grace 0s`, and the default grace period, whose rerun leaves the
  killed run's pending compaction alone and then a `--grace 0s` run finishes):
  right after the kill, and after `compact` and `repair --apply` are run again,
  every record is there exactly once (the multiset of bodies of our replay
  and of an independent pyarrow read that applies the compaction manifests as
  docs/operations.md's "Plain SQL engines" filter does), exactly as written; and
  afterwards nothing is half done: no pending manifest, no superseded file, no
  temporary file, every partition compacted once, `inspect --check` clean.
- partitions delete (`--partition`, and `--before` a date): the records of
  partitions not selected are never missing, after the kill or after the rerun;
  the rerun deletes the selected partitions completely.
- repair --apply (a dataset with crash leftovers: lost root files, stale temporary
  files): the records a replay saw before repair are there after the kill and after
  the rerun, which leaves nothing for repair to find.

Budget (CI: about 100 s on a busy 2-core machine): OTAP_RELIABILITY_TRIALS (CI: 10)
kill points for compact on local disk, half as many for partitions delete
--partition and repair, a fifth for compact with the default grace period, with the
reader's merge and on S3 (moto, a smaller dataset), and for partitions delete
--before."""
import collections
import io
import json
import os
import re
import shutil
import subprocess

import pyarrow.parquet as pq
import pytest
from google.protobuf.internal.encoder import _VarintBytes

import rel_common
from rel_common import canonical_records, compare, convert_dataset, logs_request, summary

COMPACTED = re.compile(r"\.c[0-9a-f]{16}$")


DAY = 86_400 * 10**9


def make_lake(cli, tmp_path, partitions=2, requests=4, per_request=20, days=()):
    """`partitions` convert runs (one `_part_id` each) of small files (7 records a
    batch, a file every 20 rows); the records of partition i are `days[i]` days
    younger than rel_common.T0 (2026-11-18). Returns (lake, {body: canonical},
    {part_id: bodies})."""
    lake, expected, by_part = tmp_path / "pristine", {}, {}
    for part in range(partitions):
        src = tmp_path / f"in-{part}.logs.pb"
        bodies = set()
        t0 = rel_common.T0 + (days[part] if part < len(days) else 0) * DAY
        with open(src, "wb") as out:
            for k in range(requests):
                request = logs_request(f"p{part}-{k}", per_request, t0)
                records = canonical_records(request)
                expected.update(records)
                bodies.update(records)
                data = request.SerializeToString()
                out.write(_VarintBytes(len(data)) + data)
        before = set(part_ids(lake))
        subprocess.run([str(cli), "convert", "--max-batch-rows", "7", "--rows-per-file", "20",
                        str(src), str(lake)], check=True, capture_output=True, timeout=120)
        (new,) = set(part_ids(lake)) - before
        by_part[new] = bodies
    return lake, expected, by_part


def part_ids(lake):
    logs = lake / "logs"
    return sorted(d.name.split("=", 1)[1] for d in logs.iterdir()) if logs.exists() else []


class Local:
    """A dataset directory; files read with pyarrow."""

    def __init__(self, cli, tmp_path):
        self.cli, self.tmp, self.flags, self.env = cli, tmp_path, [], dict(os.environ)
        self.path = tmp_path / "lake"
        self.uri = str(self.path)

    def reset(self, pristine):
        shutil.rmtree(self.path, ignore_errors=True)
        shutil.copytree(pristine, self.path)

    def files(self):
        """{relative path: bytes loader} of every file."""
        return {p.relative_to(self.path).as_posix(): p.read_bytes
                for p in self.path.rglob("*") if p.is_file()}


class S3:
    """A dataset on the moto S3 server; objects read with boto3."""

    def __init__(self, server, cli, tmp_path):
        self.client, self.cli, self.tmp = server.client(), cli, tmp_path
        self.client.create_bucket(Bucket="telemetry")
        self.flags = ["--s3-endpoint", server.endpoint, "--allow-http"]
        self.env = server.env()
        self.uri = "s3://telemetry/lake"

    def reset(self, pristine):
        for key in list(self.files()):
            self.client.delete_object(Bucket="telemetry", Key="lake/" + key)
        for p in pristine.rglob("*"):
            if p.is_file():
                self.client.put_object(Bucket="telemetry",
                                       Key="lake/" + p.relative_to(pristine).as_posix(),
                                       Body=p.read_bytes())

    def files(self):
        keys = [o["Key"] for page in self.client.get_paginator("list_objects_v2")
                .paginate(Bucket="telemetry", Prefix="lake/") for o in page.get("Contents", [])]

        def loader(key):
            return lambda: self.client.get_object(Bucket="telemetry", Key=key)["Body"].read()
        return {k[len("lake/"):]: loader(k) for k in keys}


def run(store, *args, env=None, code=0):
    proc = subprocess.run([str(store.cli), *map(str, args), *store.flags], capture_output=True,
                          text=True, env=env or store.env, timeout=120)
    assert code is None or proc.returncode == code, (args, proc.stdout + proc.stderr)
    return proc


def manifests(files):
    return {name: json.loads(load()) for name, load in files.items()
            if name.startswith("_compactions/") and name.endswith(".json")}


def visible_bodies(store):
    """Counter of the bodies of the log records a compaction-aware reader sees,
    read with pyarrow: files superseded by a committed compaction (whose new files
    are all there) hidden, partitions of compactions not in force hidden."""
    files = store.files()
    committed = [m for m in manifests(files).values() if m["state"] == "committed" and all(
        f"{f['table']}/{m['partition']}/{f['name']}" in files for f in m["new_files"])]
    hidden = {f"{f['table']}/{m['supersedes']}/{f['name']}"
              for m in committed for f in m["old_files"]}
    in_force = {m["part_id"] for m in committed}
    counts = collections.Counter()
    for name, load in files.items():
        if not name.startswith("logs/") or not re.search(r"/part-[^/]*\.parquet$", name):
            continue
        part_id = re.search(r"_part_id=([^/]+)/", name).group(1)
        if name in hidden or (COMPACTED.search(part_id) and part_id not in in_force):
            continue
        table = pq.read_table(io.BytesIO(load()), columns=["body"])
        counts.update(b["str"] for b in table.column("body").to_pylist())
    return counts


def replay(store, expected):
    """Our replay (`convert`) of the dataset compared with `expected`: returns
    (lost, duplicates, misjoined, phantom, counts)."""
    out = store.tmp / "replay.logs.pb"
    if isinstance(store, Local):
        proc, counts, records, _ = convert_dataset(store.cli, store.path, out)
    else:
        if out.exists():
            out.unlink()
        proc = run(store, "convert", store.uri, out, code=None)
        counts, records = rel_common.replayed_pb_records(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return (*compare(expected, counts, records), counts)


def events_of(store, pristine, *args):
    """The storage events of a whole run of `args` on a copy of `pristine`."""
    store.reset(pristine)
    log = store.tmp / "events.log"
    if log.exists():
        log.unlink()
    run(store, *args, env=dict(store.env, OTAP_PARQUET_TEST_EVENT_LOG=str(log)))
    events = [line.split(" ", 2) for line in log.read_text().splitlines()]
    assert [int(n) for n, _, _ in events] == list(range(1, len(events) + 1))
    return [(int(n), what, path) for n, what, path in events]


def kill_points(events, k):
    """`k` event numbers spread evenly over the interesting events: every event but
    deletions, and of each run of deletions in one directory its first, middle and
    last; more than those when `k` asks for more, spread over the rest."""
    interesting, run_, run_dir = [], [], None
    for n, what, path in events + [(None, "end", "")]:
        directory = path.rsplit("/", 1)[0]
        if run_ and (what != "delete" or directory != run_dir):
            interesting += sorted({run_[0], run_[len(run_) // 2], run_[-1]})
            run_ = []
        if what == "delete":
            run_.append(n)
            run_dir = directory
        elif n is not None:
            interesting.append(n)
    rest = [n for n, _, _ in events if n not in set(interesting)]
    if k > len(interesting) and rest:
        extra = k - len(interesting)
        interesting += {rest[i * len(rest) // extra] for i in range(min(extra, len(rest)))}
    interesting = sorted(set(interesting))
    if k >= len(interesting):
        return interesting
    return sorted({interesting[round(i * (len(interesting) - 1) / (k - 1))]
                   for i in range(k)})


def killed(store, n, *args):
    proc = run(store, *args, env=dict(store.env, OTAP_PARQUET_TEST_KILL_AT_EVENT=str(n)),
               code=None)
    assert proc.returncode == -9, (n, args, proc.stdout + proc.stderr)


def leftovers(store):
    """What a finished run must not leave: pending or unfinished manifests,
    temporary files, files of superseded partitions."""
    files = store.files()
    bad = [f"{name}: {m['state']} old_files_removed={m.get('old_files_removed')}"
           for name, m in manifests(files).items()
           if m["state"] != "committed" or not m.get("old_files_removed")]
    bad += [name for name in files if "/." in "/" + name and not name.endswith(".compact.lock")]
    # (Object stores: keys ending in "/" are directory markers, no data.)
    files = {name: load for name, load in files.items() if not name.endswith("/")}
    bad += [name for name in files if re.search(r"_part_id=([^/]+)/", name)
            and not COMPACTED.search(re.search(r"_part_id=([^/]+)/", name).group(1))]
    return bad


def kill_trials(store, pristine, args, k, label, check_killed, finish, **counts):
    """Runs `args` on a fresh copy of `pristine` killed at each of `k` of its storage
    events (kill_points); after each kill `check_killed()` looks at the dataset, then
    `finish()` runs what completes the work and looks again: each returns a problem
    (text) or None. Reports `kill9-lake[label]` and fails with every problem."""
    events = events_of(store, pristine, *args)
    points = kill_points(events, k)
    failures = []
    for n in points:
        store.reset(pristine)
        killed(store, n, *args)
        where = f"after kill at event {n} {events[n - 1][1:]}"
        problem = check_killed()
        if problem is None:
            where += " and rerun"
            problem = finish()
        if problem:
            failures.append(f"{where}: {problem}")
    summary(f"kill9-lake[{label}]", trials=len(points), events=len(events), **counts,
            failures=len(failures))
    assert not failures, "\n".join(failures)
    return events


def exactly(store, expected, want=None):
    """None when our replay and the pyarrow read both see every record of `expected`
    once (and, given `want`, the pyarrow read sees exactly `want`); else the
    problem."""
    want = want or collections.Counter({body: 1 for body in expected})
    lost, dup, mis, phantom, _ = replay(store, expected)
    seen = visible_bodies(store)
    if (lost, dup, mis, phantom) == (0, 0, 0, 0) and seen == want:
        return None
    return (f"lost={lost} duplicates={dup} misjoined={mis} phantom={phantom} "
            f"pyarrow-diff={dict((seen - want) + (want - seen)) or None}")


def check_compact_trials(store, cli, tmp_path, trials, label, requests=4, grace="0s"):
    pristine, expected, by_part = make_lake(cli, tmp_path, requests=requests)
    args = ("compact", store.uri, "--older-than", "0s", "--grace", grace)

    def finish():
        if grace != "0s":
            # A pending compaction younger than the grace period may be running: the
            # rerun leaves it (and refuses its partition, exit 3); superseded files
            # wait for the grace period.
            run(store, *args, code=None)
            problem = exactly(store, expected)
            if problem:
                return f"after a rerun with --grace {grace}: {problem}"
        run(store, "compact", store.uri, "--older-than", "0s", "--grace", "0s")
        run(store, "repair", store.uri, "--apply", "--grace-period", "0s")
        problem = exactly(store, expected)
        listing = json.loads(run(store, "partitions", store.uri, "--json").stdout)
        parts = sorted(p["partition"] for p in listing["partitions"])
        check = run(store, "inspect", store.uri, "--check", code=None)
        bad = leftovers(store)
        if (problem or bad or len(parts) != len(by_part) or check.returncode != 0
                or not all(COMPACTED.search(p) for p in parts)):
            return (f"{problem} partitions={parts} leftovers={bad[:5]} "
                    f"inspect={check.returncode}")
        return None
    kill_trials(store, pristine, args, trials, f"compact-{label}",
                lambda: exactly(store, expected), finish, records=len(expected))


def test_kill9_compact_local(cli, tmp_path):
    check_compact_trials(Local(cli, tmp_path), cli, tmp_path, rel_common.TRIALS, "local")


def test_kill9_compact_default_grace_local(cli, tmp_path):
    # The default grace period (1 h): the killed run defers every deletion, so a
    # crashed pending compaction is still "running" for the rerun.
    check_compact_trials(Local(cli, tmp_path), cli, tmp_path,
                         max(2, rel_common.TRIALS // 5), "default-grace-local", grace="1h")


def test_kill9_compact_merge_local(cli, tmp_path):
    # The reader's merge (files of other writers) instead of the copy of our own.
    store = Local(cli, tmp_path)
    store.env["OTAP_PARQUET_COMPACT_MERGE"] = "1"
    check_compact_trials(store, cli, tmp_path, max(2, rel_common.TRIALS // 5), "merge-local")


def test_kill9_compact_s3(s3_server, cli, tmp_path):
    # Fewer, smaller trials: every request to the moto server takes its time (a
    # compaction's deletions alone are several requests per superseded file).
    check_compact_trials(S3(s3_server, cli, tmp_path), cli, tmp_path,
                         max(2, rel_common.TRIALS // 5), "s3", requests=2)


def check_partitions_delete_trials(store, pristine, expected, by_part, deleted, args, k,
                                   label):
    """`args` (a `partitions delete`) deletes the partitions `deleted`: the others'
    records are never missing; the rerun (and repair) deletes those completely."""
    kept = {body: canon for part, bodies in by_part.items() if part not in deleted
            for body, canon in expected.items() if body in bodies}
    want = collections.Counter({body: 1 for body in kept})

    def check_killed():
        # The named partitions may be partly there: their records may appear.
        lost, dup, mis, phantom, _ = replay(store, kept)
        seen = visible_bodies(store)
        if (lost, dup, mis) != (0, 0, 0) or any(seen[b] != 1 for b in kept):
            return f"lost={lost} duplicates={dup} misjoined={mis}"
        return None

    def finish():
        # A kill after the root files leaves child files without roots: no
        # partition any more for the rerun, orphans for repair (docs/operations.md).
        run(store, *args)
        run(store, "repair", store.uri, "--apply", "--grace-period", "0s")
        problem = exactly(store, kept, want)
        left = [name for name in store.files() if any(part in name for part in deleted)]
        return f"{problem} left={left[:3]}" if problem or left else None
    kill_trials(store, pristine, args, k, label, check_killed, finish,
                records=len(expected), deleted=len(expected) - len(kept))


def test_kill9_partitions_delete_local(cli, tmp_path):
    store = Local(cli, tmp_path)
    pristine, expected, by_part = make_lake(cli, tmp_path, partitions=3)
    target = sorted(by_part)[1]
    args = ("partitions", "delete", store.uri, "--partition", f"_part_id={target}", "--apply")
    check_partitions_delete_trials(store, pristine, expected, by_part, {target}, args,
                                   max(3, rel_common.TRIALS // 2), "partitions-delete")


def test_kill9_partitions_delete_before_local(cli, tmp_path):
    # By event time: the two partitions of 2026-11-18 go, the one of the 19th stays.
    store = Local(cli, tmp_path)
    pristine, expected, by_part = make_lake(cli, tmp_path, partitions=3, days=(0, 1, 0))
    old = {part for part, bodies in by_part.items()
           if not any(body.startswith("p1-") for body in bodies)}
    assert len(old) == 2
    args = ("partitions", "delete", store.uri, "--before", "2026-11-19", "--apply")
    check_partitions_delete_trials(store, pristine, expected, by_part, old, args,
                                   max(2, rel_common.TRIALS // 5),
                                   "partitions-delete-before")


def test_kill9_repair_local(cli, tmp_path):
    store = Local(cli, tmp_path)
    pristine, expected, by_part = make_lake(cli, tmp_path, partitions=2)
    # Crash leftovers: root files lost (their children are orphans) and stale
    # temporary files of a writer, in both partitions.
    for part in by_part:
        roots = sorted((pristine / "logs" / f"_part_id={part}").glob("part-*.parquet"))
        for root in roots[1::3]:
            root.unlink()
        for table in ("logs", "log_attrs"):
            d = pristine / table / f"_part_id={part}"
            (d / ".part-1-stale.parquet.tmp").write_bytes(b"PAR1 half written")
    store.reset(pristine)
    lost0, _, _, _, counts = replay(store, expected)
    assert lost0 > 0
    survivors = {body: expected[body] for body in counts}
    args = ("repair", store.uri, "--apply", "--grace-period", "0s")

    def finish():
        run(store, *args)
        problem = exactly(store, survivors)
        again = run(store, "repair", store.uri, "--grace-period", "0s", code=None)
        if problem or again.returncode != 0:
            return f"{problem} repair-again={again.returncode}: {again.stdout[-300:]}"
        return None
    events = kill_trials(store, pristine, args, max(3, rel_common.TRIALS // 2), "repair",
                         lambda: exactly(store, survivors), finish,
                         records=len(survivors))
    assert any(what == "delete" for _, what, _ in events), events
