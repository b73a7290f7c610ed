#!/usr/bin/env python3
"""A web API that must run as one instance, with no leader election of its own: it keeps an order
book in memory and numbers each order, so two live instances would hand out the same numbers. In
proxy mode (README "proxy") the Service reaches every replica's lease-elector proxy, and only the
leader's proxy passes requests to its app: this app sees a request only while its replica leads.
It listens on loopback only, so nothing but its own proxy can reach it.

  POST /orders   takes the body as an order; answers {"order": N, "by": POD_NAME}
  GET  /orders   the orders this instance took: {"count": N, "by": POD_NAME}
Each request is logged as "served <epoch ms> <POD_NAME> <path> <order>" (the example's check reads it).
Settings by environment: LISTEN_PORT (default 8080), POD_NAME.
"""
import http.server
import json
import os
import sys
import threading
import time

NAME = os.environ.get("POD_NAME", "web-api")
orders = []
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the proxy's pool expects

    def answer(self, status, body):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if self.path != "/orders":
            return self.answer(404, {"error": "not found"})
        length = int(self.headers.get("Content-Length") or 0)
        item = self.rfile.read(length).decode(errors="replace")
        with lock:
            orders.append(item)
            number = len(orders)
        print("served %d %s %s %d" % (time.time() * 1000, NAME, self.path, number), flush=True)
        self.answer(200, {"order": number, "by": NAME})

    def do_GET(self):
        if self.path != "/orders":
            return self.answer(404, {"error": "not found"})
        with lock:
            count = len(orders)
        self.answer(200, {"count": count, "by": NAME})

    def log_message(self, *args):
        pass


port = int(os.environ.get("LISTEN_PORT", "8080"))
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
print("listening on 127.0.0.1:%d" % port, flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    sys.exit(0)
