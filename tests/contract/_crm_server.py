"""What the two CRM stand-ins share: a threaded HTTP server on loopback, request records, injected failures."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class CrmServer:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, float, int]] = []  # method, path, monotonic time, status
        self._failures: list[tuple[int, float | None]] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body, headers = owner.dispatch(
                    self.command, parts.path, parse_qs(parts.query), raw, self.headers
                )
                with owner.lock:
                    owner.requests.append((self.command, parts.path, time.monotonic(), status))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail_next(self, count: int, status: int, *, retry_after: float | None = None) -> None:
        with self.lock:
            self._failures.extend([(status, retry_after)] * count)

    def injected(self):
        with self.lock:
            return self._failures.pop(0) if self._failures else None

    def count(self, method: str | None = None, prefix: str = "") -> int:
        return sum(1 for m, p, _t, _s in self.requests if (method is None or m == method) and p.startswith(prefix))

    def most_in_window(self, seconds: float = 1.0) -> int:
        times = sorted(t for _m, _p, t, status in self.requests if status != 429)
        best, start = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] >= seconds:
                start += 1
            best = max(best, end - start + 1)
        return best

    def dispatch(self, method, path, query, raw, headers):  # pragma: no cover - each CRM's own
        raise NotImplementedError
