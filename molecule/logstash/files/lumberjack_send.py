#!/usr/bin/env python3
"""Test client: send events to a Beats input (Lumberjack v2 over TLS) and wait for the ACK.

    lumberjack_send.py HOST PORT CA [--cert CERT --key KEY] [--server-name NAME] EVENT_JSON...

Exit 0 when the server ACKs every event, 2 when the TLS handshake or the connection is
refused (e.g. no client certificate where one is required), 1 on anything else. Frames as
Filebeat's go-lumber client sends them: window size, then one zlib-compressed block of JSON
frames; the server answers with an ACK frame carrying the last sequence number.
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import struct
import sys
import zlib


def frames(events: list[dict]) -> bytes:
    body = b"".join(
        b"2J" + struct.pack(">II", seq, len(data)) + data
        for seq, data in enumerate((json.dumps(e).encode() for e in events), start=1)
    )
    packed = zlib.compress(body)
    return b"2W" + struct.pack(">I", len(events)) + b"2C" + struct.pack(">I", len(packed)) + packed


def send(
    host: str,
    port: int,
    ca: str,
    events: list[dict],
    cert: str | None = None,
    key: str | None = None,
    server_name: str | None = None,
    timeout: float = 10,
) -> int:
    context = ssl.create_default_context(cafile=ca)
    if cert:
        context.load_cert_chain(cert, key)
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=server_name or host) as tls,
    ):
        tls.sendall(frames(events))
        acked = 0
        while acked < len(events):
            head = tls.recv(6)
            if len(head) < 6:
                raise ConnectionError("connection closed before the ACK")
            if head[:2] != b"2A":
                raise ConnectionError(f"unexpected frame {head[:2]!r}")
            acked = struct.unpack(">I", head[2:])[0]
    return acked


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("ca")
    parser.add_argument("events", nargs="+")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--server-name")
    args = parser.parse_args(argv)
    try:
        acked = send(
            args.host,
            args.port,
            args.ca,
            [json.loads(e) for e in args.events],
            args.cert,
            args.key,
            args.server_name,
        )
    except (ssl.SSLError, ConnectionError, OSError) as error:
        print(f"refused: {error}")
        return 2
    print(f"acked {acked}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
