# SPDX-License-Identifier: Apache-2.0
"""The reference docs say what the code does: every metric the engine can emit is in
docs/metrics.md with its type, unit and label, and every metric the docs name exists
(read from the nodes' `metrics.h` and checked against a running engine with every
node kind); every config key a node's reader accepts is in its reference, and every
key its reference shows is accepted; every command and flag of `otap-parquet` is in
docs/cli.md; every relative link resolves. Each test fails when code and docs drift
apart. tests/doc_reference.py reads both sides."""
import fnmatch
import json
import re
import socket
import subprocess

import pytest
import yaml

import doc_reference as ref
from engines import wait_until

# Docs that may name metrics: every page, the README, every node's README.
DOC_FILES = sorted([*ref.DOCS.glob("*.md"), ref.ROOT / "README.md",
                    *(ref.SRC / "nodes").rglob("README.md")])
# Labels every sample has; a node metric adds at most one more.
COMMON_LABELS = {"group", "pipeline", "node", "urn", "core"}


@pytest.fixture(scope="module")
def declared():
    return ref.declared_metrics()


@pytest.fixture(scope="module")
def documented():
    """{name: Metric} of docs/metrics.md, each name of a row's brace form."""
    rows = {}
    for metric, section in ref.documented_metrics():
        for name in ref.expand_braces(metric.name):
            row = ref.Metric(name, metric.kind, metric.unit, metric.label, metric.help)
            old = rows.get(name)
            assert old is None or old == row, f"{name} listed twice, differently ({section})"
            rows[name] = row
    return rows


def test_metric_declarations_are_found(declared):
    """The source reader sees the engine's counters and every node's declarations
    (a change of the declaration style would otherwise empty both sides)."""
    assert "otap_node_received_batches_total" in declared
    assert declared["otap_node_parquet_rows_written_total"].label == "table"
    assert declared["otap_node_otlp_http_in_flight"].kind == "gauge"  # prefixed set
    assert len(declared) > 150


def test_every_metric_is_documented_as_declared(declared, documented):
    """docs/metrics.md lists exactly the declared metrics, each with the declared
    type, unit and label."""
    missing = sorted(set(declared) - set(documented))
    assert not missing, f"declared, not in docs/metrics.md: {missing}"
    gone = sorted(set(documented) - set(declared))
    assert not gone, f"in docs/metrics.md, not declared: {gone}"
    differ = [f"{name}: docs {documented[name]} != code {m}"
              for name, m in declared.items() if documented[name] != m]
    assert not differ, "\n".join(differ)


def test_metric_names_in_docs_exist(declared):
    """Every `otap_node_...` name in the docs (pages, READMEs) is one the engine can
    emit; a name ending in `_` or followed by `*` must prefix one."""
    wrong = []
    for path in DOC_FILES:
        for line_no, line in enumerate(path.read_text().splitlines(), 1):
            for name, is_prefix in ref.metric_mentions(line):
                for full in ref.expand_braces(name):
                    ok = (any(d.startswith(full) for d in declared) if is_prefix
                          else full in declared)
                    if not ok:
                        wrong.append(f"{path.relative_to(ref.ROOT)}:{line_no}: {full}")
    assert not wrong, "\n".join(wrong)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _parse_prometheus(text):
    """({family: type}, {family: {label: {values}}}) of a text exposition."""
    types, labels = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            types[name] = kind
        elif line and not line.startswith("#"):
            name, rest = line.split("{", 1)
            found = labels.setdefault(name, {})
            for key, value in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', rest):
                if key not in COMMON_LABELS:
                    found.setdefault(key, set()).add(value)
    return types, labels


def test_running_engine_emits_only_documented_metrics(engine, run, tmp_path, declared,
                                                      documented):
    """A running engine with every node kind (traffic flowing through each receiver
    and exporter) serves only metrics that are declared and documented, of the
    documented type, label and unit, with label values among the documented ones
    (`label=a|b`) where the docs enumerate them; the same in its --metrics-file."""
    src = tmp_path / "in.jsonl"
    run("generate", src, "--requests", "2", "--items", "5")
    lake = tmp_path / "lake"
    run("convert", src, lake)
    grpc, http, otap = _free_port(), _free_port(), _free_port()
    gen = ("{type: receiver:traffic_generator, config: {traffic_config: "
           "{signals_per_second: 200, max_batch_size: 20, log_weight: 1, trace_weight: 1, "
           "metric_weight: 1}}}")

    def pipeline(nodes, connections):
        body = "".join(f"          {k}: {v}\n" for k, v in nodes.items())
        wires = "".join(f"          - {{from: {a}, to: {b}}}\n" for a, b in connections)
        return f"        nodes:\n{body}        connections:\n{wires}"

    pipelines = {
        "to_parquet": pipeline({
            "gen": gen,
            "batch": "{type: processor:batch, config: {max_batch_duration: 50ms}}",
            "pq": (f"{{type: exporter:parquet, config: {{storage: {{file: {{base_uri: "
                   f"'{tmp_path / 'out'}'}}}}, writer_options: {{flush_when_older_than: "
                   "100ms}, wal: {enabled: true}, retention: {max_age: 720h}}}"),
        }, [("gen", "batch"), ("batch", "pq")]),
        "to_grpc": pipeline({
            "gen": gen,
            "out": f"{{type: exporter:otlp_grpc, config: {{grpc_endpoint: 'http://127.0.0.1:{grpc}'}}}}",
        }, [("gen", "out")]),
        "to_http": pipeline({
            "gen": gen,
            "out": f"{{type: exporter:otlp_http, config: {{endpoint: 'http://127.0.0.1:{http}'}}}}",
        }, [("gen", "out")]),
        "to_otap": pipeline({
            "gen": gen,
            "out": f"{{type: exporter:otap, config: {{grpc_endpoint: 'http://127.0.0.1:{otap}'}}}}",
        }, [("gen", "out")]),
        "from_otlp": pipeline({
            "otlp": (f"{{type: receiver:otlp, config: {{protocols: {{grpc: {{listening_addr: "
                     f"'127.0.0.1:{grpc}'}}, http: {{listening_addr: '127.0.0.1:{http}'}}}}}}}}"),
            "dbg": f"{{type: processor:debug, config: {{output: '{tmp_path / 'debug.txt'}'}}}}",
            "file": f"{{type: exporter:file, config: {{path: '{tmp_path / 'file-{signal}.jsonl'}'}}}}",
        }, [("otlp", "dbg"), ("dbg", "file")]),
        "from_otap": pipeline({
            "otap": f"{{type: receiver:otap, config: {{listening_addr: '127.0.0.1:{otap}'}}}}",
            "noop": "{type: exporter:noop}",
        }, [("otap", "noop")]),
        "replay": pipeline({
            "pq": f"{{type: receiver:parquet, config: {{base_uri: '{lake}'}}}}",
            "console": "{type: exporter:console}",
        }, [("pq", "console")]),
    }
    config = tmp_path / "all-nodes.yaml"
    config.write_text("version: otel_dataflow/v1\ngroups:\n  default:\n    pipelines:\n" +
                      "".join(f"      {name}:\n{body}" for name, body in pipelines.items()))
    metrics_file = tmp_path / "metrics.prom"
    e = engine(config, "--metrics-file", metrics_file, ready=False)

    # Wait (no timing assertion) until traffic went through every receiver and
    # exporter, so that each node has published its metrics.
    witnesses = ["otap_node_otlp_grpc_items_received_total",
                 "otap_node_otlp_http_items_received_total",
                 "otap_node_otap_arrow_items_received_total",
                 "otap_node_otlp_grpc_batches_acked_total",
                 "otap_node_otlp_http_batches_acked_total",
                 "otap_node_otap_batches_acked_total",
                 "otap_node_parquet_records_emitted_total",
                 "otap_node_parquet_files_closed_total", "otap_node_wal_appends_total",
                 "otap_node_parquet_retention_passes_total",
                 "otap_node_batch_inputs_flushed_total",
                 "otap_node_file_lines_written_total"]

    def flowed():
        text = e.metrics()
        ok = all(re.search(rf"^{w}{{.*}} [1-9]", text, re.M) for w in witnesses)
        return text if ok else None

    scraped = [wait_until(flowed, "traffic through every node", timeout=60)]
    status, body = e.get("/api/v1/metrics?format=json&keep_all_zeroes=true")
    assert status == 200, body
    # A short drain: the OTLP exporters' retries into the receivers, which stop
    # first, would otherwise wait for most of the deadline.
    assert e.get("/api/v1/groups/shutdown?timeout_secs=2", method="POST")[0] == 202
    e.wait()
    scraped.append(metrics_file.read_text())

    problems = []
    for text in scraped:
        types, labels = _parse_prometheus(text)
        for name, kind in types.items():
            doc = documented.get(name)
            if name not in declared or doc is None:
                problems.append(f"{name}: emitted, not declared or not documented")
                continue
            if kind != doc.kind:
                problems.append(f"{name}: emitted as {kind}, documented as {doc.kind}")
            for label, values in labels.get(name, {}).items():
                if label != doc.label:
                    problems.append(f"{name}: label {label}, documented {doc.label!r}")
                    continue
                allowed = ref.enumerated_values(doc.help, label)
                if allowed is not None and not values <= allowed:
                    problems.append(f"{name}: {label} values {sorted(values - allowed)} "
                                    f"not among the documented {sorted(allowed)}")
    for metric_set in json.loads(body)["metric_sets"]:
        for m in metric_set["metrics"]:
            name = f"otap_node_{m['name']}{'_total' if m['instrument'] == 'counter' else ''}"
            if name in documented and m.get("unit", "") != documented[name].unit:
                problems.append(f"{name}: unit {m.get('unit')!r}, documented "
                                f"{documented[name].unit!r}")
    assert not problems, "\n".join(sorted(set(problems)))
    families = set(_parse_prometheus(scraped[0])[0])
    assert set(witnesses) <= families


# --- config keys -------------------------------------------------------------------

@pytest.fixture(scope="module")
def accepted_keys(cli, tmp_path_factory):
    return ref.accepted_config_keys(cli, tmp_path_factory.mktemp("probes"))


def test_config_key_probe_finds_the_keys(accepted_keys):
    """The probe sees top-level, nested and list-item keys (else both sides of the
    next tests would be empty)."""
    assert set(accepted_keys) == {*ref.BASE_CONFIGS, "engine", "engine-legacy"}
    assert "nodes.<node>.out_ports.<port>.destinations" in accepted_keys["engine-legacy"]
    assert "engine.http_admin.bind_address" in accepted_keys["engine"]
    assert "groups.<group>.pipelines.<pipeline>.nodes.<node>.type" in accepted_keys["engine"]
    assert "protocols.grpc.listening_addr" in accepted_keys["receiver:otlp"]
    assert "storage.s3.auth.access_key_id" in accepted_keys["exporter:parquet"]
    assert "partitioning_strategies[].schema_metadata" in accepted_keys["exporter:parquet"]
    assert accepted_keys["exporter:noop"] == set()


@pytest.mark.parametrize("kind", [*sorted(ref.BASE_CONFIGS), "engine", "engine-legacy"])
def test_every_accepted_config_key_is_documented(accepted_keys, kind):
    """Every key the node's strict config reader accepts (nested ones included) is
    named in its config reference, as code or matched by a documented glob
    (`tcp_*`): its README; datasets.md and operations.md for the parquet nodes,
    otap.md for the OTAP ones; of engine.md its sections and the table rows that
    name it (the engine's own keys: anywhere in engine.md)."""
    names, globs = ref.documented_names(ref.config_texts(kind))
    missing = sorted(
        path for path in accepted_keys[kind]
        if (leaf := re.split(r"[.\]]", path)[-1]) not in names
        and not any(fnmatch.fnmatchcase(leaf, g) for g in globs))
    docs = [str(p.relative_to(ref.ROOT)) for p in ref.config_docs(kind)]
    assert not missing, f"{kind}: accepted keys not in {docs}: {missing}"


@pytest.mark.parametrize("kind", sorted(ref.BASE_CONFIGS))
def test_documented_config_examples_use_accepted_keys(accepted_keys, kind):
    """Every key of the YAML examples configuring this node kind in its docs is
    one its reader accepts (below a key whose value is a free mapping, such as
    `headers`, anything goes)."""
    accepted = accepted_keys[kind]
    leaves = {p for p in accepted if not any(q.startswith(p + ".") or
                                             q.startswith(p + "[]") for q in accepted)}
    wrong = sorted(
        path for path in ref.config_examples(ref.config_docs(kind), kind)
        if path not in accepted and not any(path.startswith(leaf + ".") or
                                            path.startswith(leaf + "[]")
                                            for leaf in leaves))
    assert not wrong, f"{kind}: documented keys its reader refuses: {wrong}"


# --- command line --------------------------------------------------------------------

@pytest.fixture(scope="module")
def commands(cli):
    return ref.cli_commands(cli)


def _cli_sections():
    """{command path: its section of docs/cli.md}, from headings such as
    "## `partitions delete DATASET ...`"; the text before the first section (flags
    every dataset command takes) is the "" entry."""
    sections = {}
    for heading, body in ref.markdown_sections((ref.DOCS / "cli.md").read_text()).items():
        m = re.match(r"`([a-z ]+?)(?: [A-Z(\-].*)?`$", heading)
        if heading == "":
            sections[""] = body
        elif m:
            sections.setdefault(m.group(1).strip(), "")
            sections[m.group(1).strip()] += body
    return sections


def test_every_command_has_a_section(commands):
    """Every command and subcommand of `otap-parquet --help` has its section in
    docs/cli.md (`bench` and `partitions` through their subcommands' sections),
    and every section is a command."""
    sections = _cli_sections()
    missing = sorted(c for c in commands if c and c not in sections
                     and not any(s.startswith(c + " ") for s in sections))
    assert not missing, f"commands without a section in docs/cli.md: {missing}"
    extra = sorted(set(sections) - set(commands))
    assert not extra, f"sections of docs/cli.md that are no command: {extra}"


def test_every_flag_is_documented(commands):
    """Every flag of every command is in its section of docs/cli.md, or in the
    text before the first section (the flags every dataset command takes); those of
    `run` in engine.md's options table, to which cli.md's section points."""
    sections = _cli_sections()
    engine_options = ref.markdown_sections((ref.DOCS / "engine.md").read_text())[""]
    missing = []
    for command, flags in commands.items():
        if not command:
            text = (ref.ROOT / "README.md").read_text() + sections[""]
        elif command == "run":
            text = engine_options
        else:
            text = sections.get(command, "") + sections[""]
        code = "\n".join(ref.code_spans(text))
        for flag in flags:
            if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", code):
                missing.append(f"{command or 'otap-parquet'} {flag}")
    assert not missing, f"flags not in their docs: {sorted(missing)}"


def test_documented_flags_exist(commands):
    """Every `--flag` docs/cli.md names is a flag of some command, and every one
    engine.md's options table names a flag of `run`."""
    every = set().union(*commands.values())
    named = set(re.findall(r"`(--[a-z][\w-]*)", (ref.DOCS / "cli.md").read_text()))
    assert not named - every, f"docs/cli.md names no such flag: {sorted(named - every)}"
    engine_options = ref.markdown_sections((ref.DOCS / "engine.md").read_text())[""]
    named = set(re.findall(r"`(--?[a-z][\w-]*)", engine_options))
    wrong = sorted(named - commands["run"])
    assert not wrong, f"engine.md's options table names no flag of run: {wrong}"


# --- links ---------------------------------------------------------------------------

def test_relative_links_resolve():
    """Every relative link of the docs and READMEs names a file that exists and, with
    `#anchor`, a heading of it."""
    pages = sorted({*DOC_FILES, *ref.ROOT.glob("*.md"), *(ref.ROOT / "configs").glob("*.md")})
    broken = [f"{p.relative_to(ref.ROOT)}: {link}" for p in pages
              for link in ref.broken_links(p)]
    assert not broken, "\n".join(broken)


# Words the metrics sections show as code that are no metric: a label value, a
# config key, a command, upstream's naming.
NOT_METRICS = {"transport", "retention", "run", "wait_for_result", "orphan_grace_period",
               "otel_scope_*"}


def test_short_metric_names_in_metrics_sections_exist(declared):
    """The metrics sections of the pages and READMEs name metrics without their
    `otap_node_` prefix (`otap_arrow_batches`, under "`otap_node_parquet_*`:"
    `files_read`); each must still be the end of a declared name, with or without
    `_total`, or a label name."""
    tails = set()
    for name in declared:
        base = name[len("otap_node_"):]
        tails.update({base, base.removesuffix("_total")})
    labels = COMMON_LABELS | {m.label for m in declared.values() if m.label}

    def exists(name):
        if name.endswith(("*", "_")):
            prefix = name.rstrip("*")
            return any(t.startswith(prefix) or f"_{prefix}" in t for t in tails)
        return any(t == name or t.endswith(f"_{name}") for t in tails)

    wrong = [f"{path.relative_to(ref.ROOT)}: {name}" for path in DOC_FILES
             for name in ref.metric_section_names(path)
             if name not in labels | NOT_METRICS
             and not all(exists(n) for n in ref.expand_braces(name))]
    assert not wrong, "\n".join(wrong)


# --- shipped configs -----------------------------------------------------------------

CONFIG_FILES = sorted((ref.ROOT / "configs").glob("*.yaml"))


def test_every_shipped_config_is_listed():
    """configs/README.md has a row per configs/*.yaml, and only those; each
    environment variable a row names is one its file reads."""
    rows = {row[0].strip("`"): row
            for table in ref.markdown_tables((ref.ROOT / "configs" / "README.md").read_text(),
                                             "File")
            for row in table[1:]}
    assert sorted(rows) == [p.name for p in CONFIG_FILES]
    wrong = [f"{name}: {var}" for name, row in rows.items()
             for var in re.findall(r"OTAP_[A-Z_]+", " ".join(row))
             if f"${{env:{var}" not in (ref.ROOT / "configs" / name).read_text()]
    assert not wrong, wrong


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.name)
def test_shipped_config_validates(run, path):
    """Every shipped config passes `run --validate-and-exit`."""
    run("run", "-c", path, "--validate-and-exit")


def test_documented_node_configs_validate(cli, tmp_path):
    """Every node configuration the config references show as YAML (a node with
    `type` and `config`, or a bare block in a node's README or section) passes the
    node's validation, but for the files it names (certificates, keys), which do
    not exist here, and the addresses two examples share (all are validated as one
    pipeline). Their `${env:...}` variables are set."""
    kinds = list(ref.BASE_CONFIGS)
    pages = sorted({p for kind in kinds for p in ref.config_docs(kind)})
    examples = ref.node_examples(pages, kinds)
    assert len(examples) > 10
    nodes = {f"e{i}": {"type": kind, "config": config}
             for i, (_, kind, config) in enumerate(examples)}
    file = tmp_path / "examples.yaml"
    file.write_text(yaml.safe_dump({"version": "otel_dataflow/v1", "groups": {"default": {
        "pipelines": {"main": {"nodes": nodes, "connections": []}}}}}, sort_keys=False))
    env = {var: "placeholder" for var in re.findall(r"\$\{env:(\w+)\}", file.read_text())}
    proc = subprocess.run([str(cli), "run", "-c", str(file), "--validate-and-exit"],
                          capture_output=True, text=True, env={**ref.CLI_ENV, **env},
                          timeout=60)
    wrong = []
    for line in proc.stderr.splitlines():
        m = re.search(r"nodes\.e(\d+)\.config\S* \(line \d+\): (.*)", line)
        if m and not re.search(r"does not exist|cannot read|is also the listening address",
                               m.group(2)):
            path, kind, _ = examples[int(m.group(1))]
            wrong.append(f"{path.relative_to(ref.ROOT)} ({kind}): {line.strip()}")
    assert not wrong, "\n".join(wrong)


# --- admin routes --------------------------------------------------------------------

def test_admin_routes_are_documented():
    """The admin server's routes (registered in admin/admin_server.cc) are those of
    engine.md's route table, method included."""
    source = (ref.SRC / "admin" / "admin_server.cc").read_text()
    served = {(m.upper(), path)
              for m, path in re.findall(r'server_->(Get|Post)\("([^"]+)"', source)}
    documented = set()
    for table in ref.markdown_tables((ref.DOCS / "engine.md").read_text(), "Route"):
        for row in table[1:]:
            method = row[0].strip("`").split()[0]
            for path in re.findall(r"`(?:[A-Z]+ )?(/[^`?\s]*)", row[0]):
                documented.add((method, path))
    assert len(served) >= 8
    assert sorted(served) == sorted(documented)


def test_key_tables_name_accepted_keys(accepted_keys):
    """Every key in the first column of a config reference's `| Key |` table (the
    OTLP exporters', receiver:parquet's) is one its node's reader accepts."""
    kinds = list(ref.BASE_CONFIGS)
    pages = sorted({p for kind in kinds for p in ref.config_docs(kind)})
    rows = [(page, kind, key) for page in pages for kind, key in ref.key_table_keys(page, kinds)]
    assert len(rows) > 30
    wrong = [f"{page.relative_to(ref.ROOT)} ({kind}): {key}" for page, kind, key in rows
             if key not in accepted_keys[kind]]
    assert not wrong, "\n".join(wrong)
