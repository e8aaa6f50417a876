#!/usr/bin/env python3
"""A backend of the lbd topology (scripts/lbd-topology): an HTTP server and a UDP echo
that name themselves, so a client can tell which backend answered through a VIP.

    backend.py NAME HTTP_PORT UDP_PORT

HTTP/1.1 with keep-alive: GET answers "NAME\\n"; POST reads the body and answers
"NAME received N bytes\\n". UDP: every datagram is echoed as "NAME " + payload.

The VIPs are not assigned to an interface but routed locally (an AnyIP `local` route on
lo covers the whole VIP prefix), so the servers listen on the wildcard address; TCP
answers from the address the client connected to, and UDP replies name their source
(the VIP the datagram was sent to) with IP_PKTINFO / IPV6_PKTINFO — otherwise the reply
would leave from the backend's own address and the client would drop it (DSR).
"""
import http.server
import socket
import struct
import sys
import threading

# Linux values; Python's socket module lacks them.
IP_PKTINFO = 8
IP_FREEBIND = 15


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: an open connection survives a drain

    def do_GET(self):
        self.answer(f"{self.server.backend_name}\n")

    def do_POST(self):
        remaining = int(self.headers.get("Content-Length", "0"))
        received = 0
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                break
            received += len(chunk)
            remaining -= len(chunk)
        self.answer(f"{self.server.backend_name} received {received} bytes\n")

    def answer(self, text):
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class DualStackServer(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    request_queue_size = 128

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def udp_socket(family):
    sock = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    else:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        # IPv6 refuses a reply source that is not an assigned address (the VIP is only
        # routed locally) unless the socket may use non-local addresses.
        sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
    return sock


def reply_source(family, ancillary):
    """The destination of the received datagram, as the source control message of the reply."""
    for level, kind, data in ancillary:
        if family == socket.AF_INET and (level, kind) == (socket.IPPROTO_IP, IP_PKTINFO):
            # struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }
            destination = data[8:12]
            return [(level, kind, struct.pack("i4s4s", 0, destination, b"\0" * 4))]
        if family == socket.AF_INET6 and (level, kind) == (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO):
            # struct in6_pktinfo { in6_addr addr; int ifindex; }
            return [(level, kind, data[:16] + struct.pack("i", 0))]
    return []


def echo(sock, family, name):
    prefix = f"{name} ".encode()
    while True:
        payload, ancillary, _, client = sock.recvmsg(65535, 1024)
        sock.sendmsg([prefix + payload], reply_source(family, ancillary), 0, client)


def main():
    name, http_port, udp_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for family, wildcard in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        sock = udp_socket(family)
        sock.bind((wildcard, udp_port))
        threading.Thread(target=echo, args=(sock, family, name), daemon=True).start()
    server = DualStackServer(("::", http_port), Handler)
    server.backend_name = name
    server.serve_forever()


if __name__ == "__main__":
    main()
