#!/usr/bin/env python3
"""The demo app behind infusion and dextor: answers every request with JSON saying exactly what reached it.

{"method", "uri" (path and query as received), "headers" (lower-case name -> value), "body" (text), "body_sha256",
 "seen" (how many requests with this method and uri reached the app so far, this one included)}

A path with a `/status/NNN` segment is answered with status NNN (the same JSON), so tests can make the app refuse.
`GET /_echo/seen?method=M&uri=U` answers {"seen": n} for requests already received, without counting itself.

Usage: echo_app.py PORT [NAME]   (listens on 127.0.0.1 only)
"""
import hashlib
import json
import re
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sso-echo-app"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle and the proxy's delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _seen(self):
        from urllib.parse import parse_qs, urlsplit
        q = parse_qs(urlsplit(self.path).query)
        with self.server.lock:
            n = self.server.seen.get((q.get("method", [""])[0], q.get("uri", [""])[0]), 0)
        out = json.dumps({"seen": n}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def _answer(self):
        if self.command == "GET" and self.path.startswith("/_echo/seen?"):
            return self._seen()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = headers[key] + ", " + value if key in headers else value
        with self.server.lock:
            key = (self.command, self.path)
            self.server.seen[key] = self.server.seen.get(key, 0) + 1
            seen = self.server.seen[key]
        payload = {
            "seen": seen,
            "app": self.server.app_name,
            "method": self.command,
            "uri": self.path,
            "headers": headers,
            "body": body.decode("utf-8", errors="replace"),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        out = json.dumps(payload, indent=1, ensure_ascii=False).encode("utf-8")
        status = re.search(r"/status/([1-5][0-9][0-9])(?:/|\?|$)", self.path.split("?")[0] + "/")
        self.send_response(int(status.group(1)) if status else 200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(out)))
        self.send_header("Cache-Control", "no-store")
        # The user the app was told of, also where a HEAD answer has no body to show it.
        self.send_header("X-Echo-Remote-User", self.headers.get("X-Remote-User", ""))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer

    def log_message(self, fmt, *args):
        pass


def main():
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Echo)
    server.app_name = sys.argv[2] if len(sys.argv) > 2 else "app"
    server.daemon_threads = True
    server.lock = threading.Lock()
    server.seen = {}
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
