# SPDX-License-Identifier: Apache-2.0
"""--progress (cli/progress.h): a status line with counts on stderr with `always`,
nothing with `never` or with `auto` when stderr is not a terminal (these tests' pipes);
with `auto` on a pseudo-terminal the line appears."""
import os
import pty
import re
import subprocess

import pytest


@pytest.fixture(scope="module")
def source(tmp_path_factory, cli):
    tmp = tmp_path_factory.mktemp("progress")
    src = tmp / "logs.jsonl"
    subprocess.run([str(cli), "generate", src, "--signal", "logs", "--requests", "3",
                    "--items", "20"], check=True, capture_output=True)
    return src


@pytest.fixture
def run(cli):
    """As conftest's, but stderr keeps its '\r' (text mode would turn it into '\n')."""

    def _run(*args, check=True):
        proc = subprocess.run([str(cli), *map(str, args)], capture_output=True)
        proc.stdout = proc.stdout.decode()
        proc.stderr = proc.stderr.decode()
        if check and proc.returncode != 0:
            raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
        return proc

    return _run


def status_lines(stderr):
    """The last drawn state of each status line ('\\r'-separated redraws)."""
    return [line.split("\r")[-1].rstrip() for line in stderr.split("\n") if "\r" in line]


def records(src):
    return sum(line.count('"timeUnixNano"') for line in src.read_text().splitlines())


def test_convert_always_shows_records_and_bytes(run, source, tmp_path):
    proc = run("convert", source, tmp_path / "lake", "--progress=always")
    lines = status_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    n = records(source)
    size = source.stat().st_size
    assert re.match(rf"convert: {n} records, .*B/.*B, .*/s, done in [0-9.]+s$", lines[0]), lines
    assert f"{size} B" in lines[0] or "KiB" in lines[0] or "MiB" in lines[0]


@pytest.mark.parametrize("mode", ["never", "auto"])
def test_convert_quiet_when_never_or_not_a_terminal(run, source, tmp_path, mode):
    proc = run("convert", source, tmp_path / "lake", f"--progress={mode}")
    assert "\r" not in proc.stderr and "records," not in proc.stderr


def test_replay_convert_always(run, source, tmp_path):
    run("convert", source, tmp_path / "lake")
    proc = run("convert", tmp_path / "lake", tmp_path / "out.jsonl", "--progress", "always")
    assert status_lines(proc.stderr)[0].startswith(f"convert: {records(source)} records")


def test_repair_and_inspect_check_count_files(run, source, tmp_path):
    run("convert", source, tmp_path / "lake", "--rows-per-file", "20")
    files = [p for p in (tmp_path / "lake").rglob("*.parquet")]
    size = sum(p.stat().st_size for p in files)
    for args, label in ((["repair"], "repair"), (["inspect", "--check"], "check")):
        proc = run(*args, tmp_path / "lake", "--progress=always")
        lines = status_lines(proc.stderr)
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith(f"{label}: {len(files)}/{len(files)} files, "), lines
        assert "done in" in lines[0]
        quiet = run(*args, tmp_path / "lake")
        assert "\r" not in quiet.stderr
    assert size > 0


def test_compact_counts_old_files(run, source, tmp_path):
    """`compact --progress`: the old files of the partitions it compacts, read (per
    file copied), with bytes and the time; quiet without a terminal."""
    lake = tmp_path / "lake"
    run("convert", source, lake, "--rows-per-file", "20")
    files = list(lake.rglob("*.parquet"))
    size = sum(p.stat().st_size for p in files)
    quiet = run("compact", lake, "--older-than", "0s", "--dry-run", "--progress=always",
                check=False)
    assert quiet.returncode == 3 and "\r" not in quiet.stderr  # a dry run reads nothing
    proc = run("compact", lake, "--older-than", "0s", "--progress=always")
    lines = status_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"compact: {len(files)}/{len(files)} files, "), lines
    assert "done in" in lines[0] and size > 0
    # Nothing left to compact: no line of work; by default (not a terminal) no line.
    run("compact", tmp_path / "lake", "--older-than", "0s", "--grace", "0s")
    assert "\r" not in run("compact", lake, "--older-than", "0s").stderr


def test_inspect_without_check_draws_nothing(run, source, tmp_path):
    run("convert", source, tmp_path / "lake")
    assert "\r" not in run("inspect", tmp_path / "lake", "--progress=always").stderr


def test_auto_draws_on_a_terminal(cli, source, tmp_path):
    """stderr a pseudo-terminal: auto shows the line."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([str(cli), "convert", str(source), str(tmp_path / "lake")],
                              stdout=subprocess.PIPE, stderr=slave, timeout=120)
        os.close(slave)
        slave = None
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0
    assert f"convert: {records(source)} records".encode() in out


def test_bad_mode_is_an_error(run, source, tmp_path):
    proc = run("convert", source, tmp_path / "lake", "--progress=sometimes", check=False)
    assert proc.returncode == 2 and "--progress: expected auto, always or never" in proc.stderr
