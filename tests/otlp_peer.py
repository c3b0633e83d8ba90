# SPDX-License-Identifier: Apache-2.0
"""A real OTLP server for tests, not ours: grpcio's collector servicers (gRPC) or
the standard library's http.server (OTLP/HTTP, protobuf or JSON), on 127.0.0.1.

It records every accepted request (and the headers it came with) and can be told
to fail: the first `fail_first` requests (or all of them) get `failure` —
"unavailable" (gRPC UNAVAILABLE / HTTP 503), "invalid" (INVALID_ARGUMENT / 400) —
with an optional retry hint (gRPC RetryInfo / HTTP Retry-After).

    peer = OtlpPeer("grpc", fail_first=2, retry_after=0.01).start()
    ... export to peer.endpoint ...
    peer.write(tmp / "got.logs.pb", "logs")   # what `otap-parquet compare` reads
    peer.stop()
"""
import gzip
import http.server
import json
import ssl
import threading
from concurrent import futures

import grpc
from google.protobuf import duration_pb2
from google.protobuf.internal.encoder import _VarintBytes
from google.rpc import code_pb2, error_details_pb2, status_pb2
import zstandard
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc as logs_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as metrics_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as trace_grpc

SIGNALS = {
    "logs": (logs_pb2.ExportLogsServiceRequest, logs_pb2.ExportLogsServiceResponse),
    "traces": (trace_pb2.ExportTraceServiceRequest, trace_pb2.ExportTraceServiceResponse),
    "metrics": (metrics_pb2.ExportMetricsServiceRequest,
                metrics_pb2.ExportMetricsServiceResponse),
}


def count_items(signal, request):
    """Log records, spans or data points of one protobuf request."""
    total = 0
    if signal == "logs":
        for r in request.resource_logs:
            for s in r.scope_logs:
                total += len(s.log_records)
    elif signal == "traces":
        for r in request.resource_spans:
            for s in r.scope_spans:
                total += len(s.spans)
    else:
        for r in request.resource_metrics:
            for s in r.scope_metrics:
                for m in s.metrics:
                    kind = m.WhichOneof("data")
                    if kind:
                        total += len(getattr(m, kind).data_points)
    return total


def count_json_items(signal, body):
    top, mid, leaf = {"logs": ("resourceLogs", "scopeLogs", "logRecords"),
                      "traces": ("resourceSpans", "scopeSpans", "spans"),
                      "metrics": ("resourceMetrics", "scopeMetrics", "metrics")}[signal]
    total = 0
    for r in json.loads(body).get(top, []):
        for s in r.get(mid, []):
            if signal != "metrics":
                total += len(s.get(leaf, []))
                continue
            for m in s.get(leaf, []):
                for kind in ("gauge", "sum", "histogram", "exponentialHistogram", "summary"):
                    if kind in m:
                        total += len(m[kind].get("dataPoints", []))
    return total


class OtlpPeer:
    def __init__(self, protocol="grpc", *, fail_first=0, fail_all=False,
                 failure="unavailable", retry_after=None, tls=None, partial_reject=0):
        assert protocol in ("grpc", "http")
        self.protocol = protocol
        self.fail_first = fail_first
        self.fail_all = fail_all
        self.failure = failure
        self.retry_after = retry_after  # seconds (gRPC: float ok; HTTP: int)
        self.tls = tls  # (cert_pem_bytes, key_pem_bytes) or None
        # Answer every accepted request with partial_success rejecting this many.
        self.partial_reject = partial_reject
        self.lock = threading.Lock()
        self.attempts = 0  # every request, failed or not
        self.accepted = []  # (signal, request message or JSON text, headers dict)
        self.port = None
        self._server = None
        self._thread = None

    # ---- results -------------------------------------------------------------
    @property
    def endpoint(self):
        scheme = "https" if self.tls else "http"
        host = "localhost" if self.tls else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}"

    def items(self, signal=None):
        with self.lock:
            total = 0
            for s, request, _ in self.accepted:
                if signal and s != signal:
                    continue
                total += (count_json_items(s, request) if isinstance(request, str)
                          else count_items(s, request))
            return total

    def headers(self):
        with self.lock:
            return [h for _, _, h in self.accepted]

    def write(self, path, signal):
        """Writes the accepted requests of `signal`: length-delimited protobuf
        (`.pb`) or OTLP/JSON lines (`.jsonl`, only for JSON-encoded requests)."""
        path = str(path)
        with self.lock:
            requests = [r for s, r, _ in self.accepted if s == signal]
        with open(path, "wb") as f:
            for r in requests:
                if path.endswith(".jsonl"):
                    f.write(json.dumps(json.loads(r)).encode() + b"\n")
                else:
                    data = r.SerializeToString()
                    f.write(_VarintBytes(len(data)) + data)

    # ---- failure policy ------------------------------------------------------
    def _should_fail(self):
        with self.lock:
            self.attempts += 1
            return self.fail_all or self.attempts <= self.fail_first

    def _response(self, signal):
        response = SIGNALS[signal][1]()
        if self.partial_reject:
            field = {"logs": "rejected_log_records", "traces": "rejected_spans",
                     "metrics": "rejected_data_points"}[signal]
            setattr(response.partial_success, field, self.partial_reject)
            response.partial_success.error_message = "peer told to reject some"
        return response

    def _record(self, signal, request, headers):
        with self.lock:
            self.accepted.append((signal, request, headers))

    # ---- lifecycle -----------------------------------------------------------
    def start(self):
        if self.protocol == "grpc":
            self._start_grpc()
        else:
            self._start_http()
        return self

    def stop(self):
        if self._server is None:
            return
        if self.protocol == "grpc":
            self._server.stop(grace=None).wait()
        else:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- gRPC ----------------------------------------------------------------
    def _grpc_export(self, signal):
        _, response_type = SIGNALS[signal]

        def export(request, context):
            if self._should_fail():
                code = (grpc.StatusCode.UNAVAILABLE if self.failure == "unavailable"
                        else grpc.StatusCode.INVALID_ARGUMENT)
                if self.retry_after is not None:
                    info = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(
                        seconds=int(self.retry_after),
                        nanos=int((self.retry_after % 1) * 1e9)))
                    status = status_pb2.Status(code=code.value[0], message="try later")
                    status.details.add().Pack(info)
                    context.set_trailing_metadata(
                        (("grpc-status-details-bin", status.SerializeToString()),))
                context.abort(code, f"peer told to fail ({self.failure})")
            self._record(signal, request, dict(context.invocation_metadata()))
            return self._response(signal)

        return export

    def _start_grpc(self):
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        for signal, module, servicer_base, add in (
                ("logs", logs_grpc, logs_grpc.LogsServiceServicer,
                 logs_grpc.add_LogsServiceServicer_to_server),
                ("traces", trace_grpc, trace_grpc.TraceServiceServicer,
                 trace_grpc.add_TraceServiceServicer_to_server),
                ("metrics", metrics_grpc, metrics_grpc.MetricsServiceServicer,
                 metrics_grpc.add_MetricsServiceServicer_to_server)):
            servicer = type(f"{signal}Servicer", (servicer_base,),
                            {"Export": staticmethod(self._grpc_export(signal))})()
            add(servicer, server)
        if self.tls:
            credentials = grpc.ssl_server_credentials([(self.tls[1], self.tls[0])])
            self.port = server.add_secure_port("127.0.0.1:0", credentials)
        else:
            self.port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server

    # ---- HTTP ----------------------------------------------------------------
    def _start_http(self):
        peer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, body=b"", content_type="application/x-protobuf",
                       extra=()):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                signal = {"/v1/logs": "logs", "/v1/traces": "traces",
                          "/v1/metrics": "metrics"}.get(self.path)
                if signal is None:
                    return self._reply(404, b"no such path", "text/plain")
                if peer._should_fail():
                    invalid = peer.failure == "invalid"
                    status = status_pb2.Status(
                        code=code_pb2.INVALID_ARGUMENT if invalid else code_pb2.UNAVAILABLE,
                        message=f"peer told to fail ({peer.failure})")
                    extra = []
                    if peer.retry_after is not None:
                        extra.append(("Retry-After", str(int(peer.retry_after))))
                    return self._reply(400 if invalid else 503, status.SerializeToString(),
                                       extra=extra)
                headers = {k.lower(): v for k, v in self.headers.items()}
                if headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                elif headers.get("content-encoding") == "zstd":
                    body = zstandard.ZstdDecompressor().decompressobj().decompress(body)
                request_type, response_type = SIGNALS[signal]
                if headers.get("content-type") == "application/json":
                    peer._record(signal, body.decode(), headers)
                    return self._reply(200, b"{}", "application/json")
                request = request_type()
                request.ParseFromString(body)
                peer._record(signal, request, headers)
                self._reply(200, peer._response(signal).SerializeToString())

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if self.tls:
            import os
            import tempfile
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            with tempfile.TemporaryDirectory() as d:
                cert, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
                open(cert, "wb").write(self.tls[0])
                open(key, "wb").write(self.tls[1])
                context.load_cert_chain(cert, key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()


def self_signed_cert(host="localhost", with_ip=True):
    """(cert_pem, key_pem) of a self-signed certificate for `host` (and 127.0.0.1
    unless `with_ip` is false)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(host)]
                + ([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))] if with_ip else [])),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()))
