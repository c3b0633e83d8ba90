# SPDX-License-Identifier: Apache-2.0
"""Background `otap-parquet run` engines for the tests (the `engine` fixture of
conftest.py) and the polling helpers they use: no fixed sleeps, only conditions
waited on with a deadline."""
import os
import re
import signal
import socket
import subprocess
import textwrap
import time
import urllib.error
import urllib.request


ADMIN_ADDRESS = re.compile(r"admin\.endpoint\.start address=(\S+)")


def http_get(address, path, method="GET", timeout=5):
    """(status, body) of a request to http://address/path; (None, error) if refused."""
    req = urllib.request.Request(f"http://{address}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError, socket.timeout) as e:
        return None, str(e)


def wait_until(condition, what, timeout=30, interval=0.02):
    """Polls `condition()` until it returns a truthy value (returned) or raises
    AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Engine:
    """One background `otap-parquet run`. stdout and stderr go to files under the
    test's tmp_path (never an unread pipe: a full pipe once stalled the engine)."""

    def __init__(self, cli, config, args, out_path, err_path, env=None):
        self.config = config
        self.out_path, self.err_path = out_path, err_path
        self.admin = None  # HOST:PORT of the admin server, once reported
        with open(out_path, "w") as out, open(err_path, "w") as err:
            self.proc = subprocess.Popen(
                [str(cli), "run", "-c", str(config), *map(str, args)], stdout=out,
                stderr=err, env=None if env is None else {**os.environ, **env})

    @property
    def returncode(self):
        return self.proc.poll()

    def stdout(self):
        return self.out_path.read_text(errors="replace")

    def stderr(self):
        return self.err_path.read_text(errors="replace")

    def tail(self, chars=4000):
        return (f"--- stdout ({self.out_path.name}) ---\n{self.stdout()[-chars:]}\n"
                f"--- stderr ({self.err_path.name}) ---\n{self.stderr()[-chars:]}")

    def check_running(self):
        if self.proc.poll() is not None:
            raise AssertionError(
                f"engine exited {self.proc.returncode} early:\n{self.tail()}")

    def admin_address(self, timeout=30):
        """The admin server's HOST:PORT, read from its `admin.endpoint.start` log."""
        if self.admin is None:
            def reported():
                self.check_running()
                m = ADMIN_ADDRESS.search(self.stderr())
                return m and m.group(1)
            self.admin = wait_until(reported, "admin.endpoint.start in the log", timeout)
        return self.admin

    def get(self, path, method="GET"):
        return http_get(self.admin_address(), path, method)

    def wait_ready(self, timeout=30):
        """Waits for GET /api/v1/readyz = 200 (every pipeline instance running, so
        every receiver listening)."""
        def ready():
            self.check_running()
            return self.get("/api/v1/readyz")[0] == 200
        wait_until(ready, "readyz 200", timeout)
        return self

    def metrics(self):
        status, text = self.get("/api/v1/metrics")
        assert status == 200, text
        return text

    def wait_log(self, needle, timeout=30):
        """Waits until stderr contains `needle`; returns the log."""
        def found():
            text = self.stderr()
            if needle in text:
                return text
            self.check_running()
            return None
        return wait_until(found, f"{needle!r} in the log", timeout)

    def wait(self, timeout=60):
        """Waits for the exit; returns the exit code."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"engine still running after {timeout}s:\n{self.tail()}")

    def stop(self, sig=signal.SIGTERM, timeout=60, expect=0):
        """Graceful shutdown by signal; asserts the exit code (unless expect is None)
        and returns it."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.wait(timeout)
        if expect is not None:
            assert code == expect, f"engine exited {code}:\n{self.tail()}"
        return code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def v1_config(nodes, connections, policies=""):
    """An `otel_dataflow/v1` config with the one pipeline `default/main`: `nodes`
    and `connections` are the YAML under `nodes:` and `connections:` (any common
    indentation is removed), `policies` the YAML under `policies:` if any."""
    def block(text, indent):
        return textwrap.indent(textwrap.dedent(text).strip("\n"), " " * indent)

    head = f"policies:\n{block(policies, 2)}\n" if policies else ""
    return (f"version: otel_dataflow/v1\n{head}groups:\n  default:\n    pipelines:\n"
            f"      main:\n        nodes:\n{block(nodes, 10)}\n"
            f"        connections:\n{block(connections, 10)}\n")
