# SPDX-License-Identifier: Apache-2.0
"""What the code declares and what the docs say, read from both, for
tests/test_docs_reference.py: the metric declarations in the source (every node's
`metrics.h`, the engine's own counters in `engine/metrics.cc`) and the metric
tables of docs/metrics.md; the config keys the strict readers accept (asked of
`run --validate-and-exit`) and the names and YAML examples of the config
references; the commands and flags of `--help` and docs/cli.md's sections; the
relative links of the docs."""
import copy
import dataclasses
import os
import pathlib
import re
import subprocess

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent

# The CLI's environment: with JE_ARROW_MALLOC_CONF set (to its own default) it does
# not execute itself again at start, which halves the many short runs here.
CLI_ENV = {**os.environ,
           "JE_ARROW_MALLOC_CONF": os.environ.get("JE_ARROW_MALLOC_CONF",
                                                  "dirty_decay_ms:10000,muzzy_decay_ms:-1")}
SRC = ROOT / "src" / "otap_parquet"
DOCS = ROOT / "docs"


@dataclasses.dataclass(frozen=True)
class Metric:
    name: str  # as rendered: otap_node_<name>[_total]
    kind: str  # counter | gauge
    unit: str  # UCUM as declared; "" for the engine's own counters
    label: str  # the one extra label, "" for none
    help: str = dataclasses.field(compare=False, default="")


def _literal_args(text, start):
    """The arguments of the call whose '(' is at text[start], as a list of strings:
    adjacent string literals joined, anything else kept verbatim (stripped)."""
    args, current, depth, i = [], [], 0, start + 1
    literal = None
    while i < len(text):
        c = text[i]
        if c == '"':
            end = i + 1
            while text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            value = text[i + 1:end].encode().decode("unicode_escape")
            literal = (literal or "") + value
            i = end + 1
            continue
        if depth == 0 and c in ",)":
            args.append(literal if literal is not None else "".join(current).strip())
            current, literal = [], None
            if c == ")":
                return args
        else:
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
            if not c.isspace() or current:
                current.append(c)
        i += 1
    raise ValueError("unbalanced call")


def _rendered(name, counter):
    return f"otap_node_{name}{'_total' if counter else ''}"


def declared_metrics():
    """{rendered name: Metric} of every metric the engine can emit, from the source."""
    metrics = {}

    def add(metric):
        old = metrics.get(metric.name)
        assert old is None or old == metric, f"{metric.name} declared twice, differently"
        metrics[metric.name] = metric

    # The engine's own per-node counters: `{"name", "help", counter, &member}`.
    text = (SRC / "engine" / "metrics.cc").read_text()
    fields = text[text.index("const Field kFields[]"):]
    fields = fields[:fields.index("};")]
    for m in re.finditer(r'\{"(\w+)",\s*((?:"[^"]*"\s*)+),\s*(true|false),', fields):
        help_text = "".join(re.findall(r'"([^"]*)"', m.group(2)))
        add(Metric(_rendered(m.group(1), m.group(3) == "true"),
                   "counter" if m.group(3) == "true" else "gauge", "", "", help_text))

    # Node metrics: `engine::Counter|Gauge("name", "unit", "help"[, "label"])` in the
    # nodes' metrics.h; those inside a `constexpr T F(std::string_view prefix)` body
    # are a set shared under several prefixes, one per `F("prefix")` elsewhere.
    files = {p: p.read_text() for p in sorted((SRC / "nodes").rglob("metrics.h"))}
    templates = {}  # function name -> (file, body start, body end)
    for path, text in files.items():
        for m in re.finditer(r"constexpr \w+ (\w+)\(std::string_view prefix\) \{", text):
            depth, i = 1, m.end()
            while depth:
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                i += 1
            templates[m.group(1)] = (path, m.end(), i)
    prefixes = {name: set() for name in templates}
    for text in files.values():
        for name in templates:
            prefixes[name].update(re.findall(rf'\b{name}\("(\w*)"\)', text))
    for path, text in files.items():
        for m in re.finditer(r"engine::(Counter|Gauge)\(", text):
            args = _literal_args(text, m.end() - 1)
            name, unit, help_text = args[:3]
            label = args[3] if len(args) > 3 else ""
            counter = m.group(1) == "Counter"
            names = [name]
            for function, (tpath, begin, end) in templates.items():
                if tpath == path and begin <= m.start() < end:
                    names = [p + name for p in sorted(prefixes[function])]
            for full in names:
                add(Metric(_rendered(full, counter), m.group(1).lower(), unit, label,
                           help_text))
    return metrics


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def markdown_tables(text, header_first):
    """Rows (lists of cells) of every table in `text` whose first header cell is
    `header_first`, with that header as the first row of each."""
    tables, rows, inside = [], None, False
    for line in text.splitlines():
        if line.startswith("|"):
            cells = _cells(line.replace("\\|", "\0"))
            cells = [c.replace("\0", "|") for c in cells]
            if rows is None:
                rows = [cells]
                inside = cells[0] == header_first
            elif inside and not set(line.replace("|", "").strip()) <= set("-: "):
                rows.append(cells)
        else:
            if rows is not None and inside:
                tables.append(rows)
            rows, inside = None, False
    if rows is not None and inside:
        tables.append(rows)
    return tables


def documented_metrics(path=DOCS / "metrics.md"):
    """[(Metric, section)] of every row of docs/metrics.md's metric tables
    (`| Metric | Type | Unit | Label | Meaning |`), a row naming one metric."""
    documented, heading = [], ""
    for part in re.split(r"^(#+ .*)$", path.read_text(), flags=re.M):
        if re.match(r"^#+ ", part):
            heading = part.lstrip("#").strip()
            continue
        for table in markdown_tables(part, "Metric"):
            header = table[0]
            assert header[:4] == ["Metric", "Type", "Unit", "Label"], header
            for row in table[1:]:
                unquote = [c.strip("`") if c not in ("—", "") else "" for c in row]
                documented.append(
                    (Metric(unquote[0], unquote[1], unquote[2], unquote[3], row[4]), heading))
    return documented


def expand_braces(name):
    """`a_{b,c}_d` -> [a_b_d, a_c_d] (nested forms are not used)."""
    m = re.search(r"\{([^{}]*,[^{}]*)\}", name)
    if not m:
        return [name]
    return [x for alt in m.group(1).split(",")
            for x in expand_braces(name[:m.start()] + alt.strip() + name[m.end():])]


def metric_mentions(line):
    """(name, is_prefix) of every `otap_node_...` metric name in a line of prose,
    with its brace alternatives kept (`otap_node_otlp_{grpc,http}_x_total`) and a
    label part left out (`..._total{signal}`, `{reason=a|b}`); is_prefix when the
    name is cut short (`otap_node_parquet_*`, `otap_node_otlp_grpc_*`)."""
    mentions = []
    for m in re.finditer(r"otap_node_", line):
        i, name = m.start(), ""
        while i < len(line):
            c = line[i]
            if c.isalnum() or c == "_":
                name += c
                i += 1
            elif c == "{":
                end = line.find("}", i)
                inner = line[i + 1:end]
                if end < 0 or "," not in inner or "=" in inner:
                    break  # a label part, not alternatives
                name += line[i:end + 1]
                i = end + 1
            else:
                break
        rest = line[i:i + 3]
        is_prefix = name.endswith("_") or rest.startswith("*") or rest.startswith("..")
        if name in ("otap_node_", "otap_node") or "<" in line[i:i + 1]:
            continue  # a pattern such as otap_node_<name>_total
        mentions.append((name, is_prefix))
    return mentions


def enumerated_values(meaning, label):
    """The values a metrics.md Meaning cell lists as `label=a|b|c`; None if none."""
    m = re.search(rf"`{label}=([\w|]+)`", meaning)
    return set(m.group(1).split("|")) if m else None


# --- config keys -------------------------------------------------------------------

# A key no reader knows and no known key is near (so the error lists every known
# key of its mapping: "unknown key; expected one of a, b, c").
PROBE = "zz_docs_reference_probe_key_zz"

# Configs each node kind accepts, so that a reader that returns early on a missing
# required key still reads (and so lists) every other key; several where settings
# exclude each other (one storage backend), each probed on its own.
_STORAGES = [{"file": {"base_uri": "lake"}}, {"s3": {"base_uri": "s3://b/lake"}},
             {"gcs": {"base_uri": "gs://b/lake"}},
             {"azure": {"base_uri": "abfs://c@a.dfs.core.windows.net/lake"}}]
BASE_CONFIGS = {
    "receiver:otlp": [{"protocols": {"grpc": {"listening_addr": "127.0.0.1:0"}}}],
    "receiver:otap": [{"listening_addr": "127.0.0.1:0"}],
    "receiver:parquet": [{"base_uri": "lake"}, *({"storage": s} for s in _STORAGES)],
    "receiver:traffic_generator": [{"traffic_config": {"log_weight": 1}}],
    "processor:batch": [{}],
    "processor:debug": [{}],
    "exporter:parquet": [{"storage": s} for s in _STORAGES],
    "exporter:otlp_grpc": [{"grpc_endpoint": "http://127.0.0.1:4317"}],
    "exporter:otlp_http": [{"endpoint": "http://127.0.0.1:4318"}],
    "exporter:otap": [{"grpc_endpoint": "http://127.0.0.1:4317"}],
    "exporter:file": [{"path": "out.jsonl"}],
    "exporter:console": [{}],
    "exporter:noop": [None],
}

_UNKNOWN = re.compile(r"^(\S*?)\.?" + PROBE +
                      r" \(line \d+\): unknown key(?:; expected one of (.*))?$")
_NODE_CONFIG = re.compile(r"^groups\.default\.pipelines\.main\.nodes\.(p\d+)\.config\.?")
_PIPELINE = ("groups", "default", "pipelines", "main")

# Where the engine's own config has mappings under names the user chooses: a group,
# a pipeline, a node, a connection (the `pe` node and its connection are in every
# probe document).
ENGINE_ROOTS = [(), ("groups", "default"), _PIPELINE, (*_PIPELINE, "nodes", "pe"),
                (*_PIPELINE, "connections", "[]"),
                ("policies", "resources", "core_allocation", "set", "[]")]

# Keys of the engine's config a probe must not turn into a mapping: the format and
# the probe node's type (each probe run would be one other config).
_ENGINE_SCALARS = {("version",), (*_PIPELINE, "nodes", "pe", "type")}


def _with_probe(config, path, as_list):
    """`config` (changed in place) with {PROBE: 1} (or [{PROBE: 1}]) at `path` (a
    list of keys, "[]" for the first item of a list)."""
    node = config
    for i, key in enumerate(path):
        if key == "[]":
            continue
        if i + 1 < len(path) and path[i + 1] == "[]":
            if not (isinstance(node.get(key), list) and node[key]
                    and isinstance(node[key][0], dict)):
                node[key] = [{}]
            node = node[key][0]
        else:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
    if as_list:
        # Replaces the mapping just reached by a list holding the probe.
        parent = config
        for key in path[:-1]:
            parent = parent[0] if key == "[]" else parent[key]
        parent[path[-1]] = [{PROBE: 1}]
    else:
        node[PROBE] = 1
    return config


def _legacy_document():
    """The older single-pipeline format, with a node `pe` that has an output port."""
    return {"settings": {}, "nodes": {"pe": {
        "kind": "processor", "plugin_urn": "urn:otel:debug:processor",
        "out_ports": {"out": {"destinations": ["pe"]}}}}}


# Named positions of the older format: its node and its output port.
LEGACY_ROOTS = [(), ("nodes", "pe"), ("nodes", "pe", "out_ports", "out")]


def _show(subject, path):
    shown = ".".join(path).replace(".[]", "[]")
    if subject == "engine":
        shown = re.sub(r"^groups\.default", "groups.<group>", shown)
        shown = shown.replace("pipelines.main", "pipelines.<pipeline>")
    shown = shown.replace("nodes.pe", "nodes.<node>")
    return shown.replace("out_ports.out", "out_ports.<port>")


def accepted_config_keys(cli, tmp_path):
    """{subject: {dotted key path}} of every key the strict config readers accept:
    per node kind (keys of its `config`), "engine" (the config file's own keys,
    `groups.<group>.pipelines.<pipeline>.nodes.<node>.type`) and "engine-legacy"
    (the older single-pipeline format's), "a[].b" for keys of a list's items. Found
    by asking `run --validate-and-exit` about an unknown key in every mapping: the
    reader's error lists the keys it knows there. Three runs per depth (the probes
    as mappings, as lists, and those of the older format)."""

    accepted = {kind: set() for kind in BASE_CONFIGS}
    accepted["engine"] = set()
    accepted["engine-legacy"] = set()
    frontier = ([((kind, i), ()) for kind, bases in BASE_CONFIGS.items()
                 for i in range(len(bases))] +
                [("engine", root) for root in ENGINE_ROOTS] +
                [("engine-legacy", root) for root in LEGACY_ROOTS])
    seen = set(frontier)
    runs = 0
    while frontier:
        found = []
        for pass_ in ("map", "list", "legacy"):
            as_list = pass_ == "list"
            probes, nodes = {}, {}
            # A core_set allocation: its ranges are read only then.
            document = {"version": "otel_dataflow/v1", "policies": {"resources": {
                "core_allocation": {"type": "core_set", "set": [{"start": 0, "end": 0}]}}},
                "groups": {"default": {
                    "pipelines": {"main": {"nodes": nodes, "connections": [
                        {"from": "pe", "to": "pe"}]}}}}}
            if pass_ == "legacy":
                document = _legacy_document()
            for subject, path in frontier:
                if (subject == "engine-legacy") != (pass_ == "legacy"):
                    continue
                if subject in ("engine", "engine-legacy"):
                    # Their lists of mappings are roots: mapping probes only.
                    if not as_list and path not in _ENGINE_SCALARS:
                        probes[path] = (subject, path)
                    continue
                if as_list and (not path or path[-1] == "[]"):
                    continue
                node_id = f"p{len(nodes)}"
                probes[node_id] = (subject, path)
                base = copy.deepcopy(BASE_CONFIGS[subject[0]][subject[1]])
                config = (_with_probe(base if isinstance(base, dict) else {}, list(path),
                                      as_list) if path or isinstance(base, dict)
                          else {PROBE: 1})
                nodes[node_id] = {"type": subject[0], "config": config}
            if pass_ != "legacy":
                nodes["pe"] = {"type": "exporter:noop"}
            for key, (subject, path) in probes.items():
                if subject in ("engine", "engine-legacy"):
                    _with_probe(document, list(path), as_list)
            if not probes:
                continue
            file = tmp_path / f"probe-{runs}.yaml"
            runs += 1
            assert runs < 30, frontier
            file.write_text(yaml.safe_dump(document, sort_keys=False))
            proc = subprocess.run([str(cli), "run", "-c", str(file), "--validate-and-exit"],
                                  capture_output=True, text=True, env=CLI_ENV, timeout=60)
            assert proc.returncode == 2, proc.stdout + proc.stderr
            for line in proc.stderr.splitlines():
                m = _UNKNOWN.match(line.strip())
                if not m or not m.group(2):
                    continue  # not a probe, or a mapping without keys (noop)
                where = m.group(1)
                node = _NODE_CONFIG.match(where + ".")
                if node and node.group(1) in probes:
                    subject, path = probes[node.group(1)]
                else:
                    where = re.sub(r"\[0\]", ".[]", where)
                    key = tuple(k for k in where.split(".") if k)
                    if as_list:
                        key = key[:-1]  # the list item's path ends in "[]"
                    if key not in probes:
                        continue
                    subject, path = probes[key]
                for known in m.group(2).split(", "):
                    child = (*path, "[]", known) if as_list else (*path, known)
                    found.append((subject, child))
        frontier = []
        for subject, child in found:
            kind = subject if isinstance(subject, str) else subject[0]
            accepted[kind].add(_show(kind, child))
            if (subject, child) not in seen:
                seen.add((subject, child))
                frontier.append((subject, child))
    return accepted


def _node_readme(kind):
    role, name = kind.split(":")
    folder = {"otlp_grpc": "otlp", "otlp_http": "otlp"}.get(name, name)
    return SRC / "nodes" / f"{role}s" / folder / "README.md"


# The pages that document each node kind in full, besides its README.
_PAGES = {"receiver:parquet": ["datasets.md", "operations.md"],
          "exporter:parquet": ["datasets.md", "operations.md"],
          "receiver:otap": ["otap.md"], "exporter:otap": ["otap.md"]}
# engine.md's sections of a node kind.
_ENGINE_SECTIONS = {"receiver:otlp": ["OTLP receiver"],
                    "exporter:otlp_grpc": ["OTLP exporters"],
                    "exporter:otlp_http": ["OTLP exporters"],
                    "exporter:otap": ["OTLP exporters"]}


def config_docs(kind):
    """The pages of a node kind's config reference: its README, engine.md and its
    own pages (the engine's: engine.md)."""
    if kind.startswith("engine"):
        return [DOCS / "engine.md"]
    return [_node_readme(kind), DOCS / "engine.md",
            *[DOCS / p for p in _PAGES.get(kind, [])]]


def config_texts(kind):
    """The text of a node kind's config reference: its README, its pages, and of
    engine.md only its sections and the table rows that name it first (the
    built-in nodes, the keys accepted but not applied)."""
    if kind.startswith("engine"):
        return [(DOCS / "engine.md").read_text()]
    engine = (DOCS / "engine.md").read_text()
    sections = markdown_sections(engine)
    rows = [line for line in engine.splitlines()
            if line.startswith("|") and f"`{kind}`" in line.split("|")[1]]
    return ([_node_readme(kind).read_text()] +
            [(DOCS / p).read_text() for p in _PAGES.get(kind, [])] +
            ["\n".join(rows)] + [sections[h] for h in _ENGINE_SECTIONS.get(kind, [])])


def code_spans(text):
    """The code of a Markdown text: fenced blocks and `inline` spans."""
    spans = re.findall(r"```[^\n]*\n(.*?)```", text, flags=re.S)
    rest = re.sub(r"```[^\n]*\n.*?```", "", text, flags=re.S)
    # An inline span may wrap onto the next line, never across a paragraph.
    return spans + re.findall(r"`((?:[^`\n]|\n(?!\n))+)`", rest)


def documented_names(texts):
    """(names, globs): identifiers Markdown texts show as code, in backticks or in
    a code block, and the globs among them (`tcp_*`, `initial_*_window_size`)."""
    names, globs = set(), set()
    for text in texts:
        for span in code_spans(text):
            for token in re.findall(r"[A-Za-z0-9_*]+", span):
                if "*" not in token:
                    names.add(token)
                elif len(token.replace("*", "")) >= 3:  # not `*` alone
                    globs.add(token)
    return names, globs


def _has_type(value):
    """Whether a YAML value holds a node (a mapping with `type`) anywhere."""
    if isinstance(value, dict):
        return "type" in value or any(_has_type(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_type(v) for v in value)
    return False


def node_examples(paths, kinds):
    """[(path, kind, config)] of every node configuration the YAML blocks of
    `paths` show: a mapping with `type` (one of `kinds`) and `config`, or a bare
    config block of a node kind (see config_examples()), which may be a part of
    one: it is completed with the kind's BASE_CONFIGS for the keys it lacks."""
    examples = []

    def visit(value, path):
        if isinstance(value, dict):
            if value.get("type") in kinds and isinstance(value.get("config"),
                                                         (dict, type(None))):
                examples.append((path, value["type"], value.get("config")))
            for v in value.values():
                visit(v, path)
        elif isinstance(value, list):
            for v in value:
                visit(v, path)

    for path in paths:
        heading = ""
        for part in re.split(r"^(#+ .*)$", path.read_text(), flags=re.M):
            if re.match(r"^#+ ", part):
                heading = part
                continue
            for block in re.findall(r"```ya?ml\n(.*?)```", part, flags=re.S):
                try:
                    value = yaml.safe_load(block)
                except yaml.YAMLError:
                    continue
                if (isinstance(value, dict) and not _has_type(value) and
                        not {"version", "groups", "nodes", "settings"} & set(value)):
                    examples += [(path, kind, {**(BASE_CONFIGS[kind][0] or {}), **value})
                                 for kind in kinds
                                 if path == _node_readme(kind) or f"`{kind}`" in heading]
                else:
                    visit(value, path)
    return examples


def config_examples(paths, kind):
    """Key paths of the `config:` of every YAML block of `paths` that configures a
    node of `kind` (`type: <kind>`), "a[].b" for keys of list items."""
    keys = set()

    def flatten(value, prefix):
        if isinstance(value, dict):
            for k, v in value.items():
                path = f"{prefix}.{k}" if prefix else str(k)
                keys.add(path)
                flatten(v, path)
        elif isinstance(value, list):
            for item in value:
                flatten(item, prefix + "[]")

    def visit(value):
        if isinstance(value, dict):
            if value.get("type") == kind and isinstance(value.get("config"), dict):
                flatten(value["config"], "")
            for v in value.values():
                visit(v)
        elif isinstance(value, list):
            for v in value:
                visit(v)

    for path in paths:
        # A block without `type` is a bare config of `kind` in its README, or in a
        # section of another page whose heading names it.
        heading = ""
        for part in re.split(r"^(#+ .*)$", path.read_text(), flags=re.M):
            if re.match(r"^#+ ", part):
                heading = part
                continue
            for block in re.findall(r"```ya?ml\n(.*?)```", part, flags=re.S):
                try:
                    value = yaml.safe_load(block)
                except yaml.YAMLError:
                    continue
                bare = (isinstance(value, dict) and not _has_type(value) and
                        not {"version", "groups", "nodes", "settings"} & set(value))
                if bare and (path == _node_readme(kind) or f"`{kind}`" in heading):
                    flatten(value, "")
                else:
                    visit(value)
    return keys


# --- command line --------------------------------------------------------------------

def parse_help(text):
    """(flags, subcommands) of a CLI11 --help text: every `-x`/`--name` of the
    Options section, the names of the Subcommands section."""
    flags, subcommands, section = set(), [], None
    for line in text.splitlines():
        if line and not line[0].isspace():
            section = line.rstrip(":").strip().lower() if line.endswith(":") else None
            continue
        entry = line.strip()
        if not entry:
            continue
        head = re.split(r"\s{2,}", entry)[0]
        if section == "options":
            flags.update(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", head))
        elif section == "subcommands":
            subcommands.append(head.split()[0])
    return flags, subcommands


def cli_commands(cli):
    """{command path ("", "convert", "partitions delete"): flags} of every command
    and subcommand, from `--help`; -h/--help left out."""
    commands = {}

    def visit(path):
        proc = subprocess.run([str(cli), *path, "--help"], capture_output=True, text=True,
                              env=CLI_ENV, timeout=30)
        assert proc.returncode == 0, proc.stderr
        flags, subcommands = parse_help(proc.stdout)
        commands[" ".join(path)] = flags - {"-h", "--help"}
        for sub in subcommands:
            visit([*path, sub])

    visit([])
    return commands


def markdown_sections(text, level="## "):
    """{heading: body} of the sections at `level`, plus "" for the text before the
    first one."""
    sections, heading, body = {}, "", []
    for line in text.splitlines():
        if line.startswith(level):
            sections[heading] = "\n".join(body)
            heading, body = line[len(level):].strip(), []
        else:
            body.append(line)
    sections[heading] = "\n".join(body)
    return sections


# --- links ---------------------------------------------------------------------------

def github_anchor(heading):
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces
    as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path):
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    found, counts = set(), {}
    for heading in re.findall(r"^#+ (.*)$", text, flags=re.M):
        anchor = github_anchor(heading)
        n = counts.get(anchor, 0)
        counts[anchor] = n + 1
        found.add(anchor if n == 0 else f"{anchor}-{n}")
    return found


def broken_links(path):
    """Relative links of a Markdown file whose file or anchor does not exist."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(target)
    return broken


def metric_section_names(path):
    """Names written as code in the metrics sections of a page (headings or a bold
    `**Metrics**` lead naming metrics or telemetry), without their label part:
    `files_read`, `otap_arrow_streams{outcome=...}` -> otap_arrow_streams. Dotted
    names (config keys, events), label-only spans and `otap_node_` names (checked
    whole elsewhere) are left out."""
    names, heading = [], ""
    for part in re.split(r"^(#+ .*|\*\*Metrics\*\*.*)$", path.read_text(), flags=re.M):
        if re.match(r"^(#+ |\*\*Metrics)", part):
            heading = part
            continue
        if not re.search(r"metric|telemetry", heading, re.I):
            continue
        for span in re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", part, flags=re.S)):
            m = re.match(r"^([a-z][a-z0-9_{},*]*?)(\{[a-z_]+(=[^}]*)?\})?$", span)
            if m and not m.group(1).startswith("otap_node_"):
                names.append(m.group(1))
    return names


def key_table_keys(path, kinds):
    """[(kind, key path)] of the first column of every `| Key |` table of a page,
    each table belonging to the node kind last named as code before it in its
    section (`exporter:otlp_grpc` keys:); braces expanded, globs left out."""
    found = []
    for section in re.split(r"^#+ ", path.read_text(), flags=re.M):
        lines = section.splitlines()
        for i, line in enumerate(lines):
            if not line.startswith("| Key |"):
                continue
            before = "\n".join(lines[:i])
            named = [(before.rfind(f"`{k}`"), k) for k in kinds if f"`{k}`" in before]
            if not named:
                continue
            kind = max(named)[1]
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                first = _cells(row)[0]
                for span in re.findall(r"`([^`]+)`", re.sub(r"\(alias .*?\)", "", first)):
                    if "*" not in span:
                        found += [(kind, key) for key in expand_braces(span)]
    return found
