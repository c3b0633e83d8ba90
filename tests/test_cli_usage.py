# SPDX-License-Identifier: Apache-2.0
"""The command line's edges (docs/cli.md): an option that the command would not
apply is refused with exit code 2 and a message naming it, instead of being
silently ignored (a user asking for `--verify` or `--start` believes they got it);
JSON reports of odd datasets."""
import pytest
from engines import v1_config


@pytest.fixture
def inputs(run, tmp_path):
    src = tmp_path / "src.jsonl"
    run("generate", src, "--signal", "logs", "--requests", "1", "--items", "5")
    lake = tmp_path / "lake"
    run("convert", src, lake)
    return src, lake


@pytest.mark.parametrize("args, flag", [
    # Dataset-input options with OTLP file inputs: no filter would be applied.
    (["{src}", "{out}", "--start", "2026-01-01T00:00:00Z"], "--start"),
    (["{src}", "{out}", "--end", "1"], "--end"),
    (["{src}", "{out}", "--partition", "service.name=x"], "--partition"),
    (["{src}", "{out}", "--shard", "0/2"], "--shard"),
    (["{src}", "{lake}", "--shard", "0/2"], "--shard"),
    # --verify replaying a dataset: nothing would be verified.
    (["{lake}", "{out}", "--verify"], "--verify"),
    # Dataset-output options with an OTLP file output: no dataset is written.
    (["{src}", "{out}", "--compression", "snappy"], "--compression"),
    (["{src}", "{out}", "--partition-by", "hour"], "--partition-by"),
    (["{lake}", "{out}", "--rows-per-file", "10"], "--rows-per-file"),
    (["{lake}", "{out}", "--bloom-filter", "trace_id"], "--bloom-filter"),
])
def test_convert_refuses_options_it_would_ignore(run, tmp_path, inputs, args, flag):
    src, lake = inputs
    out = tmp_path / "out.jsonl"
    proc = run("convert", *[a.format(src=src, lake=lake, out=out) for a in args],
               check=False)
    assert proc.returncode == 2, proc.stderr
    assert flag in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("flag, value", [
    ("--compression", "snappy"), ("--rows-per-file", "10"), ("--partition-by", "hour"),
    ("--writer-options", "{}"), ("--bloom-filter", "trace_id"), ("--no-fsync", None),
])
def test_bench_replay_refuses_writer_options(run, inputs, flag, value):
    """`bench replay` writes nothing: the dataset writer's flags, which it accepted
    and ignored, are usage errors (its storage flags stay)."""
    _, lake = inputs
    proc = run("bench", "replay", lake, flag, *([value] if value else []), check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert flag in proc.stderr
    run("bench", "replay", lake, "--retry-timeout", "5s", "--max-retries", "1")


def test_compare_refuses_an_unknown_signal(run, inputs):
    src, _ = inputs
    proc = run("compare", src, src, "--signal", "logz", check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--signal" in proc.stderr


@pytest.mark.parametrize("args, message", [
    ([], "give --before or --partition"),
    (["--before", "yesterday"], "--before"),
    (["--partition", "../elsewhere"], "not a partition path"),
    (["--partition", "/date=2026-11-01"], "not a partition path"),
])
def test_partitions_delete_usage_errors_exit_2(run, inputs, args, message):
    """`partitions delete` with a command line it cannot act on exits 2 (usage),
    as every command does (it exited 1, the code of a failed deletion), and deletes
    nothing."""
    import json

    _, lake = inputs
    before = json.loads(run("partitions", lake, "--json").stdout)["partitions"]
    proc = run("partitions", "delete", lake, *args, "--apply", check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert json.loads(run("partitions", lake, "--json").stdout)["partitions"] == before


def test_json_reports_survive_non_utf8_paths(run, tmp_path, inputs):
    """A file or partition name that is not UTF-8 (copied from a latin-1 system) is
    shown with U+FFFD in `inspect --json` and `partitions --json`; nlohmann's dump
    threw on it and the command aborted."""
    import json
    import os
    import shutil

    _, lake = inputs
    table = os.fsencode(lake / "logs")
    (part,) = os.listdir(table)
    with open(os.path.join(table, part, b"caf\xe9.parquet"), "wb") as f:
        f.write(b"not parquet")
    shutil.copytree(os.path.join(table, part), os.path.join(table, b"_part_id=caf\xe9"))
    proc = run("inspect", lake, "--json", check=False)
    assert proc.returncode == 3, proc.stderr
    assert "caf\ufffd.parquet" in json.dumps(json.loads(proc.stdout), ensure_ascii=False)
    proc = run("partitions", lake, "--json", check=False)
    assert proc.returncode == 0, proc.stderr
    paths = [p["partition"] for p in json.loads(proc.stdout)["partitions"]]
    assert "_part_id=caf\ufffd" in paths


@pytest.mark.parametrize("name", ["typo.jsnl", "missing-lake"])
def test_convert_of_a_missing_input_fails(run, tmp_path, name):
    """An input that is not an OTLP file name is read as a dataset: a mistyped or
    missing one replayed as an empty dataset, exit 0 and an empty OUTPUT."""
    out = tmp_path / "out.jsonl"
    proc = run("convert", tmp_path / name, out, check=False)
    assert proc.returncode == 1, proc.stderr
    assert name in proc.stderr and "no dataset directory" in proc.stderr
    assert not out.exists()


def test_failed_convert_into_a_dataset_names_what_it_published(run, tmp_path):
    """Files rotated at --rows-per-file are published before a later input fails;
    they stay (each file is whole), and running convert again would write their
    records twice: the error names the run's _part_id and how to delete it."""
    import json
    import re

    good = tmp_path / "good.jsonl"
    run("generate", good, "--signal", "logs", "--requests", "4", "--items", "50")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    lake = tmp_path / "lake"
    proc = run("convert", good, bad, lake, "--rows-per-file", "100", check=False)
    assert proc.returncode == 1
    assert "bad.jsonl" in proc.stderr
    match = re.search(r"partitions delete (\S+) --partition (_part_id=[0-9a-f-]+) --apply",
                      proc.stderr)
    assert match, proc.stderr
    listed = json.loads(run("partitions", lake, "--json").stdout)["partitions"]
    assert [p["partition"] for p in listed] == [match.group(2)]
    run("partitions", "delete", match.group(1), "--partition", match.group(2), "--apply")
    assert json.loads(run("partitions", lake, "--json").stdout)["partitions"] == []


@pytest.mark.parametrize("args, flag", [
    (["convert", "{lake}", "{out}", "--start", "yesterday"], "--start"),
    (["convert", "{lake}", "{out}", "--end", "2026-13-99"], "--end"),
    (["convert", "{lake}", "{out}", "--shard", "5/2"], "--shard"),
    (["convert", "{lake}", "{out}", "--progress", "sometimes"], "--progress"),
    (["convert", "{src}", "{newlake}", "--compression", "zzz"], "--compression"),
    (["convert", "{src}", "{newlake}", "--partition-by", "weekly"], "--partition-by"),
    (["convert", "{src}", "{newlake}", "--writer-options", "{{bogus: 1}}"],
     "--writer-options"),
    (["convert", "{src}", "{newlake}", "--retry-timeout", "10x"], "--retry-timeout"),
    (["repair", "{lake}", "--grace-period", "10x"], "--grace-period"),
    (["repair", "{lake}", "--progress", "sometimes"], "--progress"),
    (["compact", "{lake}", "--target-size", "10x"], "--target-size"),
    (["compact", "{lake}", "--target-size", "0"], "--target-size"),
    (["compact", "{lake}", "--older-than", "-1s"], "--older-than"),
    (["compact", "{lake}", "--grace", "soon"], "--grace"),
    (["compact", "{lake}", "--compression", "zzz"], "--compression"),
    (["inspect", "{lake}", "--grace-period", "10x"], "--grace-period"),
    (["inspect", "{lake}", "--progress", "sometimes"], "--progress"),
    (["bench", "replay", "{lake}", "--signal", "logz"], "--signal"),
])
def test_bad_option_values_are_usage_errors(run, tmp_path, inputs, args, flag):
    """A flag value the command cannot parse is a usage error, exit 2 naming the
    flag, before any work (docs/cli.md: 1 is an error while running). These exited
    1, like a storage failure, so a script could not tell a typo from a bad
    dataset."""
    src, lake = inputs
    out = tmp_path / "out.jsonl"
    newlake = tmp_path / "newlake"
    proc = run(*[a.format(src=src, lake=lake, out=out, newlake=newlake) for a in args],
               check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert flag in proc.stderr
    assert not out.exists() and not newlake.exists()


@pytest.mark.parametrize("text, message", [
    # A key written twice: the first silently won.
    ("verbosity: basic\n    verbosity: detailed", "duplicate key"),
    # The same, one level up: the second `config` block was dropped.
    ("verbosity: basic\n  config: {verbosity: detailed}", "duplicate key"),
    # A null value silently took the default (upstream's serde refuses it).
    ("verbosity:", "verbosity (line 13): must not be null"),
    ("verbosity: ~", "verbosity (line 13): must not be null"),
])
def test_run_and_validate_agree_on_bad_configs(run, tmp_path, text, message):
    """`run --validate-and-exit` and `run` refuse the same config with the same
    message and exit 2, before any node starts."""
    config = tmp_path / "c.yaml"
    # `text` continues at the indentation of this block (config keys at 4).
    config.write_text(v1_config(
        "gen:\n"
        "  type: receiver:traffic_generator\n"
        "  config: {traffic_config: {log_weight: 1, max_signal_count: 10}}\n"
        "dbg:\n"
        "  type: processor:debug\n"
        "  config:\n"
        f"    {text}\n"
        "out: {type: exporter:noop}\n",
        "- {from: gen, to: dbg}\n- {from: dbg, to: out}"))
    checked = run("run", "-c", config, "--validate-and-exit", check=False)
    ran = run("run", "-c", config, "--http-admin-bind", "none", check=False, timeout=60)
    for proc in (checked, ran):
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "c.yaml" in proc.stderr and message in proc.stderr
        assert "groups.default.pipelines.main.nodes.dbg.config" in proc.stderr
    assert "engine.start" not in ran.stderr


def test_run_checks_the_metrics_file_folder_first(run, tmp_path):
    """`--metrics-file` in a folder that does not exist is a usage error before the
    run: it was found at exit, after the whole run, which then exited 1."""
    config = tmp_path / "c.yaml"
    config.write_text(v1_config("""
        gen: {type: receiver:traffic_generator, config: {traffic_config: {log_weight: 1, max_signal_count: 10}}}
        out: {type: exporter:noop}
        """, "- {from: gen, to: out}"))
    metrics = tmp_path / "missing" / "m.prom"
    proc = run("run", "-c", config, "--http-admin-bind", "none", "--metrics-file", metrics,
               check=False, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--metrics-file" in proc.stderr and "engine.start" not in proc.stderr


def test_admin_address_of_a_receiver_is_refused(run, tmp_path):
    """`--http-admin-bind` on a receiver's port (`localhost` is 127.0.0.1) is a
    configuration error, exit 2 naming both, before any node starts (it was not
    checked: the conflict showed only when a server failed to bind). Another port
    validates."""
    config = tmp_path / "c.yaml"
    config.write_text(v1_config("""
        in:
          type: receiver:otlp
          config: {protocols: {http: {listening_addr: "localhost:47340"}}}
        out: {type: exporter:noop}
        """, "- {from: in, to: out}"))
    proc = run("run", "-c", config, "--http-admin-bind", "127.0.0.1:47340",
               "--validate-and-exit", check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert ("--http-admin-bind: the admin server's 127.0.0.1:47340 is also the listening "
            "address of groups.default.pipelines.main.nodes.in.config.protocols.http."
            "listening_addr (line 9)") in proc.stderr
    run("run", "-c", config, "--http-admin-bind", "127.0.0.1:47341", "--validate-and-exit")
