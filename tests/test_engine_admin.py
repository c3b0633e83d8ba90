# SPDX-License-Identifier: Apache-2.0
"""The admin HTTP server of `otap-parquet run`: readiness and liveness, Prometheus
metrics scraped while a traffic-generator pipeline runs, graceful shutdown over
HTTP and on SIGTERM, and what happens when the admin port is taken."""
import json
import re
import socket
import subprocess
import threading
import time

import pytest
from engines import http_get, wait_until
from s3_server import free_port

PIPELINE = """version: otel_dataflow/v1
{engine}
groups:
  default:
    pipelines:
      main:
        nodes:
          gen:
            type: receiver:traffic_generator
            config:
              traffic_config:
                signals_per_second: 20000
                max_batch_size: 100
                log_weight: 1
                trace_weight: 1
                metric_weight: 1
              seed: 7
          batch:
            type: processor:batch
            config:
              otap: {{min_size: 500, sizer: items}}
              max_batch_duration: 50ms
          out: {{type: exporter:noop}}
        connections:
          - {{from: gen, to: batch}}
          - {{from: batch, to: out}}
"""

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (-?[0-9]+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def get(port, path, method="GET"):
    """(status, body) of a request to the admin server; (None, error) if refused."""
    return http_get(f"127.0.0.1:{port}", path, method)


def parse_prometheus(text):
    """Families {name: type} and samples [(name, labels, value)]; asserts the 0.0.4
    text format: HELP then TYPE before a family's contiguous samples."""
    types, samples, current, seen = {}, [], None, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            current = line.split()[2]
            assert current not in seen, f"family {current} repeated"
            seen.add(current)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            assert name == current and kind in ("counter", "gauge"), line
            types[name] = kind
        else:
            m = SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            assert m.group(1) == current, f"sample outside its family: {line}"
            samples.append((m.group(1), dict(LABEL.findall(m.group(2))), int(m.group(3))))
    return types, samples


def total(samples, name, node):
    return sum(v for n, labels, v in samples if n == name and labels["node"] == node)


def test_admin_endpoints_while_running(engine, tmp_path):
    # Scenario: a traffic generator → batch → noop pipeline on two cores with
    # --http-admin-bind on a free port; scrape twice; shut down over HTTP.
    # Guarantees: livez/readyz answer 200 once running; the metrics parse as
    # Prometheus text with group/pipeline/node/urn/core labels, counters grow
    # between scrapes and are typed counter, queue gauges are gauges; status lists
    # both instances; POST /api/v1/groups/shutdown makes readyz 503 (or the server
    # is gone) and the run ends with exit 0.
    config = tmp_path / "gen.yaml"
    config.write_text(PIPELINE.format(engine=""))
    port = free_port()
    run = engine(config, "--num-cores", "2", "--http-admin-bind", f"127.0.0.1:{port}")
    assert get(port, "/api/v1/livez")[0] == 200
    status, body = get(port, "/api/v1/status")
    assert status == 200
    doc = json.loads(body)
    assert doc["ready"] is True and doc["state"] == "running" and doc["cores"] == 2
    assert sorted(p["core"] for p in doc["pipelines"]) == [0, 1]
    assert all(p["state"] == "running" and p["nodes"] == 3 for p in doc["pipelines"])

    grown = (("otap_node_sent_items_total", "gen"), ("otap_node_sent_batches_total", "gen"),
             ("otap_node_received_items_total", "out"), ("otap_node_acked_total", "out"))

    def scrape(path, before=None):
        """Samples once every counter of `grown` is above its value in `before` (each
        node publishes its counters on its own schedule: a loaded machine can show the
        exporter's Acks grown before the generator's sends)."""
        def ready():
            status, text = get(port, path)
            assert status == 200, text
            types, samples = parse_prometheus(text)
            if all(total(samples, name, node) > (total(before, name, node) if before else 0)
                   for name, node in grown):
                return types, samples
            return None
        return wait_until(ready, f"the counters of {path} to grow", 20)

    types, before = scrape("/api/v1/metrics")
    _, after = scrape("/metrics", before)
    for name in ("otap_node_sent_items_total", "otap_node_sent_batches_total"):
        assert total(after, name, "gen") > total(before, name, "gen") > 0
    assert total(after, "otap_node_received_items_total", "out") > total(
        before, "otap_node_received_items_total", "out")
    assert total(after, "otap_node_acked_total", "out") > total(
        before, "otap_node_acked_total", "out") > 0
    assert total(after, "otap_node_nacked_permanent_total", "out") == 0
    for name, kind in types.items():
        assert (kind == "counter") == name.endswith("_total"), name
    for gauge in ("otap_node_queue_depth", "otap_node_queue_capacity",
                  "otap_node_queue_depth_max"):
        assert types[gauge] == "gauge"
    assert types["otap_node_errors_total"] == "counter"
    nodes = {(labels["node"], labels["core"]) for _, labels, _ in after}
    assert nodes == {(n, c) for n in ("gen", "batch", "out") for c in ("0", "1")}
    for _, labels, _ in after:
        assert labels["group"] == "default" and labels["pipeline"] == "main"
        assert labels["urn"].startswith("urn:otel:")
    caps = [v for n, labels, v in after
            if n == "otap_node_queue_capacity" and labels["node"] == "out"]
    assert caps == [128, 128]  # the default policies.channel_capacity.pdata

    status, _ = get(port, "/api/v1/groups/shutdown?timeout_secs=20", method="POST")
    assert status == 202
    status, body = get(port, "/api/v1/readyz")
    assert status in (503, None), (status, body)
    assert run.wait(timeout=30) == 0, run.tail()
    assert "Pipeline run successfully" in run.stdout()
    assert f"admin.endpoint.start address=127.0.0.1:{port}" in run.stderr()
    assert "engine.shutdown.start reason=admin" in run.stderr()


def test_slow_clients_do_not_starve_probes(engine, tmp_path):
    # Scenario: four connections to the admin port drip a request one byte a second
    # (under httplib's 5 s read timeout, so each read succeeds and the connection is
    # never timed out), and four more are open and silent; meanwhile livez, readyz and
    # the metrics are requested, each on a new connection.
    # Guarantees: every one is answered 200 (10 s timeout each, so a starved client
    # fails instead of hanging). The old server served connections on a pool of two
    # threads: two dripping connections held both for as long as they dripped.
    config = tmp_path / "gen.yaml"
    config.write_text(PIPELINE.format(engine=""))
    port = free_port()
    engine(config, "--http-admin-bind", f"127.0.0.1:{port}")
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
    stop = threading.Event()
    sent = [0] * 4
    head = b"GET /api/v1/livez HTTP/1.1\r\nHost: x\r\n"

    def drip(k):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            while not stop.wait(0 if sent[k] == 0 else 1):
                try:
                    s.sendall(head[sent[k] % len(head):][:1])
                except OSError:
                    return
                sent[k] += 1

    drips = [threading.Thread(target=drip, args=(k,), daemon=True) for k in range(4)]
    for t in drips:
        t.start()
    try:
        wait_until(lambda: min(sent) >= 2, "every slow connection dripping")
        for path in ("/api/v1/livez", "/api/v1/readyz", "/api/v1/metrics"):
            status, body = http_get(f"127.0.0.1:{port}", path, timeout=10)
            assert status == 200, f"{path}: {body}"
    finally:
        stop.set()
        for s in silent:
            s.close()
        for t in drips:
            t.join()


def test_slowloris_connections_beyond_the_threads_do_not_starve_probes(engine, tmp_path):
    # Scenario: 40 connections to the admin port (more than its 32 connection
    # threads) each send a request line, then one byte a second of a header line
    # that never ends (under httplib's 5 s timeout per read, within its 8 KiB line
    # limit); once all are open, livez, readyz and the metrics are requested, each on
    # a new connection.
    # Guarantees: every one is answered 200 (30 s timeout each, so a starved client
    # fails instead of hanging): the server drops a connection whose request is not
    # complete 3 s after its accept. The old server let each dripping connection
    # hold its thread for as long as it dripped (hours): the probes waited behind
    # them forever.
    config = tmp_path / "gen.yaml"
    config.write_text(PIPELINE.format(engine=""))
    port = free_port()
    engine(config, "--http-admin-bind", f"127.0.0.1:{port}")
    stop = threading.Event()
    connected = [False] * 40
    head = b"GET /api/v1/livez HTTP/1.1\r\nHost: x\r\nX-Slow: "

    def drip(k):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            try:
                s.sendall(head)
                connected[k] = True
                while not stop.wait(1):
                    s.sendall(b"a")
            except OSError:
                connected[k] = True
                return

    drips = [threading.Thread(target=drip, args=(k,), daemon=True) for k in range(40)]
    for t in drips:
        t.start()
    try:
        wait_until(lambda: all(connected), "every slow connection open")
        for path in ("/api/v1/livez", "/api/v1/readyz", "/api/v1/metrics"):
            status, body = http_get(f"127.0.0.1:{port}", path, timeout=30)
            assert status == 200, f"{path}: {body}"
    finally:
        stop.set()
        for t in drips:
            t.join()


def test_metrics_json_formats(engine, tmp_path):
    # Scenario: upstream's query parameters on /api/v1/metrics while traffic
    # flows: format=json, json_compact, keep_all_zeroes, explicit prometheus, and
    # bad values.
    # Guarantees: JSON has upstream's shape (timestamp, metric_sets with name,
    # attributes and metrics); node-specific metrics have their declared unit;
    # one set per node instance with its labels; zeroes
    # only with keep_all_zeroes; json_compact is the same document without
    # whitespace; unknown formats, reset=true and non-boolean flags get 400 with a
    # message; format=prometheus is the default text.
    config = tmp_path / "gen.yaml"
    config.write_text(PIPELINE.format(engine=""))
    run = engine(config, "--num-cores", "2")

    def metric_sets(query):
        status, body = run.get(f"/api/v1/metrics?{query}")
        assert status == 200, body
        doc = json.loads(body)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", doc["timestamp"])
        return body, {(s["attributes"]["node"], s["attributes"]["core"]): s
                      for s in doc["metric_sets"]}

    def acked(sets):
        return sum(m["value"] for (node, _), s in sets.items() if node == "out"
                   for m in s["metrics"] if m["name"] == "acked")

    def after_first_ack():
        _, sets = metric_sets("format=json")
        return sets if acked(sets) > 0 else None

    sets = wait_until(after_first_ack, "the exporter to Ack", 20)
    assert set(sets) == {(n, c) for n in ("gen", "batch", "out") for c in (0, 1)}
    for (node, core), s in sets.items():
        assert s["name"] == "node"
        assert s["attributes"] == {"group": "default", "pipeline": "main", "node": node,
                                   "urn": s["attributes"]["urn"], "core": core}
        assert s["attributes"]["urn"].startswith("urn:otel:")
        for m in s["metrics"]:
            assert m["value"] != 0, m  # zeroes left out by default
            assert m["instrument"] == ("gauge" if m["name"].startswith("queue_")
                                       else "counter"), m
    gen = {m["name"] for s in (sets[("gen", 0)], sets[("gen", 1)]) for m in s["metrics"]}
    assert {"sent_items", "sent_batches"} <= gen and "errors" not in gen
    # Node-specific metrics carry the unit their node declares (metrics.h); the
    # exporter's Ack means the batch processor flushed at least once.
    flushes = [m for s in (sets[("batch", 0)], sets[("batch", 1)]) for m in s["metrics"]
               if m["name"] == "batch_flushes"]
    assert flushes and all(m["unit"] == "{flush}" and set(m["attributes"]) == {"reason"}
                           for m in flushes), flushes

    _, with_zeroes = metric_sets("format=json&keep_all_zeroes=true")
    errors = [m for m in with_zeroes[("out", 0)]["metrics"] if m["name"] == "errors"]
    assert errors == [{"name": "errors", "instrument": "counter", "value": 0}]

    compact, compact_sets = metric_sets("format=json_compact")
    assert "\n" not in compact.rstrip("\n") and " " not in compact
    assert set(compact_sets) == set(sets)

    status, text = run.get("/api/v1/metrics?format=prometheus")
    assert status == 200 and "# TYPE otap_node_acked_total counter" in text
    for query, message in (("format=xml", 'unsupported format "xml"'),
                           ("format=json&reset=true", "reset=true is not supported"),
                           ("format=json&keep_all_zeroes=maybe",
                            "keep_all_zeroes must be true or false")):
        status, body = run.get(f"/api/v1/metrics?{query}")
        assert status == 400 and message in body, (query, status, body)
    assert run.get("/api/v1/metrics?format=json&reset=false")[0] == 200
    run.stop()


def test_readyz_503_once_sigterm_drains(engine, tmp_path):
    # Scenario: the admin address comes from engine.http_admin.bind_address; the
    # run gets SIGTERM.
    # Guarantees: ready before; after the signal readyz is 503 until the server is
    # gone; exit 0.
    port = free_port()
    config = tmp_path / "gen.yaml"
    config.write_text(PIPELINE.format(
        engine=f"engine:\n  http_admin:\n    bind_address: 127.0.0.1:{port}"))
    run = engine(config, "--num-cores", "2")
    assert run.admin_address() == f"127.0.0.1:{port}"
    run.proc.terminate()
    codes = []
    while run.returncode is None:
        status, _ = get(port, "/api/v1/readyz")
        if status is None:
            break
        codes.append(status)
        time.sleep(0.01)  # poll interval, not a wait for something
    assert run.wait(timeout=30) == 0, run.tail()
    assert "engine.shutdown.start signal=15" in run.stderr()
    # The watcher takes the signal within 100 ms: 200s may come first, but
    # once a 503 was served the engine never reports ready again.
    assert set(codes) <= {200, 503}, codes
    if 503 in codes:
        assert 200 not in codes[codes.index(503):], codes


@pytest.mark.parametrize("how", ["flag", "config"])
def test_explicit_busy_port_fails_startup(cli, tmp_path, how):
    # Scenario: the admin port is taken by another listener and was asked for
    # explicitly (flag or config key).
    # Guarantees: exit 1 with a message naming the address; nothing runs.
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        addr = f"127.0.0.1:{busy.getsockname()[1]}"
        config = tmp_path / "gen.yaml"
        engine = f"engine:\n  http_admin:\n    bind_address: {addr}" if how == "config" else ""
        config.write_text(PIPELINE.format(engine=engine))
        args = ["--http-admin-bind", addr] if how == "flag" else []
        proc = subprocess.run([str(cli), "run", "-c", str(config), "--duration", "5s", *args],
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert f"admin server cannot bind {addr}" in proc.stderr
    assert "Pipeline run successfully" not in proc.stdout


def test_default_port_collision_only_logs(cli, tmp_path):
    # Scenario: no admin address given and the default one (here replaced through
    # OTAP_PARQUET_HTTP_ADMIN_BIND, as the test suite does for 127.0.0.1:8080) is
    # taken.
    # Guarantees: endpoint.bind_failed is logged with the address, the pipelines
    # run anyway and the run ends with exit 0.
    import os
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        addr = f"127.0.0.1:{busy.getsockname()[1]}"
        config = tmp_path / "gen.yaml"
        config.write_text(PIPELINE.format(engine=""))
        env = dict(os.environ, OTAP_PARQUET_HTTP_ADMIN_BIND=addr)
        proc = subprocess.run([str(cli), "run", "-c", str(config), "--duration", "1s"],
                              capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"admin.endpoint.bind_failed address={addr}" in proc.stderr
    assert "Pipeline run successfully" in proc.stdout


def test_malformed_admin_address_is_a_config_error(run, tmp_path):
    # Scenario: --http-admin-bind without a port; a config key with a bad port.
    # Guarantees: exit 2 with the reason (and the YAML path for the key).
    config = tmp_path / "gen.yaml"
    config.write_text(PIPELINE.format(engine=""))
    proc = run("run", "-c", config, "--http-admin-bind", "localhost", check=False)
    assert proc.returncode == 2
    assert "--http-admin-bind" in proc.stderr and "HOST:PORT" in proc.stderr
    config.write_text(PIPELINE.format(
        engine="engine:\n  http_admin:\n    bind_address: 127.0.0.1:99999"))
    proc = run("run", "-c", config, "--validate-and-exit", check=False)
    assert proc.returncode == 2
    assert "engine.http_admin.bind_address" in proc.stderr


LEGACY_PIPELINE = """settings:
  http_admin: {{read_header_timeout: {read_header_timeout}, write_timeout: {write_timeout}}}
nodes:
  gen:
    kind: receiver
    plugin_urn: "urn:otel:otap:fake_data_generator:receiver"
    out_ports:
      out_port:
        destinations: [out]
        dispatch_strategy: round_robin
    config:
      traffic_config: {{signals_per_second: 100, log_weight: 1}}
  out:
    kind: exporter
    plugin_urn: "urn:otel:noop:exporter"
"""


@pytest.mark.parametrize("where", ["engine", "settings"])
def test_admin_deadlines_from_the_config_reach_the_server(engine, tmp_path, where):
    # Scenario: `http_admin.read_header_timeout: 250ms` and `write_timeout: 45s`
    # under `engine:` (dataflow v1) or the legacy `settings:`; a client sends half a
    # request and then nothing.
    # Guarantees: the server starts with both deadlines as configured (its start log
    # names the ones in force: without the keys reaching it, 3000ms and 30000ms),
    # and closes the silent connection without an answer (waited for with a
    # generous bound; nothing asserts how fast).
    config = tmp_path / "admin.yaml"
    if where == "engine":
        config.write_text(PIPELINE.format(engine=(
            "engine:\n  http_admin:\n    read_header_timeout: 250ms\n"
            "    write_timeout: 45s")))
    else:
        config.write_text(LEGACY_PIPELINE.format(read_header_timeout="250ms",
                                                 write_timeout="45s"))
    run = engine(config)
    assert "read_header_timeout=250ms write_timeout=45000ms" in run.stderr(), run.stderr()
    host, port = run.admin_address().rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=60) as s:
        s.sendall(b"GET /api/v1/livez HTTP/1.1\r\nHost: x\r\n")
        try:
            answer = s.recv(4096)  # b"" once the server closes the connection
        except ConnectionResetError:
            answer = b""
    assert not answer.startswith(b"HTTP/1.1 200 "), answer
