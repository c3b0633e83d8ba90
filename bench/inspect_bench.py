#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Cost of `otap-parquet inspect` (footers only) and `inspect --check` (reads the id
columns) on a dataset of realistic logs with 10 attributes each, in many files.

The dataset: `generate --signal logs` (1,000 logs per request), converted --copies
times into one lake (each `convert` run is one id space) with --rows-per-file, so
that --logs × --copies records lie in about 3 × copies × logs / rows-per-file files
(logs, log_attrs, resource_attrs; log_attrs, 10 rows per log, rotates first). Built
once under --cache and reused.

Each inspection runs in its own process; CPU seconds are user + system (meaningful
on a busy machine), RSS the process's peak. `footers_read` against `files` shows
that the plain inspection reads one footer per file and nothing else.

With --s3 the same lake is also written to a local S3 server (moto, as the tests
start it) and inspected there.

Usage: .venv/bin/python bench/inspect_bench.py [--logs 1000000] [--copies 1]
           [--rows-per-file 5000] [--s3]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLI = ROOT / "build" / "otap-parquet"
LOGS_PER_REQUEST = 1000  # generate --items 250: 2 resources x 2 scopes x 250


def run(*args, env=None):
    proc = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True,
                          env=env)
    if proc.returncode not in (0, 3):
        sys.exit(f"{args}: exit {proc.returncode}\n{proc.stderr}")
    return proc


def measure(*args, env=None):
    """Runs the CLI; returns (stdout, wall s, CPU s, peak RSS MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen([str(CLI), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    out, err = b"", b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read()
    err = proc.stderr.read()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        sys.exit(f"{args}: exit {code}\n{err.decode()}")
    return out.decode(), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def build(cache, logs, copies, rows_per_file):
    lake = cache / f"lake-{logs}x{copies}-{rows_per_file}"
    if (lake / ".complete").exists():
        return lake
    source = cache / f"logs-{logs}.pb"
    if not source.exists():
        run("generate", "--signal", "logs", "--requests", logs // LOGS_PER_REQUEST,
            "--items", 250, "--seed", 3, source)
    for _ in range(copies):
        run("convert", source, lake, "--rows-per-file", rows_per_file)
    (lake / ".complete").write_text("")
    return lake


def report(label, lake, extra=(), env=None):
    rows = []
    for mode, flags in (("inspect", []), ("inspect --check", ["--check"])):
        out, wall, cpu, rss = measure("inspect", lake, "--json", *flags, *extra, env=env)
        doc = json.loads(out)
        rows.append((label, mode, doc["records"], doc["files"], doc["footers_read"],
                     wall, cpu, rss, doc["exit_code"]))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--logs", type=int, default=1_000_000)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--rows-per-file", type=int, default=5000)
    parser.add_argument("--cache", type=pathlib.Path,
                        default=pathlib.Path("/tmp/otap-inspect-bench"))
    parser.add_argument("--s3", action="store_true")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    lake = build(args.cache, args.logs, args.copies, args.rows_per_file)
    rows = report("local", lake)
    if args.s3:
        sys.path.insert(0, str(ROOT / "tests"))
        import boto3  # noqa: F401  (moto's server needs it; fail early if missing)
        from s3_server import S3Server

        server = S3Server().start()
        try:
            server.client().create_bucket(Bucket="bench")
            env = server.env()
            flags = ["--s3-endpoint", server.endpoint, "--allow-http"]
            client = server.client()
            for path in lake.rglob("*.parquet"):
                client.upload_file(str(path), "bench", f"lake/{path.relative_to(lake)}")
            rows += report("s3 (moto)", "s3://bench/lake", flags, env)
        finally:
            server.stop()
    print(f"{'where':<10} {'mode':<16} {'records':>10} {'files':>6} {'footers':>7} "
          f"{'wall s':>7} {'CPU s':>6} {'RSS MiB':>8} exit")
    for where, mode, records, files, footers, wall, cpu, rss, code in rows:
        print(f"{where:<10} {mode:<16} {records:>10} {files:>6} {footers:>7} "
              f"{wall:>7.2f} {cpu:>6.2f} {rss:>8.0f} {code}")


if __name__ == "__main__":
    main()
