#!/usr/bin/env python3
"""The client of the lbd topology (scripts/lbd-topology client NAME ...): traffic to a
VIP, tallied by the backend that answered (the backends name themselves, see
backend.py). Every result is one JSON object per line on stdout.

    client.py http COUNT URL...       COUNT requests to each URL, each request on a new
                                      TCP connection; a tally per URL, in their order
    client.py udp COUNT HOST PORT     COUNT datagrams, each from a new socket (new port)
    client.py upload URL BYTES        one POST of BYTES bytes; the backend's answer
    client.py session URL             one keep-alive connection: a GET per stdin line
    client.py stream URL              new connections back to back until stdin closes;
                                      the totals so far on every stdin line, then at EOF

Tallies are {"answers": {backend: count}, "errors": {kind: count}}. Kinds: "reset" (a
TCP RST), "refused", "timeout", or the exception's name. Sockets are connected, so an
answer from any source other than the VIP (a broken DSR path) is a timeout, not an answer.
"""
import collections
import http.client
import json
import os
import socket
import sys
import threading
import urllib.parse

TIMEOUT_SECONDS = 5


def error_kind(error):
    if isinstance(error, ConnectionResetError):
        return "reset"
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timeout"
    return type(error).__name__


def connect(url):
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=TIMEOUT_SECONDS), parts.path or "/"


def request(connection, path, method="GET", body=None, close=False):
    headers = {"Connection": "close"} if close else {}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.read().decode()


class Tally:
    def __init__(self):
        self.answers = collections.Counter()
        self.errors = collections.Counter()
        self.lock = threading.Lock()

    def add(self, attempt):
        try:
            answer = attempt().split()[0]
            with self.lock:
                self.answers[answer] += 1
        except (OSError, http.client.HTTPException) as error:
            with self.lock:
                self.errors[error_kind(error)] += 1

    def json(self):
        with self.lock:
            return json.dumps({"answers": dict(self.answers), "errors": dict(self.errors)}, sort_keys=True)


def one_http_request(url):
    connection, path = connect(url)
    try:
        return request(connection, path, close=True)
    finally:
        connection.close()


def one_datagram(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(TIMEOUT_SECONDS)
        sock.connect((host, port))
        sock.send(b"ping")
        return sock.recv(65535).decode()


def http_command(count, *urls):
    for url in urls:
        tally = Tally()
        for _ in range(int(count)):
            tally.add(lambda: one_http_request(url))
        print(tally.json())


def udp_command(count, host, port):
    tally = Tally()
    for _ in range(int(count)):
        tally.add(lambda: one_datagram(host, int(port)))
    print(tally.json())


def upload_command(url, size):
    connection, path = connect(url)
    try:
        print(json.dumps({"answer": request(connection, path, "POST", b"x" * int(size), close=True).strip()}))
    finally:
        connection.close()


def session_command(url):
    connection, path = connect(url)
    for _ in sys.stdin:
        try:
            print(json.dumps({"answer": request(connection, path).strip()}), flush=True)
        except (OSError, http.client.HTTPException) as error:
            print(json.dumps({"error": error_kind(error)}), flush=True)


def stream_command(url):
    tally, stop = Tally(), threading.Event()

    def run():
        while not stop.is_set():
            tally.add(lambda: one_http_request(url))

    worker = threading.Thread(target=run)
    worker.start()
    for _ in sys.stdin:
        print(tally.json(), flush=True)
    stop.set()
    worker.join()
    print(tally.json(), flush=True)


COMMANDS = {"http": http_command, "udp": udp_command, "upload": upload_command,
            "session": session_command, "stream": stream_command}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    try:
        COMMANDS[sys.argv[1]](*sys.argv[2:])
    except KeyboardInterrupt:
        # Ctrl-C: no traceback, the caller tears down. os._exit, as a stream's worker
        # thread would keep the interpreter waiting.
        os._exit(130)
