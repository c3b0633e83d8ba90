# SPDX-License-Identifier: Apache-2.0
"""Datasets on Google Cloud Storage and Azure Blob Storage, against real API servers
started by the tests (fake-gcs-server and Azurite, tests/object_store_servers.py), as
test_dataset_s3.py does for S3: the CLI and the engine write through Arrow's GCS and
Azure file systems, replay, list/delete partitions, inspect and repair; pyarrow and
DuckDB read what they wrote. Endpoints and credentials come from the environment
variables (CLI) or the storage config keys (engine), as docs/operations.md says."""
import json
import subprocess
import time

import duckdb
import pyarrow.dataset as ds
import pytest

from engines import v1_config
from object_store_servers import AZURITE_ACCOUNT, AZURITE_KEY
from test_engine_replay import metric

BUCKET = "telemetry"


class Store:
    """One backend under test: its server, URI scheme and config block."""

    def __init__(self, kind, server):
        self.kind = kind
        self.server = server
        server.create_bucket(BUCKET)
        self.fs = server.filesystem()

    def uri(self, path="lake"):
        if self.kind == "gcs":
            return f"gs://{BUCKET}/{path}"
        return f"abfs://{BUCKET}@{AZURITE_ACCOUNT}.dfs.core.windows.net/{path}"

    def env(self):
        return self.server.env()

    def storage_block(self, path="lake"):
        """The exporter's / receiver's `storage` with endpoint and credentials as
        config keys (no environment variables)."""
        if self.kind == "gcs":
            return (f'{{gcs: {{base_uri: "{self.uri(path)}", endpoint: '
                    f'"{self.server.endpoint}", auth: anonymous}}}}')
        return (f'{{azure: {{base_uri: "az://{BUCKET}/{path}", account_name: '
                f'{AZURITE_ACCOUNT}, endpoint: "{self.server.endpoint}", auth: '
                f'{{type: account_key, account_key: "{AZURITE_KEY}"}}}}}}')

    def keys(self, prefix="lake"):
        """Object keys (relative to the bucket) under `prefix`, without the
        directory markers some file systems leave."""
        import pyarrow.fs as pafs

        selector = pafs.FileSelector(f"{BUCKET}/{prefix}", recursive=True, allow_not_found=True)
        return sorted(info.path.split("/", 1)[1] for info in self.fs.get_file_info(selector)
                      if info.type == pafs.FileType.File)

    def delete(self, key):
        self.fs.delete_file(f"{BUCKET}/{key}")

    def put(self, key, data):
        with self.fs.open_output_stream(f"{BUCKET}/{key}") as out:
            out.write(data)

    def table(self, name, prefix="lake"):
        return ds.dataset(f"{BUCKET}/{prefix}/{name}", filesystem=self.fs, format="parquet",
                          partitioning="hive", ignore_prefixes=["."]).to_table()


@pytest.fixture(params=["gcs", "azure"])
def store(request):
    fixture = "gcs_server" if request.param == "gcs" else "azurite_server"
    return Store(request.param, request.getfixturevalue(fixture))


@pytest.fixture
def run_env(cli):
    def _run(env, *args, check=True, timeout=300):
        proc = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True,
                              env=env, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{args}: exit {proc.returncode}: {proc.stderr}")
        return proc

    return _run


def generate(run, path, seed, requests=3, items=20):
    run("generate", "--signal", "logs", "--requests", requests, "--items", items,
        "--seed", seed, path)
    return path


def test_convert_replay_inspect_partitions(store, run, run_env, tmp_path):
    # Scenario: two `convert` runs (two writers) into one dataset on the store, then
    # every dataset command on it.
    # Guarantees: objects are laid out as on disk (table/_part_id=<uuid>/part-*.parquet),
    # pyarrow + DuckDB join them exactly; the replay of one writer's data equals its
    # input; inspect sees both id spaces and --check passes; partitions lists both
    # and `partitions delete --apply` removes exactly one, after which the replay is
    # the other writer's input.
    env = store.env()
    a = generate(run, tmp_path / "a.jsonl", seed=1)
    b = generate(run, tmp_path / "b.jsonl", seed=2)
    uri = store.uri()
    run_env(env, "convert", a, uri, "--rows-per-file", "30")
    keys = store.keys()
    assert keys, "nothing written"
    for key in keys:
        parts = key.split("/")
        assert parts[0] == "lake" and parts[2].startswith("_part_id="), key
        assert parts[-1].startswith("part-") and parts[-1].endswith(".parquet"), key
    assert {"logs", "log_attrs", "resource_attrs"} <= {k.split("/")[1] for k in keys}
    logs, attrs = store.table("logs"), store.table("log_attrs")
    assert logs.num_rows == 3 * 20 * 2 * 2  # generate: 2 resources x 2 scopes each
    con = duckdb.connect()
    con.register("logs", logs)
    con.register("log_attrs", attrs)
    joined = con.execute("SELECT count(*) FROM logs l JOIN log_attrs a "
                         "ON l._part_id = a._part_id AND l.id = a.parent_id").fetchone()[0]
    assert joined == attrs.num_rows

    out = tmp_path / "replay-a.jsonl"
    run_env(env, "convert", uri, out)
    run("compare", a, out)

    run_env(env, "convert", b, uri)
    doc = json.loads(run_env(env, "inspect", uri, "--json").stdout)
    assert doc["id_spaces"] == 2
    assert doc["files"] == len(store.keys())
    check = run_env(env, "inspect", uri, "--check", check=False)
    assert check.returncode == 0, check.stdout + check.stderr

    listing = json.loads(run_env(env, "partitions", uri, "--json").stdout)
    names = [p["partition"] for p in listing["partitions"]]
    assert len(names) == 2
    part_a = next(p for p in names if any(f"/{p}/" in k for k in keys))
    dry = run_env(env, "partitions", "delete", uri, "--partition", part_a, check=False)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert any(f"/{part_a}/" in k for k in store.keys())
    run_env(env, "partitions", "delete", uri, "--partition", part_a, "--apply")
    assert not [k for k in store.keys() if f"/{part_a}/" in k]
    out = tmp_path / "replay-b.jsonl"
    run_env(env, "convert", uri, out)
    run("compare", b, out)


def test_repair(store, run, run_env, tmp_path):
    # Scenario: a crash of writer B: its root objects are gone, its child objects and
    # a temporary object remain (objects cannot be backdated: grace period 0s).
    # Guarantees: the dry run lists the leftovers by URI (exit 3); --apply removes
    # exactly them; a second run finds nothing; the replay is writer A's input.
    env = store.env()
    a = generate(run, tmp_path / "a.jsonl", seed=1)
    b = generate(run, tmp_path / "b.jsonl", seed=2)
    uri = store.uri()
    run_env(env, "convert", a, uri)
    (part_a,) = {k.split("/")[2] for k in store.keys()}
    run_env(env, "convert", b, uri)
    (part_b,) = {k.split("/")[2] for k in store.keys()} - {part_a}
    for key in store.keys():
        if key.startswith(f"lake/logs/{part_b}/"):
            store.delete(key)
    temp_key = f"lake/log_attrs/{part_b}/.part-1795000000000-dead.parquet.tmp"
    store.put(temp_key, b"PAR1")
    orphans = [k for k in store.keys() if f"/{part_b}/" in k]
    assert len(orphans) >= 3

    dry = run_env(env, "repair", uri, "--grace-period", "0s", check=False)
    assert dry.returncode == 3, dry.stdout + dry.stderr
    for key in orphans:
        assert key.split("/", 1)[1] in dry.stdout, dry.stdout
    applied = run_env(env, "repair", uri, "--grace-period", "0s", "--apply", check=False)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert not [k for k in store.keys() if f"/{part_b}/" in k]
    again = run_env(env, "repair", uri, "--grace-period", "0s", "--apply", check=False)
    assert again.returncode == 0 and "0 removable, 0 removed" in again.stdout, again.stdout
    out = tmp_path / "replay.jsonl"
    run_env(env, "convert", uri, out)
    run("compare", a, out)


def test_engine_exporter_and_receiver(store, cli, run, tmp_path):
    # Scenario: the engine with endpoint and credentials in the config only (no
    # environment variables): receiver:parquet (local) -> exporter:parquet (store),
    # then receiver:parquet (store) -> exporter:parquet (local).
    # Guarantees: both pipelines finish; every record arrives; the replay of the
    # copy equals the input.
    src = generate(run, tmp_path / "in.jsonl", seed=5, requests=4)
    local = tmp_path / "local"
    run("convert", src, local)
    records = 4 * 20 * 2 * 2

    def pipeline(receiver_storage, exporter_storage):
        return v1_config(f"""
          src:
            type: receiver:parquet
            config:
              storage: {receiver_storage}
              processing_options: {{batch_size: 50}}
          dst:
            type: exporter:parquet
            config:
              storage: {exporter_storage}
              writer_options: {{target_rows_per_file: 100, flush_when_older_than: 100ms}}""",
                         "- {from: src, to: dst}")

    copy = tmp_path / "copy"
    for i, (rx, tx) in enumerate([
            (f'{{file: {{base_uri: "{local}"}}}}', store.storage_block()),
            (store.storage_block(), f'{{file: {{base_uri: "{copy}"}}}}')]):
        config = tmp_path / f"p{i}.yaml"
        config.write_text(pipeline(rx, tx))
        metrics = tmp_path / f"m{i}.prom"
        proc = subprocess.run([str(cli), "run", "-c", config, "--metrics-file", metrics],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert metric(metrics.read_text(), "parquet_records_emitted", "src") == records
    assert store.table("logs").num_rows == records
    out = tmp_path / "replay.jsonl"
    run("convert", copy, out)
    run("compare", src, out)


def test_azure_uri_forms(azurite_server, run, run_env, tmp_path):
    # Scenario: one dataset on Azurite, written through the abfs://container@account
    # form and read through every form users paste, with account, key and endpoint
    # from the environment.
    # Guarantees: each form names the same dataset (same records, files, id spaces).
    store = Store("azure", azurite_server)
    env = store.env()
    src = generate(run, tmp_path / "in.jsonl", seed=3)
    run_env(env, "convert", src, store.uri())
    forms = [
        f"abfs://{BUCKET}@{AZURITE_ACCOUNT}.dfs.core.windows.net/lake",
        f"abfss://{BUCKET}@{AZURITE_ACCOUNT}.dfs.core.windows.net/lake/",
        f"az://{BUCKET}/lake",
        f"azure://{BUCKET}/lake",
        f"abfs://{BUCKET}/lake",
        f"https://{AZURITE_ACCOUNT}.blob.core.windows.net/{BUCKET}/lake",
        f"https://{AZURITE_ACCOUNT}.dfs.core.windows.net/{BUCKET}/lake",
    ]
    seen = set()
    for uri in forms:
        doc = json.loads(run_env(env, "inspect", uri, "--json").stdout)
        seen.add((doc["files"], doc["id_spaces"], doc["bytes"]))
    assert len(seen) == 1 and next(iter(seen))[0] == len(store.keys()), seen
    out = tmp_path / "replay.jsonl"
    run_env(env, "convert", f"az://{BUCKET}/lake", out)
    run("compare", src, out)
    # AZURE_STORAGE_ACCOUNT_NAME names the account of the forms without one.
    env.pop("AZURE_STORAGE_ACCOUNT_NAME")
    proc = run_env(env, "inspect", f"az://{BUCKET}/lake", check=False)
    assert proc.returncode == 1 and "AZURE_STORAGE_ACCOUNT_NAME" in proc.stderr, proc.stderr


def test_gcs_uri_forms(gcs_server, run, run_env, tmp_path):
    store = Store("gcs", gcs_server)
    env = store.env()
    src = generate(run, tmp_path / "in.jsonl", seed=3)
    run_env(env, "convert", src, f"gs://{BUCKET}/lake")
    for uri in [f"gs://{BUCKET}/lake", f"gcs://{BUCKET}/lake/"]:
        doc = json.loads(run_env(env, "inspect", uri, "--json").stdout)
        assert doc["files"] == len(store.keys()), uri


def test_unreachable_endpoint_is_a_clear_error(store, run, run_env, tmp_path):
    # Scenario: the server is stopped before the write.
    # Guarantees: `convert` fails (exit 1) within the retry budget given by
    # --retry-timeout with an error naming the dataset URI.
    env = store.env()
    src = generate(run, tmp_path / "in.jsonl", seed=1)
    store.server.stop()
    start = time.monotonic()
    proc = run_env(env, "convert", src, store.uri(), "--retry-timeout", "2s",
                   "--max-retries", "2", check=False, timeout=240)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{BUCKET}/lake" in proc.stderr, proc.stderr
    assert time.monotonic() - start < 120


def test_azure_wrong_key_is_a_clear_error(azurite_server, run, run_env, tmp_path):
    # Guarantees: a wrong account key fails the write (exit 1) naming the URI and
    # the authentication failure; nothing is written.
    store = Store("azure", azurite_server)
    env = store.env()
    env["AZURE_STORAGE_ACCOUNT_KEY"] = "d3Jvbmcga2V5IG9mIHRoZSB0ZXN0"  # base64, wrong
    src = generate(run, tmp_path / "in.jsonl", seed=1)
    proc = run_env(env, "convert", src, store.uri(), check=False, timeout=240)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{BUCKET}/lake" in proc.stderr, proc.stderr
    assert "403" in proc.stderr or "Authentication" in proc.stderr, proc.stderr
    assert store.keys() == []


def test_gcs_bad_credentials_file_is_a_clear_error(gcs_server, cli, run, tmp_path):
    # Guarantees: a service-account key file that is not one fails the pipeline at
    # start with an error naming the URI (no request is sent with it).
    store = Store("gcs", gcs_server)
    bad = tmp_path / "key.json"
    bad.write_text("{}")
    config = tmp_path / "p.yaml"
    config.write_text(v1_config(f"""
      src:
        type: receiver:parquet
        config:
          storage:
            gcs: {{base_uri: "{store.uri()}", endpoint: "{gcs_server.endpoint}",
                  auth: {{type: service_account, credentials_file: "{bad}"}}}}
      out: {{type: exporter:noop}}""", "- {from: src, to: out}"))
    proc = subprocess.run([str(cli), "run", "-c", config], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert store.uri() in proc.stderr, proc.stderr[-3000:]
