# SPDX-License-Identifier: Apache-2.0
"""The `run` command end to end: the built binary, the shipped configs, exit codes,
printed errors and graceful shutdown on SIGTERM."""
import os
import pathlib
import re
import signal
import time

from engines import wait_until

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


def test_traffic_debug_noop_two_cores(run, tmp_path):
    # Scenario: configs/traffic-debug-noop.yaml with --num-cores 2.
    # Guarantees: both instances generate their 200 batches of 100 items, all are
    # acked, the debug processor prints, and the run ends by itself with exit 0.
    metrics = tmp_path / "metrics.prom"
    proc = run("run", "--num-cores", "2", "-c", CONFIGS / "traffic-debug-noop.yaml",
               "--metrics-file", metrics)
    assert proc.returncode == 0
    assert "Pipeline run successfully" in proc.stdout
    assert "debug node=debug core=0" in proc.stdout
    assert "debug node=debug core=1" in proc.stdout
    text = metrics.read_text()
    for core in (0, 1):
        labels = f'group="default",pipeline="main",node="generator",urn="urn:otel:receiver:traffic_generator",core="{core}"'
        assert f"otap_node_sent_items_total{{{labels}}} 20000" in text
        assert f"otap_node_acked_total{{{labels}}} 200" in text
        assert f"otap_node_nacked_retryable_total{{{labels}}} 0" in text
    noop = re.findall(r'otap_node_received_items_total\{[^}]*node="noop"[^}]*\} (\d+)', text)
    assert sum(map(int, noop)) == 40000


def test_legacy_config_runs_unchanged(run):
    # Scenario: the legacy single-pipeline shape with old URN spellings, run with
    # --pipeline as df_engine did.
    # Guarantees: it runs to completion and exits 0.
    proc = run("run", "--num-cores", "1", "--pipeline", CONFIGS / "legacy-generator-demo.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "Pipeline run successfully" in proc.stdout


def test_validate_and_exit(run):
    # Scenario: --validate-and-exit on a valid config.
    # Guarantees: exit 0 with upstream's message, nothing runs.
    path = CONFIGS / "traffic-debug-noop.yaml"
    proc = run("run", "--validate-and-exit", "-c", path)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"Configuration '{path}' is valid."


def test_config_errors_are_all_printed_with_exit_2(run, tmp_path):
    # Scenario: a config with several mistakes.
    # Guarantees: every error is printed with path and line; exit code 2.
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: otel_dataflow/v1\n"
        "groups:\n"
        "  default:\n"
        "    pipelines:\n"
        "      main:\n"
        "        nodes:\n"
        "          gen: {type: receiver:traffic_generator, config: {traffic_config: {log_weight: 1}}}\n"
        "          dbg: {type: processor:debug, config: {verbosty: basic}}\n"
        "          out: {type: exporter:nop}\n"
        "        connections:\n"
        "          - {from: gen, to: dbg}\n"
        "          - {from: dbg, to: out}\n"
    )
    proc = run("run", "-c", bad, check=False)
    assert proc.returncode == 2
    assert f"error: {bad}: invalid configuration (2 errors)" in proc.stderr
    assert ('groups.default.pipelines.main.nodes.dbg.config.verbosty (line 8): unknown key; '
            'did you mean "verbosity"?') in proc.stderr
    assert 'nodes.out (line 9): unknown node type "exporter:nop"' in proc.stderr
    missing = run("run", "-c", tmp_path / "missing.yaml", check=False)
    assert missing.returncode == 2
    assert "cannot read configuration file" in missing.stderr


def test_sigterm_shuts_down_gracefully(engine, tmp_path):
    # Scenario: an unbounded generator run, then SIGTERM.
    # Guarantees: the engine drains (receivers stop, in-flight data is acked)
    # and exits 0 quickly; nothing is nacked or dropped.
    config = tmp_path / "forever.yaml"
    config.write_text(
        (CONFIGS / "traffic-debug-noop.yaml").read_text()
        .replace("max_batches: ${env:OTAP_MAX_BATCHES:-200}", "max_batches: null")
        .replace("verbosity: basic", "verbosity: basic\n              output: " + str(tmp_path / "debug.txt"))
    )
    metrics = tmp_path / "metrics.prom"
    run = engine(config, "--num-cores", "2", "--metrics-file", metrics)
    wait_until(lambda: re.search(r'otap_node_acked_total\{[^}]*node="generator"[^}]*\} [1-9]',
                                 run.metrics()), "the generator's first Ack")
    run.stop(signal.SIGTERM, timeout=10)  # drains quickly
    assert "Pipeline run successfully" in run.stdout()
    assert "engine.shutdown.start signal=15" in run.stderr()
    text = metrics.read_text()
    sent = sum(map(int, re.findall(r'otap_node_sent_batches_total\{[^}]*node="generator"[^}]*\} (\d+)', text)))
    acked = sum(map(int, re.findall(r'otap_node_acked_total\{[^}]*node="generator"[^}]*\} (\d+)', text)))
    dropped = sum(map(int, re.findall(r'otap_node_dropped_total\{[^}]*\} (\d+)', text)))
    assert sent > 0
    assert acked == sent
    assert dropped == 0


def test_duration_ends_the_run(run, tmp_path):
    # Scenario: --duration on an unbounded, rate-limited generator.
    # Guarantees: the run ends gracefully after about that long with exit 0.
    config = tmp_path / "slow.yaml"
    config.write_text(
        (CONFIGS / "traffic-debug-noop.yaml").read_text()
        .replace("signals_per_second: null   # uncapped", "signals_per_second: 1000")
        .replace("max_batches: ${env:OTAP_MAX_BATCHES:-200}", "max_batches: null")
    )
    start = time.monotonic()
    proc = run("run", "-c", config, "--duration", "1s")
    assert proc.returncode == 0
    assert 0.9 < time.monotonic() - start < 10


def test_console_and_detailed_debug_from_inline_yaml(run, tmp_path):
    # Scenario: an inline config (yaml: source) with debug verbosity detailed into a
    # file and exporter:console printing OTLP/JSON.
    # Guarantees: every console line is a complete OTLP/JSON request, and the
    # debug file holds the same content dumps.
    import json

    debug_file = tmp_path / "debug.txt"
    config = (
        "yaml:version: otel_dataflow/v1\n"
        "groups:\n  g:\n    pipelines:\n      p:\n        nodes:\n"
        "          gen:\n            type: receiver:traffic_generator\n"
        "            config: {traffic_config: {signals_per_second: null, max_batch_size: 5,"
        " log_weight: 1, trace_weight: 1, metric_weight: 1}, max_batches: 6}\n"
        f"          dbg: {{type: processor:debug, config: {{verbosity: detailed, output: '{debug_file}'}}}}\n"
        "          out: {type: exporter:console, config: {format: otlp_json}}\n"
        "        connections:\n          - {from: gen, to: dbg}\n          - {from: dbg, to: out}\n"
    )
    proc = run("run", "-c", config)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 6
    keys = sorted(next(iter(json.loads(line))) for line in lines)
    assert keys == ["resourceLogs"] * 2 + ["resourceMetrics"] * 2 + ["resourceSpans"] * 2
    dumped = [line for line in debug_file.read_text().splitlines() if line.startswith("{")]
    assert dumped == lines


def test_debug_signal_mode_prints_one_line_per_item(run, tmp_path):
    # Scenario: processor:debug with upstream's `mode: signal` at verbosity normal and
    # detailed, over 6 generated batches of 4 log records, spans or metrics.
    # Guarantees: the run succeeds (the mode was refused unless verbosity was
    # basic); each batch's summary line is followed by one OTLP/JSON line per item,
    # numbered from 0: normal keeps the identifying fields only (logs: body and
    # attributes; spans: name, ids, attributes; metrics: name and data points),
    # detailed keeps the timestamps too.
    import json

    summary_keys = {"logs": {"body", "attributes"},
                    "traces": {"traceId", "spanId", "name", "attributes"},
                    "metrics": {"name", "gauge", "sum", "histogram", "exponentialHistogram",
                                "summary"}}
    nouns = {"logs": "log record", "traces": "span", "metrics": "metric"}
    for verbosity in ("normal", "detailed"):
        debug_file = tmp_path / f"debug-{verbosity}.txt"
        config = (
            "yaml:version: otel_dataflow/v1\n"
            "groups:\n  g:\n    pipelines:\n      p:\n        nodes:\n"
            "          gen:\n            type: receiver:traffic_generator\n"
            "            config: {traffic_config: {signals_per_second: null, max_batch_size: 4,"
            " log_weight: 1, trace_weight: 1, metric_weight: 1}, max_batches: 6}\n"
            "          dbg: {type: processor:debug, config: {mode: signal, "
            f"verbosity: {verbosity}, output: '{debug_file}'}}}}\n"
            "          out: {type: exporter:noop}\n"
            "        connections:\n          - {from: gen, to: dbg}\n          - {from: dbg, to: out}\n"
        )
        run("run", "-c", config)
        lines = [line for line in debug_file.read_text().splitlines() if "totals:" not in line]
        assert len(lines) == 6 * (1 + 4), lines
        signals = []
        for batch in range(6):
            summary, items = lines[5 * batch], lines[5 * batch + 1:5 * batch + 5]
            signal = re.search(r"core=0 (\w+) batch #\d+: 4 ", summary).group(1)
            signals.append(signal)
            for i, line in enumerate(items):
                assert line.startswith(summary.split(": ")[0] + f": {nouns[signal]} #{i}: {{")
                keys = set(json.loads(line.split(": ", 2)[2]))
                if verbosity == "normal":
                    assert keys <= summary_keys[signal], line
                    assert "timeUnixNano" not in line, line
                else:
                    assert keys & {"timeUnixNano", "startTimeUnixNano", "gauge", "sum",
                                   "histogram", "exponentialHistogram", "summary"}, line
        assert sorted(signals) == ["logs"] * 2 + ["metrics"] * 2 + ["traces"] * 2


def test_metrics_file_that_cannot_be_written_fails_the_run(run, tmp_path):
    # Scenario: --metrics-file in a directory that does not exist, naming a
    # directory, and over an existing file.
    # Guarantees: a missing folder is refused before the run (exit 2); a file that
    # cannot be written at exit is reported and the run exits 1 (it exited 0: a job
    # relying on the metrics got none); a written file is whole (renamed into place)
    # and no temporary is left.
    config = tmp_path / "gen.yaml"
    config.write_text("""version: otel_dataflow/v1
groups:
  default:
    pipelines:
      main:
        nodes:
          gen:
            type: receiver:traffic_generator
            config:
              traffic_config: {signals_per_second: null, max_batch_size: 10, log_weight: 1}
              max_batches: 2
          out: {type: exporter:noop}
        connections:
          - {from: gen, to: out}
""")
    missing = tmp_path / "no-such-dir" / "m.prom"
    proc = run("run", "-c", config, "--metrics-file", missing, check=False)
    assert proc.returncode == 2, proc.stderr
    assert str(missing) in proc.stderr and "engine.start" not in proc.stderr
    folder = tmp_path / "folder"
    folder.mkdir()
    proc = run("run", "-c", config, "--metrics-file", folder, check=False)
    assert proc.returncode == 1, proc.stderr
    assert str(folder) in proc.stderr
    metrics = tmp_path / "m.prom"
    metrics.write_text("old\n")
    run("run", "-c", config, "--metrics-file", metrics)
    assert "otap_node_sent_items_total{" in metrics.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "gen.yaml", "m.prom"]
