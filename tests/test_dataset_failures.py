# SPDX-License-Identifier: Apache-2.0
"""Storage failures of the dataset writer with real OS and server errors: a full
disk (a file-size limit, and a small tmpfs where the container allows mounting
one) and S3 credentials that a real S3 API server (moto) rejects. In every case:
a clear error naming the file or bucket, a non-zero exit or a Nack, no partial
`.parquet` visible, and every acknowledged row on storage."""
import contextlib
import json
import re
import resource
import signal
import subprocess

import pyarrow.dataset as ds
import pytest

from s3_server import REGION

BUCKET = "telemetry"


def limit_file_size(max_bytes):
    """preexec_fn: files may not grow past max_bytes; a write past it fails with
    EFBIG (SIGXFSZ, which would kill the process instead, is ignored)."""

    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return apply


def visible_files(base):
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []


@pytest.fixture(scope="module")
def logs_input(tmp_path_factory, cli):
    path = tmp_path_factory.mktemp("inputs") / "logs.jsonl"
    subprocess.run([str(cli), "generate", "--signal", "logs", "--requests", "4", "--items", "200",
                    str(path)], check=True, capture_output=True)
    return path


def test_disk_full_fails_convert_and_leaves_no_file(cli, logs_input, tmp_path):
    # Scenario: `convert` into a local dataset while no file may grow past 16 KiB
    # (RLIMIT_FSIZE): the log_attrs file hits EFBIG when its row group is written.
    # Guarantees: exit 1; the error names the table, the file and the OS error;
    # neither a .parquet nor a temporary file is left behind.
    out = tmp_path / "lake"
    proc = subprocess.run([str(cli), "convert", str(logs_input), str(out)],
                          capture_output=True, text=True, timeout=120,
                          preexec_fn=limit_file_size(16 << 10))
    assert proc.returncode == 1, proc.stderr
    assert "File too large" in proc.stderr, proc.stderr
    assert re.search(rf"log_attrs file (file://)?{re.escape(str(out))}/log_attrs/_part_id=[^ ]+/part-[^ ]+\.parquet",
                     proc.stderr), proc.stderr
    assert visible_files(out) == []


def test_disk_full_fails_convert_then_succeeds_with_space(cli, logs_input, tmp_path):
    # Scenario: the same dataset directory first under the file-size limit, then
    # without it.
    # Guarantees: the failed run leaves nothing that a reader would see; the second
    # run writes every record.
    out = tmp_path / "lake"
    subprocess.run([str(cli), "convert", str(logs_input), str(out)], capture_output=True,
                   timeout=120, preexec_fn=limit_file_size(16 << 10))
    subprocess.run([str(cli), "convert", str(logs_input), str(out)], check=True,
                   capture_output=True, timeout=120)
    logs = ds.dataset(out / "logs", format="parquet", partitioning="hive",
                      ignore_prefixes=["."]).to_table()
    assert logs.num_rows == 4 * 2 * 2 * 200


@contextlib.contextmanager
def small_tmpfs(path, size):
    path.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def engine_config(tmp_path, out):
    config = tmp_path / "full.yaml"
    config.write_text(f"""
version: otel_dataflow/v1
groups:
  default:
    pipelines:
      main:
        nodes:
          generator:
            type: receiver:traffic_generator
            config:
              traffic_config: {{signals_per_second: null, max_batch_size: 100, log_weight: 1, trace_weight: 0, metric_weight: 0}}
              data_source: synthetic
              seed: 7
              max_batches: 80
          parquet:
            type: exporter:parquet
            config:
              storage: {{file: {{base_uri: {out}}}}}
              partitioning_strategies: [{{schema_metadata: ["_part_id"]}}]
              writer_options: {{target_rows_per_file: 500, flush_when_older_than: 10s}}
        connections:
          - from: generator
            to: parquet
""")
    return config


def metric(text, name, node):
    return sum(map(int, re.findall(rf'otap_node_{name}\{{[^}}]*node="{node}"[^}}]*\}} (\d+)', text)))


def test_disk_full_in_pipeline_nacks_and_loses_nothing_acked(cli, tmp_path):
    # Scenario: generator → exporter:parquet on one core into a 192 KiB tmpfs; the
    # first files fit, later flushes fail with ENOSPC.
    # Guarantees: the failing batches are Nacked with the OS error and the file;
    # every Acked batch's rows are in readable published files (rows on disk =
    # 100 × Acked batches); no temporary file is left; the engine keeps running and
    # exits 0.
    with small_tmpfs(tmp_path / "mnt", "192k") as mnt:
        out = mnt / "lake"
        metrics = tmp_path / "metrics.prom"
        proc = subprocess.run(
            [str(cli), "run", "-c", str(engine_config(tmp_path, out)), "--num-cores", "1",
             "--duration", "60s", "--metrics-file", str(metrics)],
            capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        text = metrics.read_text()
        sent = metric(text, "sent_batches_total", "generator")
        acked = metric(text, "acked_total", "generator")
        assert sent == 80
        assert 0 < acked < sent, text
        assert metric(text, "parquet_write_errors_total", "parquet") > 0
        assert metric(text, "parquet_batches_failed_total", "parquet") == sent - acked
        assert "No space left on device" in proc.stderr, proc.stderr
        assert re.search(rf"{re.escape(str(out))}/\w+/_part_id=[^ ]+/part-[^ ]+\.parquet", proc.stderr)
        files = visible_files(out)
        assert all(f.suffix == ".parquet" and not f.name.startswith(".") for f in files), files
        logs = ds.dataset(out / "logs", format="parquet", partitioning="hive",
                          ignore_prefixes=["."]).to_table()
        assert logs.num_rows == 100 * acked


def test_invalid_s3_credentials_fail_and_leave_no_object(cli, logs_input, monkeypatch):
    # Scenario: moto checks signatures against its IAM users once the first 4
    # requests (the setup: bucket, user, key, policy) have passed; the CLI then
    # signs with an access key the server does not know.
    # Guarantees: exit 1 with the server's reason and the dataset's location; no
    # object in the bucket (listed with the valid key).
    import boto3

    from s3_server import S3Server

    monkeypatch.setenv("INITIAL_NO_AUTH_ACTION_COUNT", "4")
    server = S3Server().start()
    try:
        server.client().create_bucket(Bucket=BUCKET)
        iam = boto3.client("iam", endpoint_url=server.endpoint, region_name=REGION,
                           aws_access_key_id="setup", aws_secret_access_key="setup")
        iam.create_user(UserName="reader")
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        iam.put_user_policy(UserName="reader", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        env = server.env()
        env.update(AWS_ACCESS_KEY_ID="AKIAUNKNOWNKEY000000", AWS_SECRET_ACCESS_KEY="wrong")
        proc = subprocess.run(
            [str(cli), "convert", str(logs_input), f"s3://{BUCKET}/lake", "--s3-endpoint",
             server.endpoint, "--s3-region", REGION, "--allow-http"],
            capture_output=True, text=True, env=env, timeout=240)
        assert proc.returncode == 1, proc.stderr
        assert re.search(r"INVALID_ACCESS_KEY_ID|InvalidAccessKeyId|AccessDenied", proc.stderr), proc.stderr
        assert f"{BUCKET}/lake" in proc.stderr, proc.stderr
        reader = boto3.client("s3", endpoint_url=server.endpoint, region_name=REGION,
                              aws_access_key_id=key["AccessKeyId"],
                              aws_secret_access_key=key["SecretAccessKey"])
        assert reader.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
    finally:
        server.stop()
