#!/usr/bin/env python3
"""A QUIC client for the end-to-end tests (aioquic) that migrates on demand: it answers
one JSON line for every line read on stdin.

  request   a request on a new stream: {"answer": "NAME HOST:PORT"} (the server's reply),
            or {"error": "timeout"} when none comes within the timeout
  migrate   a new UDP socket on a new port (a NAT rebinding seen from the server), and
            the next connection ID the server issued: {"port": N}

usage: quic_client.py HOST PORT [--timeout 3]
Connects first and prints {"port": N}, its local port, or {"error": ...}.
"""
import argparse
import asyncio
import json
import socket
import ssl
import sys

from aioquic.asyncio import connect
from aioquic.quic.configuration import QuicConfiguration


def dual_stack_socket():
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", 0, 0, 0))
    return sock


async def request(protocol, timeout):
    reader, writer = await protocol.create_stream()
    writer.write(b"which backend?")
    writer.write_eof()
    try:
        return {"answer": (await asyncio.wait_for(reader.read(), timeout)).decode()}
    except asyncio.TimeoutError:
        return {"error": "timeout"}


async def migrate(protocol):
    """Moves the connection to a new local port: the old socket closes, packets leave
    from the new one with the connection's next connection ID."""
    loop = asyncio.get_running_loop()
    old = protocol._transport
    sock = dual_stack_socket()
    await loop.create_datagram_endpoint(lambda: protocol, sock=sock)
    old.close()
    protocol.change_connection_id()
    return {"port": sock.getsockname()[1]}


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()
    configuration = QuicConfiguration(is_client=True, alpn_protocols=["lbd-test"], verify_mode=ssl.CERT_NONE)
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(10):
            context = connect(args.host, args.port, configuration=configuration)
            protocol = await context.__aenter__()
    except (asyncio.TimeoutError, ConnectionError) as error:
        print(json.dumps({"error": type(error).__name__}), flush=True)
        return
    print(json.dumps({"port": protocol._transport.get_extra_info("sockname")[1]}), flush=True)
    while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
        answer = await request(protocol, args.timeout) if line == "request" else await migrate(protocol)
        print(json.dumps(answer), flush=True)
    protocol._quic.close()
    protocol.transmit()


if __name__ == "__main__":
    asyncio.run(main())
