# SPDX-License-Identifier: Apache-2.0
"""`otap-parquet sql` (docs/queries.md): the DuckDB views over datasets of ours and of
upstream's writer, and every query of docs/queries.md, each compared with the answer
computed from the OTLP input in Python."""
import collections
import datetime
import gzip
import json
import math
import pathlib
import re
import stat

import duckdb
import pytest

ROOT = pathlib.Path(__file__).resolve().parent
UPSTREAM = ROOT / "data" / "upstream"
QUERIES = ROOT.parent / "docs" / "queries.md"


def doc_queries():
    """{number: sql} of the `### N.` sections of docs/queries.md."""
    text = QUERIES.read_text()
    found = re.findall(r"^### (\d+)\..*?```sql\n(.*?)```", text, re.S | re.M)
    return {int(n): sql for n, sql in found}


def any_value(v):
    if v is None:
        return None
    for key, conv in (("stringValue", str), ("intValue", int), ("doubleValue", float),
                      ("boolValue", bool)):
        if key in v:
            return conv(v[key])
    return v


def attrs(items):
    return {a["key"]: any_value(a.get("value")) for a in items or []}


def load_source(lines):
    """Flattened logs, spans and metric points of OTLP/JSON lines."""
    logs, spans, points = [], [], []
    for line in lines:
        doc = json.loads(line)
        for rl in doc.get("resourceLogs", []):
            res = attrs(rl.get("resource", {}).get("attributes"))
            for sl in rl.get("scopeLogs", []):
                for r in sl.get("logRecords", []):
                    t = int(r.get("timeUnixNano", 0)) or int(r.get("observedTimeUnixNano", 0))
                    logs.append({"service": res.get("service.name"), "time": t,
                                 "severity": r.get("severityNumber", 0),
                                 "attributes": attrs(r.get("attributes"))})
        for rs in doc.get("resourceSpans", []):
            res = attrs(rs.get("resource", {}).get("attributes"))
            for ss in rs.get("scopeSpans", []):
                for s in ss.get("spans", []):
                    spans.append({
                        "service": res.get("service.name"), "trace_id": s.get("traceId", ""),
                        "span_id": s.get("spanId", ""), "name": s.get("name", ""),
                        "kind": s.get("kind", 0),
                        "status": s.get("status", {}).get("code", 0),
                        "duration_ms": (int(s.get("endTimeUnixNano", 0))
                                        - int(s.get("startTimeUnixNano", 0))) / 1e6,
                        "attributes": attrs(s.get("attributes")),
                        "events": [e.get("name", "") for e in s.get("events", [])],
                        "links": len(s.get("links", [])),
                    })
        for rm in doc.get("resourceMetrics", []):
            res = attrs(rm.get("resource", {}).get("attributes"))
            for sm in rm.get("scopeMetrics", []):
                for m in sm.get("metrics", []):
                    for kind in ("gauge", "sum", "histogram", "exponentialHistogram", "summary"):
                        for p in m.get(kind, {}).get("dataPoints", []):
                            value = p.get("asDouble", p.get("asInt"))
                            points.append({
                                "service": res.get("service.name"), "name": m["name"],
                                "kind": kind,
                                "value": None if value is None else float(value),
                                "count": int(p.get("count", 0)), "sum": p.get("sum"),
                            })
    return logs, spans, points


def quantile_cont(values, q):
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def text(v):
    """An attribute value as the views print it (strings, ints)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


@pytest.fixture(scope="module")
def lake(tmp_path_factory, cli):
    import subprocess

    tmp = tmp_path_factory.mktemp("sql")
    src = tmp / "src.jsonl"
    for args in (["generate", src, "--requests", "6", "--items", "40", "--seed", "11"],
                 ["convert", src, tmp / "lake", "--partition-by", "hour",
                  "--rows-per-file", "300"]):
        subprocess.run([str(cli), *map(str, args)], check=True, capture_output=True)
    views = subprocess.run([str(cli), "sql", tmp / "lake"], check=True, capture_output=True,
                           text=True).stdout
    return {"dir": tmp / "lake", "views": views,
            "source": load_source(src.read_text().splitlines())}


def connect(views):
    con = duckdb.connect()
    con.execute(views)
    return con


def run_doc_query(con, number, now=None, replace=()):
    sql = doc_queries()[number]
    if now is not None:
        sql = sql.replace("now()", f"TIMESTAMP_NS '{now.isoformat()}'")
    for old, new in replace:
        sql = sql.replace(old, new)
    return con.execute(sql).fetchall()


def test_docs_have_ten_questions():
    assert sorted(doc_queries()) == list(range(1, 12))


def test_views_present_every_record_with_its_attributes(lake):
    con = connect(lake["views"])
    logs, spans, points = lake["source"]
    assert con.execute("SELECT count(*) FROM logs").fetchone()[0] == len(logs)
    assert con.execute("SELECT count(*) FROM spans").fetchone()[0] == len(spans)
    assert con.execute("SELECT count(*) FROM metrics").fetchone()[0] == len(points)
    # Each log's attributes, stringified, as in the source (matched by body-free keys).
    got = sorted(sorted(m.items()) for (m,) in con.execute("SELECT attributes FROM logs").fetchall())
    want = sorted(sorted((k, text(v)) for k, v in r["attributes"].items()) for r in logs)
    assert got == want
    got = collections.Counter(s for (s,) in con.execute("SELECT service_name FROM spans").fetchall())
    assert got == collections.Counter(s["service"] for s in spans)
    events = con.execute("SELECT sum(len(events)), sum(len(links)) FROM spans").fetchone()
    assert events == (sum(len(s["events"]) for s in spans), sum(s["links"] for s in spans))


def test_q1_errors_by_service_last_hour(lake):
    con = connect(lake["views"])
    logs = lake["source"][0]
    first = min(r["time"] for r in logs)
    last = max(r["time"] for r in logs)
    cut = (first + last) // 2  # the "last hour" starts here: half of the records
    now_ns = cut + 3600 * 10**9
    now = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=now_ns // 1000)
    cut_us = (now_ns // 1000 - 3600 * 10**6) * 1000  # the query's bound, in µs like `now`
    want = collections.Counter(r["service"] for r in logs
                               if r["severity"] >= 17 and r["time"] >= cut_us)
    got = run_doc_query(con, 1, now=now)
    assert dict(got) == dict(want) and sum(want.values()) > 0
    assert sum(want.values()) < sum(1 for r in logs if r["severity"] >= 17)


def test_q2_trace_by_id(lake):
    con = connect(lake["views"])
    spans = lake["source"][1]
    trace = collections.Counter(s["trace_id"] for s in spans).most_common(1)[0][0]
    got = run_doc_query(con, 2, replace=[("5b8efff798038103d269b633813fc60c", trace)])
    want = sorted(s["span_id"].upper() for s in spans if s["trace_id"] == trace)
    assert sorted(row[0] for row in got) == want


def test_q2_trace_lookup_with_bloom_filters(tmp_path, run):
    """`--bloom-filter trace_id` puts a bloom filter on every trace_id column chunk; the
    lookup is exact. DuckDB 2.0 probes them only in tables without a struct column
    before trace_id (span_links, exemplars: not spans and logs, docs/queries.md)."""
    src = tmp_path / "t.jsonl"
    run("generate", src, "--signal", "traces", "--requests", "4", "--items", "50")
    run("convert", src, tmp_path / "lake", "--bloom-filter", "trace_id", "--rows-per-file", "200")
    con = connect(run("sql", tmp_path / "lake").stdout)
    chunks = con.execute(
        f"SELECT count(*), count(bloom_filter_offset) FROM parquet_metadata("
        f"'{tmp_path}/lake/spans/**/*.parquet') WHERE path_in_schema = 'trace_id'").fetchone()
    assert chunks[0] > 1 and chunks[0] == chunks[1]
    absent = "00112233445566778899aabbccddeeff"
    probe = con.execute(
        f"SELECT bool_and(bloom_filter_excludes), count(*) FROM parquet_bloom_probe("
        f"'{tmp_path}/lake/span_links/**/*.parquet', 'trace_id', from_hex('{absent}'))"
    ).fetchone()
    assert probe == (True, chunks[0])
    assert run_doc_query(con, 2, replace=[("5b8efff798038103d269b633813fc60c", absent)]) == []
    spans = load_source(src.read_text().splitlines())[1]
    trace = spans[-1]["trace_id"]
    got = run_doc_query(con, 2, replace=[("5b8efff798038103d269b633813fc60c", trace)])
    assert sorted(r[0] for r in got) == sorted(
        s["span_id"].upper() for s in spans if s["trace_id"] == trace)


def test_q3_p99_latency_per_route(lake):
    con = connect(lake["views"])
    spans = lake["source"][1]
    by_route = collections.defaultdict(list)
    for s in spans:
        route = s["attributes"].get("http.route")
        if s["kind"] == 2 and route is not None:
            by_route[route].append(s["duration_ms"])
    got = {route: (n, p99) for route, n, p99 in run_doc_query(con, 3)}
    assert set(got) == set(by_route) and got
    for route, durations in by_route.items():
        assert got[route][0] == len(durations)
        assert got[route][1] == pytest.approx(quantile_cont(durations, 0.99), rel=1e-9)


def test_q4_top_attribute_values(lake):
    con = connect(lake["views"])
    counts = collections.Counter(r["attributes"]["user_agent.original"]
                                 for r in lake["source"][0]
                                 if "user_agent.original" in r["attributes"])
    want = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert run_doc_query(con, 4) == want


def test_q5_attribute_keys(lake):
    con = connect(lake["views"])
    keys = collections.Counter()
    values = collections.defaultdict(set)
    for s in lake["source"][1]:
        for k, v in s["attributes"].items():
            keys[k] += 1
            values[k].add(text(v))
    want = sorted(((k, n, len(values[k])) for k, n in keys.items()),
                  key=lambda t: (-t[1], t[0]))[:10]
    assert run_doc_query(con, 5) == want


def test_q6_error_rate_per_service(lake):
    con = connect(lake["views"])
    total, errors = collections.Counter(), collections.Counter()
    for s in lake["source"][1]:
        total[s["service"]] += 1
        errors[s["service"]] += s["status"] == 2
    got = {svc: (n, e) for svc, n, e, _ in run_doc_query(con, 6)}
    assert got == {svc: (total[svc], errors[svc]) for svc in total}


def test_q7_server_errors_by_typed_status(lake):
    con = connect(lake["views"])
    want = collections.Counter(
        r["attributes"].get("http.route") for r in lake["source"][0]
        if isinstance(r["attributes"].get("http.response.status_code"), int)
        and r["attributes"]["http.response.status_code"] >= 500)
    assert dict(run_doc_query(con, 7)) == dict(want) and want


def test_q8_exception_events(lake):
    con = connect(lake["views"])
    spans_with, exceptions = collections.Counter(), collections.Counter()
    for s in lake["source"][1]:
        n = s["events"].count("exception")
        if n:
            spans_with[s["service"]] += 1
            exceptions[s["service"]] += n
    got = {svc: (a, b) for svc, a, b in run_doc_query(con, 8)}
    assert got == {svc: (spans_with[svc], exceptions[svc]) for svc in spans_with}


def test_q9_sum_metric_per_service(lake):
    con = connect(lake["views"])
    sums, counts = collections.Counter(), collections.Counter()
    for p in lake["source"][2]:
        if p["name"] == "http.server.request.count":
            sums[p["service"]] += p["value"]
            counts[p["service"]] += 1
    got = {svc: (v, n) for svc, v, n in run_doc_query(con, 9)}
    assert set(got) == set(sums) and got
    for svc in sums:
        assert got[svc][0] == pytest.approx(sums[svc]) and got[svc][1] == counts[svc]


def test_q10_histogram_mean_per_service(lake):
    con = connect(lake["views"])
    n, total = collections.Counter(), collections.Counter()
    for p in lake["source"][2]:
        if p["name"] == "http.server.request.duration" and p["kind"] == "histogram":
            n[p["service"]] += p["count"]
            total[p["service"]] += p["sum"] or 0
    got = {svc: (c, mean) for svc, c, mean in run_doc_query(con, 10)}
    assert set(got) == set(n) and got
    for svc in n:
        assert got[svc][0] == n[svc]
        assert got[svc][1] == pytest.approx(total[svc] / n[svc])


def test_q11_links(lake):
    con = connect(lake["views"])
    spans, links = collections.Counter(), collections.Counter()
    for s in lake["source"][1]:
        if s["links"]:
            spans[s["name"]] += 1
            links[s["name"]] += s["links"]
    got = {name: (a, b) for name, a, b in run_doc_query(con, 11)}
    assert got == {name: (spans[name], links[name]) for name in spans}


@pytest.mark.parametrize("name", ["otlp-realistic-logs", "otlp-realistic-traces",
                                  "otlp-realistic-metrics"])
def test_upstream_datasets_join_resources_exactly(run, name):
    """Upstream's un-offset resource ids (Q1) are recovered in SQL: every record gets
    its own resource's service.name; its own attributes too."""
    base = UPSTREAM / name
    with gzip.open(base / "source.jsonl.gz", "rt") as f:
        logs, spans, points = load_source(f.read().splitlines())
    con = connect(run("sql", base / "dataset").stdout)
    for view, records in (("logs", logs), ("spans", spans), ("metrics", points)):
        if not records:
            continue
        got = collections.Counter(
            s for (s,) in con.execute(f"SELECT service_name FROM {view}").fetchall())
        assert got == collections.Counter(r["service"] for r in records), view
    if logs:
        got = sorted(sorted(m.items()) for (m,) in
                     con.execute("SELECT coalesce(attributes, MAP {}) FROM logs").fetchall())
        want = sorted(sorted((k, text(v)) for k, v in r["attributes"].items()) for r in logs)
        assert got == want
        # Q14: DuckDB would read these ids shifted; the view reads them as NULL.
        assert con.execute("SELECT count(trace_id) FROM logs").fetchone()[0] == 0
    if spans:
        assert con.execute("SELECT sum(len(events)), sum(len(links)) FROM spans").fetchone() == (
            sum(len(s["events"]) for s in spans), sum(s["links"] for s in spans))
        # Unique span trace ids are written plain: they read correctly.
        got = sorted(h for (h,) in con.execute("SELECT hex(trace_id) FROM spans").fetchall())
        assert got == sorted(s["trace_id"].upper() for s in spans)


def test_unpartitioned_upstream_dataset(run, tmp_path):
    """Upstream without `_part_id` (files directly under the table directories): one id
    space, read with `_part_id = ''`."""
    base = UPSTREAM / "otlp-realistic-traces"
    for table in (base / "dataset").iterdir():
        (tmp_path / "flat" / table.name).mkdir(parents=True)
        for f in table.rglob("*.parquet"):
            (tmp_path / "flat" / table.name / f.name).write_bytes(f.read_bytes())
    with gzip.open(base / "source.jsonl.gz", "rt") as f:
        spans = load_source(f.read().splitlines())[1]
    con = connect(run("sql", tmp_path / "flat").stdout)
    got = collections.Counter(s for (s,) in con.execute("SELECT service_name FROM spans").fetchall())
    assert got == collections.Counter(s["service"] for s in spans)
    assert con.execute("SELECT DISTINCT _part_id FROM spans").fetchall() == [("",)]


def test_mixed_dataset_joins_each_writer_its_way(tmp_path, run):
    """Upstream files and ours in one dataset: each file's resources join their own way."""
    import shutil

    base = UPSTREAM / "otlp-realistic-logs"
    shutil.copytree(base / "dataset", tmp_path / "lake")
    src = tmp_path / "ours.jsonl"
    run("generate", src, "--signal", "logs", "--requests", "3", "--items", "20")
    run("convert", src, tmp_path / "lake")
    with gzip.open(base / "source.jsonl.gz", "rt") as f:
        logs = load_source(f.read().splitlines())[0]
    logs += load_source(src.read_text().splitlines())[0]
    con = connect(run("sql", tmp_path / "lake").stdout)
    got = collections.Counter(s for (s,) in con.execute("SELECT service_name FROM logs").fetchall())
    assert got == collections.Counter(r["service"] for r in logs)


def test_missing_tables_give_no_view_and_empty_children(tmp_path, run):
    src = tmp_path / "logs.jsonl"
    run("generate", src, "--signal", "logs", "--requests", "2", "--items", "10")
    run("convert", src, tmp_path / "lake")
    con = connect(run("sql", tmp_path / "lake").stdout)
    logs = load_source(src.read_text().splitlines())[0]
    assert con.execute("SELECT count(*), count(scope_attributes) FROM logs").fetchone() == (
        len(logs), 0)
    with pytest.raises(duckdb.CatalogException):
        con.execute("SELECT * FROM spans")


def test_repeated_attribute_key_keeps_first_value(run, tmp_path):
    """OTLP allows a key twice on one record; a MAP does not: the first value stays."""
    record = {"timeUnixNano": "1700000000000000000", "body": {"stringValue": "x"},
              "attributes": [{"key": "k", "value": {"stringValue": "first"}},
                             {"key": "k", "value": {"intValue": "2"}},
                             {"key": "other", "value": {"boolValue": True}}]}
    src = tmp_path / "dup.jsonl"
    src.write_text(json.dumps({"resourceLogs": [{"resource": {}, "scopeLogs": [
        {"scope": {}, "logRecords": [record]}]}]}) + "\n")
    run("convert", src, tmp_path / "lake")
    con = connect(run("sql", tmp_path / "lake").stdout)
    assert con.execute("SELECT attributes FROM logs").fetchall() == [
        ({"k": "first", "other": "true"},)]


def test_corrupt_file_is_left_out(run, tmp_path):
    src = tmp_path / "logs.jsonl"
    run("generate", src, "--signal", "logs", "--requests", "1", "--items", "5")
    run("convert", src, tmp_path / "lake")
    bad = next((tmp_path / "lake" / "logs").iterdir()) / "part-0-bad.parquet"
    bad.write_bytes(b"not parquet")
    sql = run("sql", tmp_path / "lake").stdout
    assert "-- WARNING: unreadable file, left out" in sql and "part-0-bad.parquet" in sql
    # DuckDB would fail on it: the logs view reads the other files, as our reader does.
    con = connect(sql)
    logs = load_source(src.read_text().splitlines())[0]
    assert con.execute("SELECT count(*), count(attributes) FROM logs").fetchone() == (
        len(logs), len(logs))


def test_run_and_query_start_duckdb_cli(tmp_path, run, lake):
    fake = tmp_path / "duckdb"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n--arg--\\n" "$a"; done\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    out = run("sql", lake["dir"], "--duckdb", fake, "-c", "SELECT 1").stdout
    args = out.split("--arg--\n")
    assert args[0] == "-cmd\n" and "CREATE OR REPLACE VIEW logs" in args[1]
    assert args[2:4] == ["-c\n", "SELECT 1\n"]
    proc = run("sql", lake["dir"], "--run", "--duckdb", tmp_path / "nope", check=False)
    assert proc.returncode == 1 and "cannot run DuckDB's CLI" in proc.stderr


def test_s3_dataset_views(s3_server, run, tmp_path, cli):
    """s3://: the script sets up httpfs and a secret for the endpoint and reads the same
    files; run here on a local copy (DuckDB's httpfs is not installed in the tests)."""
    import subprocess

    import pyarrow.fs as pafs
    from s3_server import ACCESS_KEY, REGION, SECRET_KEY

    src = tmp_path / "logs.jsonl"
    run("generate", src, "--signal", "logs", "--requests", "2", "--items", "10")
    s3_server.client().create_bucket(Bucket="telemetry")
    env = s3_server.env()
    flags = ["--s3-endpoint", s3_server.endpoint, "--allow-http"]
    subprocess.run([str(cli), "convert", str(src), "s3://telemetry/lake", *flags], env=env,
                   check=True, capture_output=True)
    sql = subprocess.run([str(cli), "sql", "s3://telemetry/lake", *flags], env=env, check=True,
                         capture_output=True, text=True).stdout
    host = s3_server.endpoint.split("://")[-1]
    assert "LOAD httpfs;" in sql
    assert f"ENDPOINT '{host}'" in sql and "USE_SSL false" in sql
    assert "read_parquet('s3://telemetry/lake/logs/**/*.parquet'" in sql
    fs = pafs.S3FileSystem(endpoint_override=s3_server.endpoint, access_key=ACCESS_KEY,
                           secret_key=SECRET_KEY, region=REGION, scheme="http")
    pafs.copy_files("telemetry/lake", str(tmp_path / "copy"), source_filesystem=fs,
                    destination_filesystem=pafs.LocalFileSystem())
    local = "\n".join(line for line in sql.splitlines()
                      if not re.match(r"(INSTALL|LOAD|CREATE OR REPLACE SECRET)", line))
    con = connect(local.replace("s3://telemetry/lake", str(tmp_path / "copy")))
    n = len(load_source(src.read_text().splitlines())[0])
    assert con.execute("SELECT count(*), count(service_name) FROM logs").fetchone() == (n, n)


def test_views_honour_compactions(run, cli, tmp_path):
    """`compact` (docs/operations.md): during the grace period a table's glob holds the
    old and the new files. The views read the manifests when a query runs, so views
    printed before the compaction and views printed after it both present every
    record once: superseded files left out, and the partition of a compaction that
    is pending, or whose manifest is gone (abandoned), left out too."""
    from test_dataset_compact import killed_compact
    import shutil

    src = tmp_path / "src.jsonl"
    run("generate", src, "--requests", "6", "--items", "40", "--seed", "11")
    lake = tmp_path / "lake"
    run("convert", src, lake, "--partition-by", "hour", "--rows-per-file", "50")
    logs, spans, points = load_source(src.read_text().splitlines())
    want_attrs = sorted(sorted((k, text(v)) for k, v in r["attributes"].items())
                        for r in logs)

    def check(views):
        con = connect(views)
        counts = [con.execute(f"SELECT count(*) FROM {v}").fetchone()[0]
                  for v in ("logs", "spans", "metrics")]
        assert counts == [len(logs), len(spans), len(points)]
        got = sorted(sorted(m.items()) for (m,) in
                     con.execute("SELECT attributes FROM logs").fetchall())
        assert got == want_attrs
        assert con.execute("SELECT count(*) FROM logs WHERE service_name IS NULL"
                           ).fetchone()[0] == 0

    def glob_logs():
        return duckdb.connect().execute(
            f"SELECT count(*) FROM read_parquet('{lake}/logs/**/*.parquet')").fetchone()[0]

    before = run("sql", lake).stdout  # no manifest yet
    check(before)
    # A compaction killed after publishing its files: pending, new partition hidden.
    killed_compact(cli, lake, "written", "--older-than", "0s")
    assert glob_logs() == 2 * len(logs)
    check(before)
    check(run("sql", lake).stdout)
    # Its manifest gone (an abandon deletes the new files, then the manifest; a query
    # may list the files before and read the manifests after): still hidden.
    manifests = lake / "_compactions"
    saved = tmp_path / "saved"
    shutil.move(manifests, saved)
    check(before)
    shutil.move(saved, manifests)
    # The next run abandons it only after --grace: remove it by hand, then compact.
    for f in manifests.glob("*.json"):
        part = json.loads(f.read_text())["partition"]
        for table in lake.iterdir():
            shutil.rmtree(table / part, ignore_errors=True)
        f.unlink()
    run("compact", lake, "--older-than", "0s", "--grace", "1h")
    assert glob_logs() == 2 * len(logs)  # old and new files, within the grace period
    check(before)
    after = run("sql", lake).stdout
    check(after)
    # After the grace period only the new files are left.
    run("compact", lake, "--older-than", "0s", "--grace", "0s")
    assert glob_logs() == len(logs)
    check(before)
    check(after)


def test_views_ignore_a_committed_compaction_whose_new_files_are_missing(run, tmp_path):
    """A committed compaction one of whose new files is gone (a run that undid it as
    abandoned just before its commit landed, or a hand deletion) is not in force for
    our readers (`convert` replays the superseded files, `compact` keeps them:
    "incomplete"). The views ignore it too: every record once, from the superseded
    files. They used to hide the superseded files and show the incomplete
    partition: the rows of the missing file were gone from every query."""
    import pyarrow.parquet as pq

    src = tmp_path / "src.jsonl"
    run("generate", src, "--signal", "logs", "--requests", "6", "--items", "40",
        "--seed", "5")
    lake = tmp_path / "lake"
    run("convert", src, lake, "--partition-by", "hour", "--rows-per-file", "50")
    logs = load_source(src.read_text().splitlines())[0]
    run("compact", lake, "--older-than", "0s", "--grace", "1h")

    def rows(compacted):
        return sum(pq.ParquetFile(f).metadata.num_rows
                   for f in (lake / "logs").rglob("*.parquet")
                   if (".c" in f.parent.name) == compacted)

    assert rows(False) == rows(True) == len(logs)
    new = sorted(f for f in (lake / "logs").rglob("*.parquet") if ".c" in f.parent.name)
    new[0].unlink()
    con = connect(run("sql", lake).stdout)
    assert con.execute("SELECT count(*) FROM logs").fetchone()[0] == len(logs)
    assert con.execute("SELECT count(*) FROM logs WHERE service_name IS NULL"
                       ).fetchone()[0] == 0


def _lake_at(run, tmp_path, name, seed):
    """A logs lake at tmp_path/name (compacted: the views read its manifests too);
    returns (path, number of log records)."""
    lake, logs = _lake_logs_at(run, tmp_path, name, seed)
    return lake, len(logs)


def _lake_logs_at(run, tmp_path, name, seed):
    src = tmp_path / f"src-{seed}.jsonl"
    run("generate", src, "--signal", "logs", "--requests", "2", "--items", str(5 + seed),
        "--seed", seed)
    lake = tmp_path / name
    lake.parent.mkdir(parents=True, exist_ok=True)
    run("convert", src, lake, "--rows-per-file", "7")
    run("compact", lake, "--older-than", "0s", "--grace", "1h")
    return lake, load_source(src.read_text().splitlines())[0]


def test_glob_characters_in_the_dataset_path_are_literal(run, tmp_path):
    """DuckDB globs every path it reads: `[1]` in a directory name is a character
    class, so 'lake[1]/logs/**' read the sibling `lake1` instead."""
    lake, n = _lake_at(run, tmp_path, "it's a lake[1]*?", 1)
    _lake_at(run, tmp_path, "it's a lake1xx", 2)
    con = connect(run("sql", lake).stdout)
    assert con.execute("SELECT count(*), count(service_name) FROM logs").fetchone() == (n, n)
    # A corrupt file makes the views list the table's files one by one: literal too.
    bad = next(p for p in (lake / "logs").iterdir() if p.is_dir()) / "part-0-bad.parquet"
    bad.write_bytes(b"not parquet")
    con = connect(run("sql", lake).stdout)
    assert con.execute("SELECT count(*) FROM logs").fetchone() == (n,)


def test_dataset_path_cannot_inject_sql(run, tmp_path):
    """A path is text in the views: a newline cannot end the header comment, and a
    `${...}` in it is not a placeholder of the generated SQL."""
    lake, n = _lake_at(run, tmp_path, "x\nCREATE TABLE pwned AS SELECT 1;\n${where}${glob}", 3)
    con = connect(run("sql", lake).stdout)
    assert con.execute("SELECT count(*) FROM logs").fetchone() == (n,)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'pwned'"
                       ).fetchone() == (0,)


def test_key_value_directories_above_the_dataset_are_not_columns(run, tmp_path):
    """DuckDB's hive partitioning reads every `key=value` segment of a file's path,
    also those above the dataset: under `/data/id=7/lake` every root's `id` read 7,
    and each record got another record's attributes."""
    lake, logs = _lake_logs_at(run, tmp_path, "tenant=a/id=7/lake", 4)
    con = connect(run("sql", lake).stdout)
    got = sorted(sorted(m.items()) for (m,) in
                 con.execute("SELECT attributes FROM logs").fetchall())
    assert got == sorted(sorted((k, text(v)) for k, v in r["attributes"].items())
                         for r in logs)
    assert con.execute("SELECT count(DISTINCT _part_id), count(service_name) FROM logs"
                       ).fetchone() == (1, len(logs))
