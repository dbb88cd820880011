#!/usr/bin/env python3
"""Probe a Consul server's RPC port: does it accept TLS without a client certificate?

Usage: rpc_tls_probe.py HOST PORT CA [CERT KEY]
Prints JSON {"accepted": bool, "detail": str}. Consul's RPC port reads one byte
naming the protocol (0x03 = TLS) and then, with verify_incoming, demands a client
certificate. A connection the server accepted stays open waiting for an RPC
(the read times out); a refused one ends with a TLS alert or a closed socket.
"""

import json
import socket
import ssl
import sys

RPC_TLS = b"\x03"


def probe(host: str, port: int, ca: str, cert: str | None, key: str | None) -> dict:
    context = ssl.create_default_context(cafile=ca)
    context.check_hostname = False
    if cert and key:
        context.load_cert_chain(cert, key)
    with socket.create_connection((host, port), timeout=5) as raw:
        raw.sendall(RPC_TLS)
        try:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                tls.settimeout(2)
                data = tls.recv(1)
                return {"accepted": False, "detail": f"closed by server ({data!r})"}
        except TimeoutError:
            return {"accepted": True, "detail": "connection held open"}
        except (ssl.SSLError, ConnectionError) as exc:
            return {"accepted": False, "detail": str(exc)}


if __name__ == "__main__":
    args = sys.argv[1:]
    result = probe(args[0], int(args[1]), args[2], *(args[3:5] or [None, None]))
    print(json.dumps(result))
