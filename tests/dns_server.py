"""A real DNS server on loopback for tests (dnslib), answering from a dict of records, over UDP and TCP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dnslib import AAAA, MX, PTR, QTYPE, RCODE, RR, TXT, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from reactivator.mail.capture import free_port

Records = dict[
    tuple[str, str], list[str]
]  # (name, type) -> values, e.g. ("shop.example.com", "MX"): ["10 mx.x"]


def _rdata(kind: str, value: str) -> Any:
    if kind == "TXT":
        data = value.encode()
        return TXT([data[i : i + 255] for i in range(0, len(data), 255)])  # long records: several strings
    if kind == "MX":
        preference, host = value.split()
        return MX(host, int(preference))
    return {"A": A, "AAAA": AAAA, "PTR": PTR}[kind](value)


class ZoneOf(BaseResolver):  # type: ignore[misc]
    def __init__(self, records: Records) -> None:
        self.records = {(name.lower().rstrip("."), kind): values for (name, kind), values in records.items()}
        self.queries: list[tuple[str, str]] = []

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        kind = QTYPE[request.q.qtype]
        self.queries.append((name, kind))
        for value in self.records.get((name, kind), []):
            reply.add_answer(RR(name, getattr(QTYPE, kind), rdata=_rdata(kind, value), ttl=60))
        if not reply.rr and not any(n == name for n, _ in self.records):
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


@contextmanager
def dns_server(records: Records) -> Iterator[tuple[str, ZoneOf]]:
    """Serve `records` on 127.0.0.1; yields ("127.0.0.1:port", the resolver that logs queries)."""
    zone = ZoneOf(records)
    port = free_port()
    quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
    servers = [
        DNSServer(zone, port=port, address="127.0.0.1", tcp=tcp, logger=quiet) for tcp in (False, True)
    ]
    for server in servers:
        server.start_thread()
    try:
        yield f"127.0.0.1:{port}", zone
    finally:
        for server in servers:
            server.stop()
            server.server.server_close()
