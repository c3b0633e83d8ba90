# SPDX-License-Identifier: Apache-2.0
"""`receiver:parquet` `watch` (README.md): a following receiver over a local dataset
wakes on new files by inotify, also in partition directories created after it
started, instead of waiting for its next poll; object stores fall back to polling.

The poll interval is 1 h, so only the watcher can wake the receiver within the
tests' (generous) waits; nothing asserts how fast."""
import subprocess

import pytest
from engines import v1_config, wait_until
from test_engine_replay import metric


def follow_config(tmp_path, storage, extra=""):
    config = tmp_path / "follow.yaml"
    config.write_text(v1_config(f"""
        src:
          type: receiver:parquet
          config:
            {storage}
            polling_interval: 1h
            {extra}
        out: {{type: exporter:noop}}""", "- {from: src, to: out}"))
    return config


def generate(run, path, seed):
    run("generate", "--signal", "logs", "--requests", "2", "--items", "20", "--seed", seed,
        path)
    return sum(line.count('"timeUnixNano"') for line in path.read_text().splitlines())


@pytest.mark.parametrize("watch", ["", "watch: inotify"])
def test_follow_wakes_on_new_files_in_new_partitions(engine, run, tmp_path, watch):
    lake = tmp_path / "lake"
    first = generate(run, tmp_path / "a.jsonl", 1)
    run("convert", tmp_path / "a.jsonl", lake)
    proc = engine(follow_config(tmp_path, f'base_uri: "{lake}"', watch))
    proc.wait_log("mode=inotify")

    def emitted(n):
        def check():
            proc.check_running()
            return metric(proc.metrics(), "received_items", "out") >= n
        return check
    wait_until(emitted(first), "the first pass", 120)
    # A second convert: a new _part_id directory and new date/hour directories above
    # it, all created after the receiver started.
    second = generate(run, tmp_path / "b.jsonl", 2)
    run("convert", "--partition-by", "hour", tmp_path / "b.jsonl", lake)
    wait_until(emitted(first + second), "the new files replayed (woken by inotify)", 120)
    m = proc.metrics()
    proc.stop()
    assert metric(m, "received_items", "out") == first + second
    assert metric(m, "parquet_watch_wakeups", "src") >= 1
    # The interval never ran out: one pass at start, the rest woken.
    assert metric(m, "parquet_passes", "src") == 1 + metric(m, "parquet_watch_wakeups", "src")


def test_follow_starts_on_an_empty_dataset(engine, run, tmp_path):
    """Started before any writer (the receiver creates the directory): every table
    directory is created later, and the first files still wake it."""
    lake = tmp_path / "lake"
    proc = engine(follow_config(tmp_path, f'base_uri: "{lake}"'))
    proc.wait_log("mode=inotify")
    n = generate(run, tmp_path / "a.jsonl", 1)
    run("convert", tmp_path / "a.jsonl", lake)
    wait_until(lambda: proc.check_running() or
               metric(proc.metrics(), "received_items", "out") >= n,
               "the first files replayed (woken by inotify)", 120)
    m = generate(run, tmp_path / "b.jsonl", 2)
    run("convert", tmp_path / "b.jsonl", lake)
    wait_until(lambda: proc.check_running() or
               metric(proc.metrics(), "received_items", "out") >= n + m,
               "the second convert replayed (woken by inotify)", 120)
    proc.stop()


def test_watch_poll_waits_for_the_interval(engine, run, tmp_path):
    lake = tmp_path / "lake"
    first = generate(run, tmp_path / "a.jsonl", 1)
    run("convert", tmp_path / "a.jsonl", lake)
    proc = engine(follow_config(tmp_path, f'base_uri: "{lake}"', "watch: poll"))
    proc.wait_log("mode=poll reason=configured")
    wait_until(lambda: metric(proc.metrics(), "received_items", "out") >= first,
               "the first pass", 120)
    proc.stop()


def test_object_store_falls_back_to_polling(engine, cli, run, s3_server, tmp_path):
    s3_server.client().create_bucket(Bucket="follow")
    env = s3_server.env()
    n = generate(run, tmp_path / "a.jsonl", 1)
    subprocess.run([str(cli), "convert", str(tmp_path / "a.jsonl"), "s3://follow/lake",
                    "--s3-endpoint", s3_server.endpoint, "--allow-http"], env=env,
                   check=True, capture_output=True)
    storage = (f'storage: {{s3: {{base_uri: "s3://follow/lake", '
               f'endpoint: "{s3_server.endpoint}", allow_http: true}}}}')
    proc = engine(follow_config(tmp_path, storage), env=env)
    proc.wait_log("mode=poll reason=not local")
    wait_until(lambda: metric(proc.metrics(), "received_items", "out") >= n,
               "the first pass", 120)
    proc.stop()
    # watch: inotify is refused for an object store, naming the key.
    bad = follow_config(tmp_path, storage, "watch: inotify")
    out = subprocess.run([str(cli), "run", "-c", str(bad)], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0
    assert "watch" in out.stderr and "inotify watches local datasets only" in out.stderr
