#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fails when a file of src/otap_parquet includes a folder its layer does not use.

The layer graph is the otap_layer() calls of src/otap_parquet/layers.cmake (one
library per folder, with DEPS, PRIVATE_DEPS and TEST_DEPS). A header may include
its own folder and the folders its library reaches through public dependencies
(DEPS); a .cc file also those of PRIVATE_DEPS; a test (*_test.cc, *_test_util.h)
also those of TEST_DEPS. This catches what the linker cannot: an include of a
header-only part of another folder. Also reports include cycles between folders.

Usage: scripts/check_layers.py [--graph]   (exit 1 on a violation)
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "otap_parquet"
LAYERS = SRC / "layers.cmake"
INCLUDE = re.compile(r'^\s*#\s*include\s+"otap_parquet/([^"]+)"', re.M)


def parse_layers(text):
    """{target: (folder, {"DEPS": [...], "PRIVATE_DEPS": [...], "TEST_DEPS": [...]})}"""
    text = re.sub(r"#.*", "", text)
    layers = {}
    for call in re.finditer(r"otap_layer\(([^)]*)\)", text):
        words = call.group(1).split()
        target, folder, rest = words[0], words[1], words[2:]
        groups = {"DEPS": [], "PRIVATE_DEPS": [], "TEST_DEPS": []}
        key = None
        for w in rest:
            if w in groups:
                key = w
            elif key:
                groups[key].append(w)
        layers[target] = (folder, groups)
    return layers


def public_closure(layers, targets):
    """Our targets reachable from `targets` through DEPS (what their headers give)."""
    seen, todo = set(), [t for t in targets if t in layers]
    while todo:
        t = todo.pop()
        if t in seen:
            continue
        seen.add(t)
        todo.extend(d for d in layers[t][1]["DEPS"] if d in layers)
    return seen


def folder_of(path, folders):
    """The longest layer folder containing `path` (relative to src/otap_parquet)."""
    parent = str(pathlib.PurePosixPath(path).parent)
    best = None
    for f in folders:
        if parent == f and (best is None or len(f) > len(best)):
            best = f
    return best


def main():
    layers = parse_layers(LAYERS.read_text())
    by_folder = {folder: target for target, (folder, _) in layers.items()}
    folders = set(by_folder)
    errors = []
    edges = {}
    for path in sorted(SRC.rglob("*")):
        if path.suffix not in (".h", ".cc") or not path.is_file():
            continue
        rel = path.relative_to(SRC).as_posix()
        if rel == "version.h.in":
            continue
        own = folder_of(rel, folders)
        if own is None:
            errors.append(f"{rel}: folder is not a layer in {LAYERS.relative_to(ROOT)}")
            continue
        target = by_folder[own]
        groups = layers[target][1]
        is_test = rel.endswith("_test.cc") or rel.endswith("_test_util.h")
        allowed = {target} | public_closure(layers, groups["DEPS"])
        if path.suffix == ".cc" or is_test:
            allowed |= public_closure(layers, groups["PRIVATE_DEPS"])
        if is_test:
            allowed |= public_closure(layers, groups["TEST_DEPS"] + ["otap_testing"])
        allowed_folders = {layers[t][0] for t in allowed}
        for inc in INCLUDE.findall(path.read_text(errors="replace")):
            if inc == "version.h":  # generated, the CLI's
                continue
            dep = folder_of(inc, folders)
            if dep is None:
                errors.append(f"{rel}: includes {inc}, which is in no layer")
                continue
            if dep != own and not is_test:
                edges.setdefault(own, set()).add(dep)
            if dep not in allowed_folders:
                kind = "test" if is_test else ("header" if path.suffix == ".h" else "source")
                errors.append(
                    f"{rel}: includes otap_parquet/{inc}, but {target} ({kind}) does not "
                    f"depend on {by_folder[dep]} ({dep}/); declare it in layers.cmake "
                    "or move the code down")
    # Folder cycles of the non-test include graph (zero by construction of the
    # allowed sets unless the declarations themselves have a cycle).
    cycles = []
    for start in sorted(edges):
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in sorted(edges.get(node, ())):
                if nxt == start:
                    cycles.append(" -> ".join(trail + [start]))
                elif nxt not in trail and nxt > start:
                    stack.append((nxt, trail + [nxt]))
    for c in cycles:
        errors.append(f"include cycle between folders: {c}")
    if "--graph" in sys.argv:
        for f in sorted(edges):
            print(f"{f} -> {', '.join(sorted(edges[f]))}")
        print(f"{len(layers)} layers, {sum(len(v) for v in edges.values())} folder edges, "
              f"{len(cycles)} cycles")
    for e in errors:
        print(f"check_layers: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
