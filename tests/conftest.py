# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures: the built CLI, one-shot runs, background engines, S3, real
OTLP clients (peers)."""
import os
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Every `otap-parquet run` of the suite starts its admin server on a free port
# instead of the default 127.0.0.1:8080, so that concurrent runs (and a developer's
# own engine) never compete for it. Tests that need a known port pass
# --http-admin-bind.
os.environ.setdefault("OTAP_PARQUET_HTTP_ADMIN_BIND", "127.0.0.1:0")


@pytest.fixture(scope="session")
def cli() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("OTAP_PARQUET_CLI", ROOT / "build" / "otap-parquet"))
    if not path.exists():
        pytest.fail(f"{path} not built: run scripts/setup.sh")
    return path


@pytest.fixture
def run(cli):
    """Runs the CLI; returns the CompletedProcess (text mode)."""

    def _run(*args, check=True, timeout=None):
        # `timeout` (seconds): for runs that used to hang; raises TimeoutExpired.
        proc = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"otap-parquet {' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stderr}"
            )
        return proc

    return _run


@pytest.fixture
def s3_server():
    """A fresh moto S3 server process on 127.0.0.1 (stopped after the test)."""
    from s3_server import S3Server

    server = S3Server().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def object_store_peers():
    """{"fake-gcs-server": path, "azurite-blob": path} from scripts/build_peers.sh."""
    from otlp_clients import build_peers

    try:
        return build_peers("fake-gcs-server", "azurite-blob")
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture
def gcs_server(object_store_peers):
    """A fresh fake-gcs-server process on 127.0.0.1 (stopped after the test)."""
    from object_store_servers import GcsServer

    server = GcsServer(object_store_peers["fake-gcs-server"]).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def azurite_server(object_store_peers):
    """A fresh Azurite (Blob service) process on 127.0.0.1 (stopped after the test)."""
    from object_store_servers import AzuriteServer

    server = AzuriteServer(object_store_peers["azurite-blob"]).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def peers():
    """{"otelcol": path, "telemetrygen": path, "otelcol-otap": path}: real peers
    built from pinned sources by scripts/build_peers.sh (Go; cached in build/peers/
    after the first build, about 10 minutes cold, +7 for otelcol-otap)."""
    from otlp_clients import build_peers

    try:
        return build_peers()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)


def pytest_terminal_summary(terminalreporter):
    from otlp_clients import SUMMARIES

    if SUMMARIES:
        terminalreporter.section("real clients summary")
        for line in SUMMARIES:
            terminalreporter.write_line(line)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def engine(cli, tmp_path, request):
    """Starts background `otap-parquet run -c CONFIG [ARGS]`: returns a factory
    `engine(config, *args, name="engine", ready=True, env=None) -> Engine`. With
    ready=True it waits for the admin readyz. On teardown every engine still running
    gets SIGTERM (then SIGKILL after 30 s); if the test failed, the log tails are
    printed."""
    from engines import Engine

    started = []

    def start(config, *args, name="engine", ready=True, env=None):
        index = sum(1 for e in started if e.name == name)
        stem = name if index == 0 else f"{name}-{index}"
        e = Engine(cli, config, args, tmp_path / f"{stem}.out", tmp_path / f"{stem}.err",
                   env)
        e.name = name
        started.append(e)
        if ready:
            e.wait_ready()
        return e

    yield start
    for e in started:
        if e.proc.poll() is None:
            e.proc.terminate()
            try:
                e.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                e.proc.kill()
                e.proc.wait()
    failed = any(getattr(request.node, f"rep_{when}", None) is not None
                 and getattr(request.node, f"rep_{when}").failed
                 for when in ("setup", "call"))
    if failed:
        for e in started:
            print(f"=== engine {e.name} (exit {e.proc.returncode}) ===\n{e.tail()}")
