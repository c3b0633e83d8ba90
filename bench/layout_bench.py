#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""File layouts against each other (issue #18, item 4), in one run on the same input.

The same generated OTLP input (realistic logs, 10 attributes each; spans) is written
by `otap-parquet bench write` once per layout (`--writer-options`, the exporter's
`writer_options` block), then per layout and signal:

- replay: `otap-parquet bench replay --signal S --batch-size 16384` CPU seconds
  (median of --runs), and its ratio to today's layout;
- size: bytes per record on disk;
- scan: a bare pyarrow scan of every column of every file (CPU-s, median);
- DuckDB (1 thread, CPU-s of each query, median of --runs in one process): count by
  severity (logs: severity_text; spans: status.code), an attribute filter
  (http.response.status_code = 500 in the attribute table) and a lookup of one
  trace_id in the root table.

Layouts: `today` (rows as received, every column plain or dictionary: the writer
before issue #18, item 4), `defaults` (the current build's defaults:
delta_binary_packed ids and times), `sorted` (attribute rows by key, then
parent_id, within each written batch), `defaults+sorted` (both),
`defaults+bloom` (with a bloom filter on trace_id).

Usage: .venv/bin/python bench/layout_bench.py [--logs 1000000] [--spans 250000] [--runs 3]
"""
import argparse
import json
import pathlib
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import replay_baselines as rb  # noqa: E402  (shares its runners and the scan)

ROOT = rb.ROOT
LAYOUTS = {
    "today": ["--writer-options", "{attribute_order: as_received, column_encodings: {}}"],
    "defaults": [],
    "sorted": ["--writer-options", "{attribute_order: key_parent_id, column_encodings: {}}"],
    "defaults+sorted": ["--writer-options", "{attribute_order: key_parent_id}"],
    "defaults+bloom": ["--bloom-filter", "trace_id"],
}
TABLES = {"logs": ("logs", "log_attrs", "severity_text"),
          "traces": ("spans", "span_attrs", "status.code")}

DUCKDB = r"""
import json, statistics, sys, time
import duckdb
lake, root, attrs, group, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
con = duckdb.connect()
con.execute("SET threads = 1")
src = lambda t: f"read_parquet('{lake}/{t}/*/*.parquet', hive_partitioning = true)"
tid = con.sql(f"SELECT trace_id FROM {src(root)} WHERE trace_id IS NOT NULL "
              f"LIMIT 1 OFFSET (SELECT count(*) // 2 FROM {src(root)})").fetchall()[0][0]
queries = {
    "count_by_severity": f"SELECT {group}, count(*) FROM {src(root)} GROUP BY ALL",
    "attribute_filter": f"SELECT count(*) FROM {src(attrs)} "
                        f"WHERE key = 'http.response.status_code' AND int = 500",
    "trace_lookup": f"SELECT * FROM {src(root)} WHERE trace_id = $1",
}
out = {}
for name, sql in queries.items():
    times = []
    for _ in range(runs):
        cpu = time.process_time()
        rows = con.execute(sql, [tid] if "$1" in sql else []).fetchall()
        times.append(time.process_time() - cpu)
    out[name] = {"cpu": statistics.median(times), "rows": len(rows)}
print(json.dumps(out))
"""


def source(cache: pathlib.Path, signal: str, items: int) -> pathlib.Path:
    """Generated OTLP input (protobuf), cached: 4,000 items per request."""
    requests = max(1, items // rb.LOGS_PER_REQUEST)
    path = cache / f"layout-{signal}-{requests}req.pb"
    if not path.exists():
        print(f"generating {requests * rb.LOGS_PER_REQUEST:,} {signal} ...", file=sys.stderr)
        tmp = path.with_suffix(".tmp.pb")
        rb.run(rb.CLI, "generate", "--signal", signal, "--requests", requests, "--items", 1000, tmp)
        tmp.rename(path)
    return path


def write(src: pathlib.Path, signal: str, lake: pathlib.Path, flags: list) -> dict:
    out = rb.run(rb.CLI, "bench", "write", "--signal", signal, "--no-fsync", "--dir", lake, *flags, src)
    records = int(out.split(" records", 1)[0].rsplit(" ", 1)[-1])
    size = sum(p.stat().st_size for p in lake.rglob("*.parquet"))
    cpu = float(out.split("cpu time", 1)[1].split("s", 1)[0])
    return {"records": records, "bytes": size, "write_cpu": cpu}


def replay(lake: pathlib.Path, signal: str) -> dict:
    out = rb.run(rb.CLI, "bench", "replay", "--signal", signal, "--batch-size", 16384, lake)
    cpu = float(out.split("CPU ", 1)[1].split("s", 1)[0])
    return {"cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logs", type=int, default=1_000_000)
    parser.add_argument("--spans", type=int, default=250_000)
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help="comma-separated subset")
    parser.add_argument("--cache", type=pathlib.Path, default=ROOT / "build" / "bench-data")
    parser.add_argument("--keep", type=pathlib.Path, default=None, help="keep the datasets here")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    layouts = args.layouts.split(",")
    work = args.keep or pathlib.Path(tempfile.mkdtemp(prefix="layout-bench-"))
    results = {}
    try:
        for signal, items in (("logs", args.logs), ("traces", args.spans)):
            if items <= 0:
                continue
            src = source(args.cache, signal, items)
            lakes = {}
            for name in layouts:
                lake = work / signal / name.replace("+", "_")
                shutil.rmtree(lake, ignore_errors=True)
                print(f"writing {signal} with layout {name} ...", file=sys.stderr)
                results[(signal, name)] = write(src, signal, lake, LAYOUTS[name])
                lakes[name] = lake
            # Runs interleaved across layouts, so that load changes hit all alike.
            replays = {name: [] for name in layouts}
            scans = {name: [] for name in layouts}
            for _ in range(args.runs):
                for name in layouts:
                    replays[name].append(replay(lakes[name], signal)["cpu"])
                    scans[name].append(rb.python(rb.SCAN, lakes[name])["cpu"])
            root, attrs, group = TABLES[signal]
            for name in layouts:
                r = results[(signal, name)]
                r["replay_cpu"] = statistics.median(replays[name])
                r["scan_cpu"] = statistics.median(scans[name])
                r["duckdb"] = rb.python(DUCKDB, lakes[name], root, attrs, group, args.runs)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    print(f"file layouts, {args.runs} runs each (median CPU seconds; ratios vs 'today' in this run)")
    head = (f"{'signal':<7} {'layout':<15} {'bytes/rec':>9} {'size':>6} {'replay s':>9} {'speedup':>8} "
            f"{'scan s':>7} {'speedup':>8} {'duck sev':>9} {'duck attr':>9} {'duck trace':>10} {'write s':>8}")
    print(head)
    for (signal, name), r in results.items():
        base = results[(signal, "today")] if (signal, "today") in results else r
        d, bd = r["duckdb"], base["duckdb"]
        print(f"{signal:<7} {name:<15} {r['bytes'] / r['records']:>9.1f} {r['bytes'] / base['bytes']:>5.2f}x "
              f"{r['replay_cpu']:>9.3f} {base['replay_cpu'] / r['replay_cpu']:>7.2f}x "
              f"{r['scan_cpu']:>7.3f} {base['scan_cpu'] / r['scan_cpu']:>7.2f}x "
              f"{d['count_by_severity']['cpu'] * 1000:>7.1f}ms {d['attribute_filter']['cpu'] * 1000:>7.1f}ms "
              f"{d['trace_lookup']['cpu'] * 1000:>8.1f}ms {r['write_cpu']:>8.3f}")
    print("duck: DuckDB 1 thread, CPU of count by severity / attribute filter / trace_id lookup; "
          "speedup: today's CPU / this layout's")
    print(json.dumps({f"{s}/{n}": r for (s, n), r in results.items()}), file=sys.stderr)


if __name__ == "__main__":
    main()
