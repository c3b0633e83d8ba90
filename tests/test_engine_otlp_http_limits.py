# SPDX-License-Identifier: Apache-2.0
"""`receiver:otlp` under slow, idle, oversized and excess clients: OTLP/HTTP
connections that send nothing or drip their headers do not starve valid clients;
answers that the headers decide (413, 401) come before the body is sent; requests
waiting for their outcome hold no thread; refusals for load carry retry hints
(HTTP Retry-After, gRPC google.rpc.RetryInfo)."""
import concurrent.futures
import json
import select
import socket
import threading
import time

import grpc
import pytest

from engines import v1_config, wait_until
from s3_server import free_port
from test_engine_otlp_receiver import (LOGS_METHOD, OtlpPipeline, logs_request, metric,
                                       peak_rss,
                                       parquet_exporter, post, read_table, receiver_config)

RETRY_INFO = b"type.googleapis.com/google.rpc.RetryInfo"


@pytest.fixture
def engines(engine):
    return lambda *args, **kwargs: OtlpPipeline(engine, *args, **kwargs)


def noop():
    return {"type": "exporter:noop"}


def raw_request(port, head, timeout=10):
    """Sends `head` (request line and headers, no body) and returns the status line
    of the answer; the body is never sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head)
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer.split(b"\r\n", 1)[0].decode()


def test_idle_and_slow_drip_connections_do_not_starve(cli, tmp_path, engines):
    # Scenario: 64 connections that send nothing and 16 that send one header byte
    # every 0.5 s are open (more than the 8 threads the old server had), then a valid
    # client sends 10 requests, each on a new connection, and 10 on one keep-alive
    # connection.
    # Guarantees: every valid request gets 200 (10 s timeout each, so a starved
    # client fails instead of hanging); a dripping connection is closed by the header
    # deadline (10 s, bounded here by 60 s) and counted; the idle connections are
    # still open (they cost no thread).
    port = free_port()
    engine = engines(tmp_path, receiver_config(http_port=port), noop())
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
    stop = threading.Event()
    closed_by_server, sent = [], [0] * 16
    head = b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"

    def drip(k):
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            for i in range(1000):
                if stop.wait(0.5):
                    return
                try:
                    s.sendall(head[i % len(head):][:1])
                    sent[k] += 1
                except OSError:
                    closed_by_server.append(time.monotonic())
                    return

    drips = [threading.Thread(target=drip, args=(k,), daemon=True) for k in range(16)]
    for t in drips:
        t.start()
    try:
        wait_until(lambda: min(sent) >= 2, "every slow connection dripping")
        payload = logs_request(2, "valid").SerializeToString()
        statuses = [post(port, "/v1/logs", payload)[0] for _ in range(10)]
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(10):
            conn.request("POST", "/v1/logs", payload, {"Content-Type": "application/x-protobuf"})
            res = conn.getresponse()
            res.read()
            statuses.append(res.status)
        conn.close()
        assert statuses == [200] * 20
        # The header deadline ends the dripping connections.
        wait_until(lambda: len(closed_by_server) == 16, "dripping connections closed",
                   timeout=60)
        for s in idle:  # still open: the server neither closed nor answered them
            s.setblocking(False)
            with pytest.raises(BlockingIOError):
                s.recv(1)
    finally:
        stop.set()
        for s in idle:
            s.close()
    engine.stop()
    assert metric(engine.metrics, "otlp_http_connections_closed",
                  reason="header_timeout") >= 16
    assert metric(engine.metrics, "otlp_http_requests_completed", signal="logs") == 20


def test_connection_limits_are_config_keys(cli, tmp_path, engines):
    # Scenario: `max_connections: 3` and `read_header_timeout: 200ms`; three idle
    # connections are open, then a client sends a valid request on a fourth; once
    # the server has let go of the connection it closed and of the served one (the
    # open-connections gauge is 2), a fifth sends half of its headers and stops.
    # Guarantees: the fourth is served (200) after the server closed one idle
    # connection to make room (counted as connection_limit, exactly once: the fifth
    # finds room); the half-sent headers are dropped by the configured header
    # deadline (counted as header_timeout before the client sees the close), well
    # before the 10 s default could fire (the test waits at most 8 s for it).
    port = free_port()
    engine = engines(tmp_path, receiver_config(
        http_port=port, http_extra={"max_connections": 3,
                                    "read_header_timeout": "200ms"}), noop())
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    try:
        # The one I/O thread accepts in order: the three are in before the fourth.
        payload = logs_request(1, "valid").SerializeToString()
        assert post(port, "/v1/logs", payload)[0] == 200
        wait_until(lambda: metric(engine.run.metrics(), "otlp_http_connections") == 2,
                   "the closed and the served connections released")
        with socket.create_connection(("127.0.0.1", port), timeout=8) as s:
            s.sendall(b"POST /v1/logs HTTP/1.1\r\nHost:")
            assert s.recv(1) == b""  # closed by the server, unanswered
    finally:
        for s in idle:
            s.close()
    engine.stop()
    assert metric(engine.metrics, "otlp_http_connections_closed",
                  reason="connection_limit") == 1
    assert metric(engine.metrics, "otlp_http_connections_closed",
                  reason="header_timeout") == 1


def test_answered_connections_make_room_before_idle_ones(cli, tmp_path, engines):
    # Scenario: `max_connections: 2`; one idle connection is open, then a second
    # sends a valid request with `Connection: close`, reads its whole answer (the
    # server ends its side) and keeps its socket open, so that the server is still
    # draining it; then a third connection sends a valid request.
    # Guarantees: the third is served by taking the room of the answered
    # connection, not of the idle one (still open afterwards); no connection is
    # counted as closed for the connection limit: the answered one had its answer.
    port = free_port()
    engine = engines(tmp_path, receiver_config(
        http_port=port, http_extra={"max_connections": 2}), noop())
    payload = logs_request(1, "valid").SerializeToString()
    idle = socket.create_connection(("127.0.0.1", port))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as answered:
            answered.sendall(b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                             b"Content-Type: application/x-protobuf\r\nContent-Length: " +
                             str(len(payload)).encode() + b"\r\n\r\n" + payload)
            answer = b""
            while chunk := answered.recv(4096):  # until the server's end of stream
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200 "), answer
            # The server drains `answered` (open on our side) while the third comes.
            assert post(port, "/v1/logs", payload)[0] == 200
            # The one I/O thread ran any close of `idle` before serving the third.
            idle.setblocking(False)
            with pytest.raises(BlockingIOError):
                idle.recv(1)
    finally:
        idle.close()
    engine.stop()
    assert metric(engine.metrics, "otlp_http_connections_closed",
                  reason="connection_limit") == 0
    assert metric(engine.metrics, "otlp_http_requests_completed", signal="logs") == 2


def test_headers_decide_before_the_body_is_sent(cli, tmp_path, engines):
    # Scenario: raw requests that send only their headers: a Content-Length over
    # max_request_body_size (64 KiB), a missing bearer token, an unknown path.
    # Guarantees: each gets its answer (413, 401, 404) without the body ever being
    # sent; a valid request on a new connection is then served.
    port = free_port()
    engine = engines(tmp_path,
                     receiver_config(http_port=port,
                                     http_extra={"max_request_body_size": "64KiB"},
                                     auth={"bearer_token": "s3cret"}),
                     noop())
    base = b"Host: x\r\nContent-Type: application/x-protobuf\r\n"
    assert raw_request(port, b"POST /v1/logs HTTP/1.1\r\n" + base +
                       b"Authorization: Bearer s3cret\r\nContent-Length: 10000000\r\n\r\n") \
        == "HTTP/1.1 413 Payload Too Large"
    assert raw_request(port, b"POST /v1/logs HTTP/1.1\r\n" + base +
                       b"Content-Length: 1000\r\n\r\n") == "HTTP/1.1 401 Unauthorized"
    assert raw_request(port, b"POST /v2/logs HTTP/1.1\r\n" + base +
                       b"Content-Length: 1000\r\n\r\n") == "HTTP/1.1 404 Not Found"
    status, _, _ = post(port, "/v1/logs", logs_request(1).SerializeToString(),
                        headers={"Authorization": "Bearer s3cret"})
    assert status == 200
    engine.stop()
    assert metric(engine.metrics, "otlp_http_requests_rejected", reason="too_large") == 1
    assert metric(engine.metrics, "otlp_http_requests_rejected",
                  reason="unauthenticated") == 1


def test_waiting_requests_hold_no_thread(cli, tmp_path, engines):
    # Scenario: wait_for_result into exporter:parquet that publishes only at
    # shutdown: 24 HTTP requests (three times the thread pool of the old server)
    # wait for their outcome at once.
    # Guarantees: all 24 reach the exporter while waiting (none is queued behind a
    # busy thread); at shutdown each gets 200 and the dataset holds their logs.
    port = free_port()
    out = tmp_path / "out"
    wait = {"wait_for_result": True, "timeout": "60s"}
    engine = engines(tmp_path, receiver_config(http_port=port, http_extra=wait),
                     parquet_exporter(out, rows_per_file=1_000_000, flush="10m"))
    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        held = [pool.submit(post, port, "/v1/logs",
                            logs_request(2, f"held{i}").SerializeToString())
                for i in range(24)]
        wait_until(lambda: metric(engine.run.metrics(), "received_items", node="out") == 48,
                   "24 requests in the exporter", timeout=60)
        assert not any(f.done() for f in held)
        engine.stop()
        assert [f.result(timeout=60)[0] for f in held] == [200] * 24
    assert read_table(out, "logs").num_rows == 48


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_refusals_for_load_carry_retry_hints(cli, tmp_path, engines, protocol):
    # Scenario: max_concurrent_requests 1 with wait_for_result into an exporter that
    # publishes only at shutdown: one request is held, a second one arrives.
    # Guarantees: the second is refused at once, as the OTLP specification asks for
    # throttling: HTTP 429 with Retry-After (and the same delay as a
    # google.rpc.RetryInfo in its Status); gRPC RESOURCE_EXHAUSTED with a
    # google.rpc.RetryInfo detail (grpc-status-details-bin), which makes it
    # retryable for OTLP clients.
    port = free_port()
    out = tmp_path / "out"
    limits = {"wait_for_result": True, "timeout": "60s", "max_concurrent_requests": 1}
    receiver = (receiver_config(http_port=port, http_extra=limits) if protocol == "http"
                else receiver_config(grpc_port=port, grpc_extra=limits))
    engine = engines(tmp_path, receiver,
                     parquet_exporter(out, rows_per_file=1_000_000, flush="10m"))
    payload = logs_request(1).SerializeToString()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(LOGS_METHOD)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            if protocol == "http":
                held = pool.submit(post, port, "/v1/logs", payload)
            else:
                held = pool.submit(call, payload, timeout=60)
            wait_until(lambda: metric(engine.run.metrics(), "received_items",
                                      node="out") == 1, "one request held")
            if protocol == "http":
                status, headers, body = post(port, "/v1/logs", payload)
                assert status == 429 and int(headers["Retry-After"]) >= 1
                assert b"max_concurrent_requests=1" in body
                from google.rpc.status_pb2 import Status
                rpc_status = Status()
                rpc_status.ParseFromString(body)
                assert retry_delay(rpc_status) == int(headers["Retry-After"])
            else:
                with pytest.raises(grpc.RpcError) as refused:
                    call(payload, timeout=10)
                assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                details = dict(refused.value.trailing_metadata() or ()).get(
                    "grpc-status-details-bin", b"")
                assert RETRY_INFO in details
            engine.stop()
            held.result(timeout=60)


def test_full_pipeline_is_refused_with_retry_hints(cli, tmp_path, engines):
    # Scenario: a pdata channel of 1 and an exporter:otlp_http with one request in
    # flight to a peer that accepts the connection and never answers: two requests fill
    # the exporter and the channel; a third HTTP request and then a gRPC call wait
    # `timeout` (1 s) for channel space. (The second is sent once the exporter holds
    # the first, and the exporter's own timeout, 60 s, outlasts the test: a busy
    # machine could otherwise find the channel still full, or free again.)
    # Guarantees: both are refused as throttled: HTTP 429 with Retry-After, gRPC
    # RESOURCE_EXHAUSTED with a google.rpc.RetryInfo detail; counted "exhausted".
    gport, hport = free_port(), free_port()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # connections are accepted by the kernel, never answered
    quick = {"timeout": "1s"}
    exporter = {"type": "exporter:otlp_http",
                "config": {"endpoint": f"http://127.0.0.1:{silent.getsockname()[1]}",
                           "max_in_flight": 1, "http": {"timeout": "60s"},
                           "retry_on_failure": {"enabled": False}}}
    engine = engines(tmp_path, receiver_config(gport, hport, grpc_extra=quick,
                                               http_extra=quick),
                     exporter, policies={"channel_capacity": {"pdata": 1}})
    payload = logs_request(1).SerializeToString()
    assert post(hport, "/v1/logs", payload)[0] == 200  # taken by the exporter
    wait_until(lambda: metric(engine.run.metrics(), "received_batches", node="out") == 1,
               "the exporter holding the first request")
    assert post(hport, "/v1/logs", payload)[0] == 200  # waits in the channel
    status, headers, body = post(hport, "/v1/logs", payload)
    assert status == 429 and int(headers["Retry-After"]) >= 1, body
    with grpc.insecure_channel(f"127.0.0.1:{gport}") as channel:
        with pytest.raises(grpc.RpcError) as refused:
            channel.unary_unary(LOGS_METHOD)(payload, timeout=30)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = dict(refused.value.trailing_metadata() or ()).get("grpc-status-details-bin",
                                                                 b"")
    assert RETRY_INFO in details
    wait_until(lambda: metric(engine.run.metrics(), "otlp_grpc_requests_rejected",
                              reason="exhausted") == 1, "the gRPC refusal counted")
    assert metric(engine.run.metrics(), "otlp_http_requests_rejected",
                  reason="exhausted") == 1
    silent.close()


def test_stalled_bodies_hold_only_what_arrived(cli, tmp_path, engines):
    # Scenario: `max_request_body_size: 16MiB`, `read_timeout: 1s`,
    # `admission.request_limit_mib: 1024` (every body admitted: the default would
    # refuse all but 8); 40 connections each announce a 16 MiB body (Content-Length)
    # and send one byte of it, then stall until the body deadline closes them.
    # Guarantees: the server's memory grows with the bytes that arrived, not with
    # the announced sizes: the engine's peak RSS grows by under 128 MiB (the old
    # server allocated each announced body up front: 40 × 16 MiB = 640 MiB, for
    # ~4 KiB sent); every stalled connection is closed and counted as body_timeout;
    # a valid request still gets 200.
    port = free_port()
    engine = engines(tmp_path, receiver_config(
        http_port=port, http_extra={"max_request_body_size": "16MiB",
                                    "read_timeout": "1s",
                                    "admission": {"request_limit_mib": 1024}}), noop())
    pid = engine.run.proc.pid
    before = peak_rss(pid)
    head = (b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
            b"Content-Length: 16777216\r\n\r\n\x0a")
    stalled = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
    try:
        for s in stalled:
            s.sendall(head)
        wait_until(lambda: metric(engine.run.metrics(), "otlp_http_connections_closed",
                                  reason="body_timeout") >= 40,
                   "stalled bodies closed by read_timeout")
        grown = peak_rss(pid) - before
        assert grown < 128 << 20, f"peak RSS grew by {grown >> 20} MiB"
        payload = logs_request(2, "valid").SerializeToString()
        assert post(port, "/v1/logs", payload)[0] == 200
    finally:
        for s in stalled:
            s.close()
    engine.stop()


def exact_logs_request(size):
    """A serialized logs export of exactly `size` bytes (one record, padded body)."""
    request = logs_request(1, "pad")
    record = request.resource_logs[0].scope_logs[0].log_records[0]
    pad = size
    for _ in range(8):
        record.body.string_value = "x" * pad
        payload = request.SerializeToString()
        if len(payload) == size:
            return payload
        pad += size - len(payload)
    raise AssertionError(f"cannot build a {size}-byte request")


def assert_refused_for_memory(error, limit_mib):
    """`error` (a grpc.RpcError) is a refusal for the in-flight byte budget:
    RESOURCE_EXHAUSTED naming the limit, with a 1 s google.rpc.RetryInfo."""
    from google.rpc.status_pb2 import Status
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
    assert f"request_limit_mib={limit_mib}" in error.details(), error.details()
    status = Status()
    status.ParseFromString(dict(error.trailing_metadata())["grpc-status-details-bin"])
    assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert retry_delay(status) == 1, status


def retry_delay(status):
    """Seconds of the google.rpc.RetryInfo detail of a google.rpc.Status, or None."""
    from google.rpc.error_details_pb2 import RetryInfo
    for detail in status.details:
        if detail.Is(RetryInfo.DESCRIPTOR):
            info = RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.seconds
    return None


def test_in_flight_bytes_budget_refuses_beyond_it(cli, tmp_path, engines):
    # Scenario: `max_request_body_size: 16MiB`, `read_timeout: 120s`, the default
    # in-flight limit (`admission.request_limit_mib`: 128 MiB, the default for 16 MiB
    # bodies); 40 slow clients each send the headers of a 16 MiB protobuf export
    # (Content-Length) and stall before the body; then a JSON export arrives; then
    # the admitted clients send their bodies, one after another.
    # Guarantees: exactly 8 bodies (128 MiB) are admitted: the in-flight gauge shows
    # 128 MiB, never more; the other 32 are refused from their headers, their bodies
    # unread: 503, Retry-After, a protobuf google.rpc.Status (RESOURCE_EXHAUSTED)
    # naming the limit, with a google.rpc.RetryInfo of the Retry-After's delay,
    # counted as reason=memory_limit; the JSON export gets the same refusal as a
    # (proto3) JSON Status; the refusals do not disturb the admitted
    # connections: each completes with 200, and the gauge drops to 0. (The old
    # server had no such limit: it admitted all 40, 640 MiB of bodies.)
    from google.protobuf import json_format
    from google.rpc.status_pb2 import Status
    port = free_port()
    engine = engines(tmp_path, receiver_config(
        http_port=port, http_extra={"max_request_body_size": "16MiB",
                                    "read_timeout": "120s"}), noop())
    payload = exact_logs_request(16 << 20)
    head = (b"POST /v1/logs HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-protobuf\r\n"
            b"Content-Length: %d\r\n\r\n" % len(payload))
    clients = [socket.create_connection(("127.0.0.1", port), timeout=60)
               for _ in range(40)]
    try:
        for s in clients:
            s.sendall(head)
        wait_until(lambda: metric(engine.run.metrics(), "otlp_http_requests_rejected",
                                  reason="memory_limit") == 32,
                   "32 requests refused for the limit")
        assert metric(engine.run.metrics(), "otlp_http_in_flight_bytes") == 128 << 20

        def answered(s):
            return select.select([s], [], [], 0)[0] != []
        # Every header is decided (8 reserved + 32 refused): the refused are exactly
        # those with an answer; the admitted get none until their body.
        wait_until(lambda: sum(answered(s) for s in clients) == 32, "32 answers")
        refused = [s for s in clients if answered(s)]
        admitted = [s for s in clients if s not in refused]
        assert len(admitted) == 8
        for s in refused:
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
            head_text, body = answer.split(b"\r\n\r\n", 1)
            lines = head_text.decode().split("\r\n")
            assert lines[0] == "HTTP/1.1 503 Service Unavailable", lines[0]
            assert "Retry-After: 1" in lines
            assert "Content-Type: application/x-protobuf" in lines
            status = Status()
            status.ParseFromString(body)
            assert status.code == 8, status
            assert "request_limit_mib=128" in status.message, status.message
            assert retry_delay(status) == 1, status
        code, headers, body = post(port, "/v1/logs", b"{}", "application/json")
        assert code == 503 and headers["Retry-After"] == "1"
        assert headers["Content-Type"] == "application/json"
        status = json_format.Parse(body, Status())
        assert status.code == 8 and retry_delay(status) == 1, body
        assert metric(engine.run.metrics(), "otlp_http_in_flight_bytes") == 128 << 20
        for s in admitted:
            s.sendall(payload)
            answer = b""
            while b"\r\n" not in answer:
                answer += s.recv(4096)
            assert answer.startswith(b"HTTP/1.1 200 "), answer
        wait_until(lambda: metric(engine.run.metrics(), "otlp_http_in_flight_bytes") == 0,
                   "the reserved bytes given back")
    finally:
        for s in clients:
            s.close()
    engine.stop()
    assert "request_limit_mib=0/128" in engine.stderr
    assert metric(engine.metrics, "otlp_http_requests_completed", signal="logs") == 8
    assert metric(engine.metrics, "otlp_http_requests_rejected",
                  reason="memory_limit") == 33


def test_grpc_in_flight_bytes_budget_refuses_beyond_it(cli, tmp_path, engines):
    # Scenario: gRPC with `admission.request_limit_mib: 8` and `wait_for_result`
    # into an exporter that acknowledges only when it flushes at shutdown, so every
    # admitted call stays in the pipeline; 20 concurrent calls of exactly 1 MiB each.
    # Guarantees: exactly 8 are admitted (8 MiB): the in-flight gauge shows 8 MiB;
    # the other 12 are refused at once, RESOURCE_EXHAUSTED with a google.rpc.RetryInfo
    # (retryable for OTLP clients), naming the limit, counted as reason=memory_limit;
    # at shutdown the 8 admitted complete OK and the gauge is back to 0. (Before,
    # gRPC had no byte limit: all 20, 20 MiB, were held.)
    port = free_port()
    out = tmp_path / "out"
    engine = engines(tmp_path, receiver_config(
        grpc_port=port, grpc_extra={"wait_for_result": True, "timeout": "120s",
                                    "admission": {"request_limit_mib": 8}}),
        parquet_exporter(out, rows_per_file=1_000_000, flush="10m"))
    payload = exact_logs_request(1 << 20)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(LOGS_METHOD)
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            calls = [pool.submit(call.with_call, payload, timeout=120) for _ in range(20)]
            wait_until(lambda: metric(engine.run.metrics(), "otlp_grpc_requests_rejected",
                                      reason="memory_limit") == 12,
                       "12 calls refused for the limit")
            wait_until(lambda: metric(engine.run.metrics(), "received_items",
                                      node="out") == 8, "8 calls held in the pipeline")
            wait_until(lambda: metric(engine.run.metrics(),
                                      "otlp_grpc_in_flight_bytes") == 8 << 20,
                       "the gauge showing the 8 admitted")
            wait_until(lambda: sum(f.done() for f in calls) == 12, "12 answers")
            refused = [f for f in calls if f.done()]
            for f in refused:
                assert_refused_for_memory(f.exception(), 8)
            assert not any(f.done() for f in calls if f not in refused)
            engine.stop()
            for f in calls:
                if f not in refused:
                    assert f.result(timeout=60)[1].code() == grpc.StatusCode.OK
    assert "request_limit_mib=8/0" in engine.stderr
    assert metric(engine.metrics, "otlp_grpc_in_flight_bytes") == 0
    assert metric(engine.metrics, "otlp_grpc_requests_completed", signal="logs") == 8
    assert metric(engine.metrics, "otlp_grpc_requests_rejected",
                  reason="memory_limit") == 12
    assert read_table(out, "logs").num_rows == 8


def server_timer(port):
    """The kernel's timer kinds (/proc/net/tcp `tr`: 0 none, 1 retransmit, 2
    keepalive, ...) of the established server-side sockets on `port`."""
    kinds = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            local, state, timer = fields[1], fields[3], fields[5]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                kinds.append(int(timer.split(":")[0], 16))
    return kinds


def test_tcp_keepalive_keys_are_applied(cli, tmp_path, engines):
    # Scenario: `tcp_keepalive: 300s`, `tcp_keepalive_interval: 10s`,
    # `tcp_keepalive_retries: 3`, `tcp_nodelay: true`; a client sends one request
    # on a keep-alive connection and keeps the connection open.
    # Guarantees: the server's end of the connection runs the kernel's keepalive
    # timer (they were accepted and ignored before: no timer).
    port = free_port()
    engine = engines(tmp_path, receiver_config(
        http_port=port, http_extra={"tcp_keepalive": "300s",
                                    "tcp_keepalive_interval": "10s",
                                    "tcp_keepalive_retries": 3, "tcp_nodelay": True}),
        noop())
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    payload = logs_request(1, "keepalive").SerializeToString()
    conn.request("POST", "/v1/logs", payload, {"Content-Type": "application/x-protobuf"})
    res = conn.getresponse()
    res.read()
    assert res.status == 200
    try:
        wait_until(lambda: server_timer(port) == [2], "the keepalive timer", timeout=10)
    finally:
        conn.close()
    engine.stop()


def test_tcp_keepalive_options_need_tcp_keepalive(run, tmp_path):
    # Scenario: --validate-and-exit with `tcp_keepalive_interval` and
    # `tcp_keepalive_retries` but no `tcp_keepalive`.
    # Guarantees: exit 2 naming both keys and what they need.
    config = tmp_path / "bad.yaml"
    config.write_text(v1_config("""
        in:
          type: receiver:otlp
          config:
            protocols:
              http:
                listening_addr: "127.0.0.1:4318"
                tcp_keepalive_interval: 10s
                tcp_keepalive_retries: 3
        out: {type: exporter:noop}
        """, "- {from: in, to: out}"))
    proc = run("run", "-c", config, "--validate-and-exit", check=False)
    assert proc.returncode == 2, proc.stderr
    base = "groups.default.pipelines.main.nodes.in.config.protocols.http"
    for key in ("tcp_keepalive_interval", "tcp_keepalive_retries"):
        assert f"{base}.{key}" in proc.stderr and "needs tcp_keepalive" in proc.stderr
