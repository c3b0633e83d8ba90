# SPDX-License-Identifier: Apache-2.0
"""Reliability: the corrupt / odd-file corpus (corpus.py: ≥ 30 generated cases).

For every case, `otap-parquet convert DATASET out.jsonl` and a one-shot
`otap-parquet run` with receiver:parquet → exporter:file read the case's dataset
under a timeout. Guarantees: neither crashes (no signal) nor hangs; a bad entry is
reported with its path (`reported` cases), and convert's exit code then says input
was skipped (non-zero) while it still writes the good data; `ignored` entries give
exit 0; every good record (partitions A and B) is replayed exactly once and exactly
as written, and nothing that was never written comes out (e.g. empty records made
of a foreign file). The polling case adds and removes files and partitions while
receiver:parquet polls."""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import threading
import time

import pytest
from engines import wait_until

import corpus
import rel_common
from rel_common import replayed_records, summary

TIMEOUT = 60  # seconds per command: a hang fails the case
RESULTS = {}


@pytest.fixture(scope="module")
def base(cli, tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    good, victim = corpus.build_base(cli, root)
    return root, good, victim


def receiver_config(path, dataset, out, polling):
    config = {"version": "otel_dataflow/v1", "groups": {"default": {"pipelines": {"main": {
        "nodes": {
            "src": {"type": "receiver:parquet", "config": {
                "base_uri": str(dataset),
                **({"polling_interval": "100ms"} if polling else {}),
                "processing_options": {"batch_size": 7}}},
            "dst": {"type": "exporter:file", "config": {"path": str(out)}}},
        "connections": [{"from": "src", "to": "dst"}]}}}}}
    path.write_text(json.dumps(config, indent=1))
    return path


def check_output(name, text, good, victim, allow_foreign):
    """Problems of a replay's output: good records lost, duplicated or altered, and
    records that were never written."""
    counts, records = replayed_records(text)
    lost = [b for b in good if b not in counts]
    duplicates = sum(c - 1 for c in counts.values() if c > 1)
    misjoined = [b for b, canon in good.items() if b in records and records[b] != canon]
    foreign = [b for b in counts if b not in good and b not in victim]
    problems = []
    if lost:
        problems.append(f"{name}: {len(lost)} good records lost, e.g. {lost[:3]}")
    if duplicates:
        problems.append(f"{name}: {duplicates} duplicate records")
    if misjoined:
        problems.append(f"{name}: {len(misjoined)} good records altered, e.g. {misjoined[:3]}")
    if foreign and not allow_foreign:
        problems.append(f"{name}: records never written: {foreign[:3]}")
    return problems, len(lost), duplicates, len(misjoined)


def mentions(output, dataset, bad, located_by):
    """Whether the output names every bad entry by its path (relative to the
    dataset, with the separator before it, so that "spans" alone does not count),
    or, for values found bad only when a batch is converted, its partition."""
    if located_by == "partition":
        return all(p.parent.name in output for p in bad)
    return all(f"/{p.relative_to(dataset)}" in output for p in bad)


class Churn(threading.Thread):
    """Adds and removes junk files, valid-looking empty files and whole partitions
    in a dataset until stopped."""

    def __init__(self, dataset, victim_dir):
        super().__init__(daemon=True)
        self.dataset, self.victim_dir = dataset, victim_dir
        self.stop = threading.Event()
        self.rounds = 0

    def run(self):
        rnd = rel_common.rng("churn")
        while not self.stop.is_set():
            k = self.rounds
            junk = self.dataset / "logs" / self.victim_dir.name / f"{corpus.LATE}churn-{k}.parquet"
            part = self.dataset / "logs" / f"_part_id=zz-churn-{k}"
            try:
                junk.write_bytes(rnd.randbytes(rnd.randint(0, 2000)))
                part.mkdir()
                (part / "part-1-a.parquet").write_bytes(b"PAR1" + rnd.randbytes(100))
                time.sleep(rnd.uniform(0, 0.15))
                junk.unlink()
                shutil.rmtree(part)
            except OSError:
                pass
            self.rounds += 1
            time.sleep(rnd.uniform(0, 0.05))


@pytest.mark.parametrize("case", corpus.CASES, ids=lambda c: c.name)
def test_corpus_case(cli, base, tmp_path, case):
    root, good, victim = base
    dataset, bad = corpus.make_case(root, case)
    problems = []
    crashes = 0

    # convert
    out = tmp_path / "convert.jsonl"
    try:
        proc = subprocess.run([str(cli), "convert", str(dataset), str(out)], capture_output=True,
                              text=True, timeout=TIMEOUT)
        output = proc.stdout + proc.stderr
        if proc.returncode < 0:
            crashes += 1
            problems.append(f"convert killed by signal {-proc.returncode}:\n{output[-2000:]}")
        found, lost, dups, mis = check_output("convert", out.read_text() if out.exists() else "",
                                              good, victim, case.allow_foreign)
        problems += found
        if case.expect == "reported":
            if not mentions(output, dataset, bad, case.located_by):
                problems.append(f"convert does not name {[str(p) for p in bad]}:\n{output[-2000:]}")
            if proc.returncode <= 0:
                problems.append(f"convert exited {proc.returncode} although input was skipped")
        elif case.expect == "ignored" and proc.returncode != 0:
            problems.append(f"convert exited {proc.returncode}:\n{output[-2000:]}")
    except subprocess.TimeoutExpired:
        crashes += 1
        lost = dups = mis = 0
        problems.append(f"convert hangs (> {TIMEOUT}s)")

    # receiver:parquet (one-shot; polling with files appearing and vanishing)
    rout = tmp_path / "receiver.jsonl"
    config = receiver_config(tmp_path / "replay.yaml", dataset, rout, case.polling)
    err_path = tmp_path / "receiver.err"
    churn = None
    with open(err_path, "w") as err:
        proc = subprocess.Popen([str(cli), "run", "-c", str(config)], stdout=err, stderr=err)
        try:
            if case.polling:
                churn = Churn(dataset, corpus.victim_of(root, dataset).dir("logs"))
                churn.start()

                def all_good():
                    if proc.poll() is not None:
                        return True
                    counts, _ = replayed_records(rout.read_text() if rout.exists() else "")
                    return all(b in counts for b in good) and churn.rounds >= 20
                wait_until(all_good, "every good record with files churning", TIMEOUT)
                churn.stop.set()
                churn.join()
                proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=TIMEOUT)
        except (subprocess.TimeoutExpired, AssertionError):
            proc.kill()
            proc.wait()
            crashes += 1
            problems.append(f"receiver hangs (> {TIMEOUT}s)")
        finally:
            if churn is not None:
                churn.stop.set()
    log = err_path.read_text(errors="replace")
    if proc.returncode is not None and proc.returncode < 0 and proc.returncode != -signal.SIGKILL:
        crashes += 1
        problems.append(f"receiver killed by signal {-proc.returncode}:\n{log[-2000:]}")
    found, rlost, rdups, rmis = check_output("receiver", rout.read_text() if rout.exists() else "",
                                             good, victim, case.allow_foreign)
    problems += found
    if case.expect == "reported" and not mentions(log, dataset, bad, case.located_by):
        problems.append(f"receiver does not name {[str(p) for p in bad]}:\n{log[-2000:]}")

    RESULTS[case.name] = dict(records=2 * len(good), lost=lost + rlost,
                              duplicates=dups + rdups, misjoined=mis + rmis,
                              crashes=crashes, failed=bool(problems))
    assert not problems, f"case {case.name} ({case.expect}; {case.notes}):\n" + "\n".join(problems)


def test_corpus_summary():
    """Prints the corpus scenario's summary line (after the cases)."""
    if not RESULTS:
        pytest.skip("no corpus case ran")
    total = {k: sum(r[k] for r in RESULTS.values())
             for k in ("records", "lost", "duplicates", "misjoined", "crashes")}
    failed = sorted(n for n, r in RESULTS.items() if r["failed"])
    summary("corpus", cases=len(RESULTS), **total,
            failed_cases=len(failed), failed=",".join(failed) or "-")
    assert len(corpus.CASES) >= 30
