#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""S3 requests per lake operation: each CLI command run once against a moto S3
server that logs every request it answers (tests/s3_server.py `request_log`), and
the requests counted by kind (HEAD, GET, GET range, LIST, PUT, COPY, DELETE,
multipart ...). Object stores bill per request; on moto the count, not our CPU, sets
the wall time.

The lake: `generate --edge-cases` logs and traces (2 requests of 12 items, the S3
race tests' input) converted with `--max-batch-rows 7 --rows-per-file 200`, small
files as a writer flushing often leaves them; the retention lake is the same input
partitioned by hour.

    .venv/bin/python bench/s3_requests.py [--cli OLD_BUILD/otap-parquet]
        [--requests 2] [--trace compact]   # --trace: every request of that step
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from s3_server import S3Server, request_kind  # noqa: E402

KINDS = ["HEAD", "GET", "GET range", "LIST", "PUT", "COPY", "DELETE", "DELETE batch",
         "multipart create", "multipart part", "multipart complete", "multipart abort",
         "bucket"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", default=str(ROOT / "build" / "otap-parquet"))
    ap.add_argument("--requests", type=int, default=2, help="generate --requests")
    ap.add_argument("--trace", action="append", default=[],
                    help="print every request of this step (its name as shown)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="s3_requests_") as tmp:
        tmp = pathlib.Path(tmp)
        log = tmp / "requests.jsonl"
        server = S3Server(request_log=log).start()
        try:
            run_all(args, server, tmp, log)
        finally:
            server.stop()


def run_all(args, server, tmp, log):
    client = server.client()
    client.create_bucket(Bucket="telemetry")
    flags = ["--s3-endpoint", server.endpoint, "--allow-http"]
    env = server.env()
    src = tmp / "in.jsonl"
    subprocess.run([args.cli, "generate", "--edge-cases", "--signal", "logs", "--signal",
                    "traces", "--requests", str(args.requests), "--items", "12", "--seed",
                    "3", str(src)], check=True, capture_output=True)
    lake, hourly = "s3://telemetry/lake", "s3://telemetry/hourly"

    def files(prefix):
        keys = [o["Key"] for page in client.get_paginator("list_objects_v2")
                .paginate(Bucket="telemetry", Prefix=prefix)
                for o in page.get("Contents", [])]
        return sum(1 for k in keys if k.endswith(".parquet"))

    steps = [
        ("convert to S3 (writer)", ["convert", src, lake, "--max-batch-rows", "7",
                                    "--rows-per-file", "200"], "lake/"),
        ("inspect", ["inspect", lake], "lake/"),
        ("inspect --check", ["inspect", lake, "--check"], "lake/"),
        ("repair (dry run)", ["repair", lake], "lake/"),
        ("convert from S3 (replay)", ["convert", lake, tmp / "out1.jsonl"], "lake/"),
        ("compact", ["compact", lake, "--older-than", "0s", "--grace", "0s"], "lake/"),
        ("compact again (nothing to do)", ["compact", lake, "--older-than", "0s",
                                           "--grace", "0s"], "lake/"),
        ("convert from S3 after compact", ["convert", lake, tmp / "out2.jsonl"], "lake/"),
        ("convert to S3 (hourly)", ["convert", src, hourly, "--max-batch-rows", "7",
                                    "--rows-per-file", "200", "--partition-by", "hour"],
         "hourly/"),
        ("partitions", ["partitions", hourly], "hourly/"),
        ("partitions delete (retention)", ["partitions", "delete", hourly, "--before",
                                           "2100-01-01", "--apply"], "hourly/"),
    ]
    results = []
    for name, cmd, prefix in steps:
        before = files(prefix)
        server.reset_requests()
        proc = subprocess.run([str(c) for c in [args.cli, *cmd, *flags]],
                              capture_output=True, text=True, env=env, timeout=1200)
        lines = [json.loads(line) for line in log.read_text().splitlines()]
        if proc.returncode not in (0, 3):
            raise SystemExit(f"{name} failed ({proc.returncode}): {proc.stdout[-2000:]}"
                             f"{proc.stderr[-2000:]}")
        counts = server.requests()
        results.append({"step": name, "files": f"{before} → {files(prefix)}"
                        if files(prefix) != before else str(before), **counts})
        if name in args.trace:
            for line in lines:
                kind = request_kind(line)
                if kind:
                    print(f"  {kind:18} {line['path']}?{line['query']} {line['range']}")
    if args.json:
        print(json.dumps(results, indent=2))
        return
    used = [k for k in KINDS if any(r.get(k) for r in results)]
    header = ["step", "files", "total", *used]
    print("| " + " | ".join(header) + " |")
    print("| --- |" + " ---: |" * (len(header) - 1))
    for r in results:
        cells = [r["step"], r["files"], str(r.get("total", 0))]
        cells += [str(r.get(k, 0)) for k in used]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
