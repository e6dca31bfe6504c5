"""A fault-injecting HTTP proxy for the PACS tests: it sits in front of a real Orthanc's HTTP port and,
for requests whose URL contains a given text (a SOP Instance UID, ``/changes``, ...), answers HTTP 500,
404, hangs for a while, or closes the connection half-way through the body. Everything else is passed
through unchanged.

    with FaultProxy(orthanc.url) as proxy:
        proxy.fail(sop_uid, Fault.ERROR_500)
        pacs = Pacs(proxy.dicomweb, read_timeout=1)
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "content-length", "host",
}  # fmt: skip


class Fault(str, Enum):
    ERROR_500 = "500"
    UNAVAILABLE = "503"  # one of the statuses dicomweb-client would retry on its own
    NOT_FOUND = "404"
    CONFLICT = "409"  # what a PACS may answer a STOW-RS store it refuses
    HANG = "hang"  # no answer for `hang_seconds`, then the connection is closed
    CUT = "cut"  # the status and headers, half of the body, then the connection is closed


@dataclass
class Rule:
    match: str
    fault: Fault
    hits: int = 0


class FaultProxy:
    """An HTTP proxy on a free loopback port in front of ``upstream`` (``http://host:port``)."""

    def __init__(self, upstream: str, hang_seconds: float = 5.0) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.hang_seconds = hang_seconds
        self.rules: list[Rule] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.requests = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def dicomweb(self) -> str:
        return f"{self.url}/dicom-web"

    def fail(self, match: str, fault: Fault) -> Rule:
        """From now on, requests whose path contains ``match`` get ``fault``."""
        rule = Rule(match, Fault(fault))
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def rule_for(self, path: str) -> Rule | None:
        with self.lock:
            self.requests += 1
            for rule in self.rules:
                if rule.match in path:
                    rule.hits += 1
                    return rule
        return None

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # hanging requests give up at once
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(proxy: FaultProxy):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def _any(self) -> None:
            body = self._body()
            rule = proxy.rule_for(self.path)
            if rule is not None and rule.fault is Fault.HANG:
                proxy.stopping.wait(proxy.hang_seconds)
                self.close_connection = True
                return
            if rule is not None and rule.fault in (
                Fault.ERROR_500,
                Fault.UNAVAILABLE,
                Fault.NOT_FOUND,
                Fault.CONFLICT,
            ):
                status = int(rule.fault.value)
                message = b"injected fault"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(message)))
                self.end_headers()
                self.wfile.write(message)
                return
            try:
                status, headers, answer = self._forward(body)
            except OSError:  # the PACS behind is down: what a reverse proxy says then
                status, headers, answer = 502, [("Content-Type", "text/plain")], b"upstream down"
            self.send_response(status)
            for key, value in headers:
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            if rule is not None and rule.fault is Fault.CUT:
                self.wfile.write(answer[: len(answer) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(answer)

        def _body(self) -> bytes | None:
            """The request's body, sent with a Content-Length or in chunks (dicomweb-client sends a
            STOW-RS body over 1 MB chunked)."""
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                parts = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()  # the CRLF after each chunk
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else None

        def _forward(self, body: bytes | None):
            connection = http.client.HTTPConnection(*proxy.upstream, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                return response.status, response.getheaders(), response.read()
            finally:
                connection.close()

        do_GET = do_POST = do_PUT = do_DELETE = _any

    return Handler


@contextlib.contextmanager
def pacs_down(server) -> Iterator[None]:
    """A local Orthanc stopped (by its pid) while inside, started again on the same ports and storage
    when leaving, as a PACS restarted by its administrator."""
    server.stop()
    try:
        yield
    finally:
        server.start()
