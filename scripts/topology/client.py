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
    client.py close COUNT URL         COUNT keep-alive connections, each answered once; on the
                                      first stdin line the tally of the backends that answered;
                                      on the second, each closes in turn over SECONDS (the
                                      line's number, default 2): a last GET with "Connection:
                                      close", read to the server's end, then the client's own
                                      close; then the tally of those final answers and
                                      "last_closed", the wall-clock time of the last close
    client.py hold COUNT URL          COUNT long-lived keep-alive connections, each sending
                                      a GET every second (spread over the second) until
                                      stdin closes; on every stdin line and at EOF:
                                      {"connections", "broken", "answers", "backends",
                                      "errors", "max_gap_ms"}: broken = a connection that
                                      failed or was answered by another backend than its
                                      first; max_gap_ms = the longest wait for an answer
                                      since the start or the last stdin line "reset-gap"

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


class HeldConnection:
    """One keep-alive connection of `hold`, driven by the selector loop: a request sent,
    its answer awaited (the backend's name), then idle until its next turn."""

    def __init__(self, host, port, path):
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT_SECONDS)
        self.sock.setblocking(False)
        self.request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        self.buffer = b""
        self.backend = None
        self.sent_at = None
        self.broken = None

    def send(self, now):
        self.sock.sendall(self.request)
        self.sent_at = now

    def receive(self):
        """The backend's name once a whole answer is in, else None."""
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionResetError("closed")
        self.buffer += data
        head, separator, body = self.buffer.partition(b"\r\n\r\n")
        if not separator:
            return None
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        if len(body) < length:
            return None
        self.buffer = body[length:]
        return body[:length].decode().split()[0]


def hold_command(count, url):
    import selectors
    import time
    parts = urllib.parse.urlsplit(url)
    connections = [HeldConnection(parts.hostname, parts.port or 80, parts.path or "/") for _ in range(int(count))]
    selector = selectors.DefaultSelector()
    for connection in connections:
        selector.register(connection.sock, selectors.EVENT_READ, connection)
    stats = {"answers": 0, "max_gap_ms": 0, "errors": collections.Counter()}
    lock, stop = threading.Lock(), threading.Event()

    def fail(connection, kind):
        with lock:
            if connection.broken is None:
                connection.broken = kind
                stats["errors"][kind] += 1
        try:
            selector.unregister(connection.sock)
        except (KeyError, ValueError):
            pass

    def run():
        start = time.monotonic()
        turns = [start + i / len(connections) for i in range(len(connections))]
        while not stop.is_set():
            now = time.monotonic()
            for i, connection in enumerate(connections):
                if connection.broken or now < turns[i] or connection.sent_at is not None:
                    continue
                try:
                    connection.send(now)
                except OSError as error:
                    fail(connection, error_kind(error))
                turns[i] += 1.0
            for key, _ in selector.select(timeout=0.01):
                connection = key.data
                try:
                    backend = connection.receive()
                except OSError as error:
                    fail(connection, error_kind(error))
                    continue
                if backend is None:
                    continue
                gap_ms = int((time.monotonic() - connection.sent_at) * 1000)
                connection.sent_at = None
                with lock:
                    stats["answers"] += 1
                    stats["max_gap_ms"] = max(stats["max_gap_ms"], gap_ms)
                if connection.backend is None:
                    connection.backend = backend
                elif connection.backend != backend:
                    fail(connection, "moved")
            for connection in connections:
                if connection.sent_at is not None and not connection.broken and \
                        time.monotonic() - connection.sent_at > TIMEOUT_SECONDS * 4:
                    fail(connection, "timeout")

    def report():
        with lock:
            backends = collections.Counter(c.backend for c in connections if c.backend)
            return json.dumps({"connections": len(connections), "answers": stats["answers"],
                               "broken": sum(1 for c in connections if c.broken),
                               "backends": dict(backends), "errors": dict(stats["errors"]),
                               "max_gap_ms": stats["max_gap_ms"]}, sort_keys=True)

    worker = threading.Thread(target=run)
    worker.start()
    for line in sys.stdin:
        if line.strip() == "reset-gap":
            with lock:
                stats["max_gap_ms"] = 0
        print(report(), flush=True)
    stop.set()
    worker.join()
    print(report(), flush=True)


def final_answer(sock, host, path):
    """A last GET with "Connection: close" on a kept-alive socket, read until the server
    closes its side; the backend's name."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator or not head.startswith(b"HTTP/1.1 200"):
        raise ValueError(f"bad answer {data[:80]!r}")
    return body.decode().split()[0]


def close_command(count, url):
    import time
    opened = Tally()
    connections = []
    for _ in range(int(count)):
        connection, path = connect(url)
        try:
            backend = request(connection, path).split()[0]
            opened.answers[backend] += 1
            connections.append((connection, path, backend))
        except (OSError, http.client.HTTPException) as error:
            opened.errors[error_kind(error)] += 1
    sys.stdin.readline()
    print(opened.json(), flush=True)
    seconds = float(sys.stdin.readline().strip() or 2)
    closed = Tally()
    last_closed = None
    for connection, path, backend in connections:
        try:
            answer = final_answer(connection.sock, connection.host, path)
            # Taken before the client's FIN leaves: nothing can see the flow end earlier.
            last_closed = time.time()
            connection.sock.close()
            closed.answers[answer if answer == backend else "moved"] += 1
        except (OSError, ValueError) as error:
            closed.errors[error_kind(error)] += 1
        time.sleep(seconds / len(connections))
    result = json.loads(closed.json())
    result["last_closed"] = last_closed
    print(json.dumps(result, sort_keys=True), flush=True)


COMMANDS = {"http": http_command, "udp": udp_command, "upload": upload_command,
            "session": session_command, "stream": stream_command, "hold": hold_command,
            "close": close_command}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    try:
        COMMANDS[sys.argv[1]](*sys.argv[2:])
    except KeyboardInterrupt:
        # Ctrl-C: no traceback, the caller tears down. os._exit, as a stream's worker
        # thread would keep the interpreter waiting.
        os._exit(130)
