#!/usr/bin/env python3
"""A QUIC server for the end-to-end tests: aioquic, issuing connection IDs that carry
its server id in the QUIC-LB plaintext layout lbd routes on (octet 0: config rotation
bits 000 and the ID length minus one; octets 1..LENGTH: the server id, big-endian; the
rest random). Every stream it receives is answered, when the client ends it, with
"NAME HOST:PORT": this backend's name and the client address the server sees, so a test
knows who answered and from which client port.

usage: quic_server.py NAME PORT SERVER_ID ADDRESS... [--server-id-length 2] [--cid-length 8]
Listens on each ADDRESS (the VIPs: answers must come from the address the client
sent to, and aioquic sends without choosing its source). Prints "NAME ready" once
listening, and once more for every line read on stdin.
"""
import argparse
import asyncio
import datetime
import os
import sys
import tempfile

import aioquic.asyncio.server
from aioquic.asyncio import QuicConnectionProtocol, serve
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.events import StreamDataReceived
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def connection_id_maker(server_id, id_length, cid_length):
    """Connection IDs naming this server: what lbd reads back from short headers."""
    def make():
        first = cid_length - 1  # rotation bits 000, length self-description
        return bytes([first]) + server_id.to_bytes(id_length, "big") + os.urandom(cid_length - 1 - id_length)
    return make


def server_id_connection(make_cid):
    """aioquic's connection with its host connection IDs replaced by `make_cid`'s: the
    first one at creation (nothing has been sent yet), the later ones as they are made,
    before NEW_CONNECTION_ID frames carry them."""
    class ServerIdConnection(QuicConnection):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._host_cids[0].cid = make_cid()
            self.host_cid = self._local_initial_source_connection_id = self._host_cids[0].cid

        def _replenish_connection_ids(self):
            known = len(self._host_cids)
            super()._replenish_connection_ids()
            for connection_id in self._host_cids[known:]:
                connection_id.cid = make_cid()
    return ServerIdConnection


def self_signed(directory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lbd-quic-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


def answering_protocol(name):
    class Answering(QuicConnectionProtocol):
        def quic_event_received(self, event):
            if isinstance(event, StreamDataReceived) and event.end_stream:
                host, port = self._quic._network_paths[0].addr[:2]
                self._quic.send_stream_data(event.stream_id, f"{name} {host}:{port}".encode(), end_stream=True)
                self.transmit()
    return Answering


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("port", type=int)
    parser.add_argument("server_id", type=int)
    parser.add_argument("addresses", nargs="+")
    parser.add_argument("--server-id-length", type=int, default=2)
    parser.add_argument("--cid-length", type=int, default=8)
    args = parser.parse_args()

    make_cid = connection_id_maker(args.server_id, args.server_id_length, args.cid_length)
    aioquic.asyncio.server.QuicConnection = server_id_connection(make_cid)
    configuration = QuicConfiguration(is_client=False, connection_id_length=args.cid_length,
                                      alpn_protocols=["lbd-test"])
    with tempfile.TemporaryDirectory() as directory:
        configuration.load_cert_chain(*self_signed(directory))
        servers = [await serve(address, args.port, configuration=configuration,
                               create_protocol=answering_protocol(args.name)) for address in args.addresses]
        loop = asyncio.get_running_loop()
        print(f"{args.name} ready", flush=True)
        while await loop.run_in_executor(None, sys.stdin.readline):
            print(f"{args.name} ready", flush=True)
        for server in servers:
            server.close()


if __name__ == "__main__":
    asyncio.run(main())
