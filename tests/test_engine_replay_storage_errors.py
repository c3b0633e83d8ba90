# SPDX-License-Identifier: Apache-2.0
"""receiver:parquet against a storage that fails: reads of one object answered with
errors (an HTTP proxy in front of a real S3 API server) are a storage failure, not a
corrupt file. The receiver reads the file again later and loses nothing."""
import http.client
import http.server
import subprocess
import threading
import urllib.parse

from engines import v1_config
from test_engine_replay import metric
from test_engine_replay_checkpoint import write_logs


class FaultyProxy:
    """Forwards HTTP requests to `upstream`, except that the first `failures` GETs of
    an object key ending with `key_suffix` get 403 AccessDenied (not retried by the
    S3 client, so each reaches the reader at once)."""

    def __init__(self, upstream_port: int, key_suffix: str, failures: int):
        self.failed = 0
        lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                path = urllib.parse.unquote(self.path.split("?")[0])
                if self.command == "GET" and path.endswith(key_suffix):
                    with lock:
                        fail = proxy.failed < failures
                        if fail:
                            proxy.failed += 1
                    if fail:
                        payload = (b"<?xml version='1.0' encoding='UTF-8'?><Error>"
                                   b"<Code>AccessDenied</Code><Message>injected</Message>"
                                   b"</Error>")
                        self.send_response(403)
                        self.send_header("Content-Type", "application/xml")
                        self.send_header("Content-Length", str(len(payload)))
                        self.end_headers()
                        self.wfile.write(payload)
                        return
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items()}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(k, v)
                # HEAD: the object's length, as the server gave it.
                length = resp.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def s3_logs(cli, s3_server, tmp_path, bucket):
    """300 logs converted into `s3://<bucket>/lake` in three root files of 100: the
    OTLP/JSON source, the S3 environment, and the root files' keys (sorted)."""
    s3_server.client().create_bucket(Bucket=bucket)
    src = tmp_path / "in.jsonl"
    write_logs(src, 0, 300)
    env = s3_server.env()
    subprocess.run([str(cli), "convert", "--s3-endpoint", s3_server.endpoint, "--allow-http",
                    "--rows-per-file", "100", str(src), f"s3://{bucket}/lake"],
                   env=env, check=True, capture_output=True)
    keys = sorted(o["Key"] for o in s3_server.client().list_objects_v2(
        Bucket=bucket, Prefix="lake/logs/")["Contents"])
    return src, env, keys


def test_storage_errors_are_reread_not_skipped(cli, s3_server, tmp_path):
    # Scenario: a 300-log dataset on S3 (three root files); the first three GETs of the
    # middle root file fail (more than the reader's attempts), then the storage answers.
    # Guarantees: the file is not taken for corrupt; the receiver reopens the reader
    # (counted) and every record is emitted exactly once; the run succeeds.
    bucket = "flaky"
    src, env, keys = s3_logs(cli, s3_server, tmp_path, bucket)
    assert len(keys) == 3, keys
    with FaultyProxy(s3_server.port, keys[1], failures=3) as proxy:
        config = tmp_path / "s3.yaml"
        config.write_text(v1_config(f"""
        src:
          type: receiver:parquet
          config:
            storage:
              s3: {{base_uri: "s3://{bucket}/lake", endpoint: "{proxy.endpoint}",
                    allow_http: true}}
            processing_options: {{batch_size: 50}}
        out: {{type: exporter:noop}}""", "- {from: src, to: out}"))
        metrics = tmp_path / "m.prom"
        proc = subprocess.run([str(cli), "run", "-c", str(config), "--metrics-file", str(metrics)],
                              env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert proxy.failed == 3
    text = metrics.read_text()
    assert metric(text, "parquet_records_emitted", "src") == 300, proc.stderr[-3000:]
    assert metric(text, "parquet_corrupt_files", "src") == 0
    assert metric(text, "parquet_read_retries", "src") == 1
    assert metric(text, "parquet_io_retries", "src") == 2
    assert "read_retry" in proc.stderr and keys[1] in proc.stderr


def test_convert_fails_clearly_when_storage_keeps_failing(cli, s3_server, tmp_path):
    # Scenario: `convert` of an S3 dataset whose middle root file cannot be read at all
    # (every GET fails), then again once the storage answers.
    # Guarantees: the first run exits non-zero naming the file as a storage error
    # (the output is incomplete), never skipping it as corrupt; the second replays all.
    bucket = "down"
    src, env, keys = s3_logs(cli, s3_server, tmp_path, bucket)
    out = tmp_path / "out.jsonl"
    with FaultyProxy(s3_server.port, keys[1], failures=1_000_000) as proxy:
        proc = subprocess.run([str(cli), "convert", "--s3-endpoint", proxy.endpoint,
                               "--allow-http", f"s3://{bucket}/lake", str(out)],
                              env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "storage error, retryable" in proc.stderr and keys[1] in proc.stderr
    assert "run the conversion again" in proc.stderr
    proc = subprocess.run([str(cli), "convert", "--s3-endpoint", s3_server.endpoint,
                           "--allow-http", f"s3://{bucket}/lake", str(out)],
                          env=env, capture_output=True, text=True, timeout=120, check=True)
    subprocess.run([str(cli), "compare", str(src), str(out)], check=True, capture_output=True)


def test_one_shot_replay_gives_up_when_storage_stays_down(cli, s3_server, tmp_path):
    # Scenario: a one-shot `run` (receiver:parquet with a checkpoint) of a 300-log S3
    # dataset whose middle root file cannot be read at all, with
    # `storage_retry.max_elapsed_time: 2s`; then the same run once the storage answers.
    # Guarantees: the first run ends (it used to reopen forever) with exit 3 and an
    # `undelivered:` line naming the storage failure and the file; what it replayed
    # before (nothing, when the footers read at open already fail) is checkpointed,
    # so the second run replays the rest and together they deliver all 300 records
    # exactly once (the exporter writes JSON lines that `compare` checks).
    bucket = "gone"
    src, env, keys = s3_logs(cli, s3_server, tmp_path, bucket)

    def run(endpoint, out):
        config = tmp_path / "replay.yaml"
        config.write_text(v1_config(f"""
        src:
          type: receiver:parquet
          config:
            storage:
              s3: {{base_uri: "s3://{bucket}/lake", endpoint: "{endpoint}",
                    allow_http: true}}
            processing_options: {{batch_size: 50}}
            checkpoint: {{path: "{tmp_path / 'ck.json'}", interval: 0s}}
            storage_retry: {{max_elapsed_time: 2s}}
        out:
          type: exporter:file
          config: {{path: "{out}"}}""", "- {from: src, to: out}"))
        return subprocess.run([str(cli), "run", "-c", str(config)], env=env,
                              capture_output=True, text=True, timeout=120)

    with FaultyProxy(s3_server.port, keys[1], failures=1_000_000) as proxy:
        first = run(proxy.endpoint, tmp_path / "out1.jsonl")
    assert first.returncode == 3, first.stderr[-3000:]
    assert "undelivered:" in first.stderr and "storage_retry.max_elapsed_time" in first.stderr
    assert keys[1] in first.stderr, first.stderr[-3000:]
    second = run(s3_server.endpoint, tmp_path / "out2.jsonl")
    assert second.returncode == 0, second.stderr[-3000:]
    both = tmp_path / "both.jsonl"
    both.write_bytes(b"".join((tmp_path / name).read_bytes()
                              for name in ("out1.jsonl", "out2.jsonl")
                              if (tmp_path / name).exists()))
    subprocess.run([str(cli), "compare", str(src), str(both)], check=True,
                   capture_output=True)
