"""What the mailbox providers read in DNS about a sender: SPF, DKIM keys, DMARC, MX, reverse DNS.

Lookups go through dnspython; SPF and DMARC records are fetched and parsed by
checkdmarc (include chains, lookup limits, tags). `Dns.at("127.0.0.1:5353")`
asks one given server instead of the system's resolvers (tests run one on loopback).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.resolver
import dns.reversename


class DnsProblem(Exception):
    """A record is missing or wrong; the message says which and why, for people."""


@dataclass
class Dns:
    resolver: dns.resolver.Resolver

    @classmethod
    def system(cls) -> Dns:
        return cls(dns.resolver.Resolver())

    @classmethod
    def at(cls, server: str) -> Dns:
        """Ask only `server` ("host" or "host:port")."""
        host, _, port = server.rpartition(":") if ":" in server else (server, "", "53")
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [host]
        resolver.port = int(port)
        return cls(resolver)

    def __post_init__(self) -> None:
        self.resolver.lifetime = 5.0

    def _answers(self, name: str, kind: str) -> list[Any]:
        try:
            return list(self.resolver.resolve(name, kind))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:
            raise DnsProblem(f"{name} {kind}: the DNS did not answer ({exc.__class__.__name__})") from None

    def txt(self, name: str) -> list[str]:
        return [b"".join(r.strings).decode("utf-8", "replace") for r in self._answers(name, "TXT")]

    def mx(self, name: str) -> list[str]:
        return [
            str(r.exchange).rstrip(".") for r in sorted(self._answers(name, "MX"), key=lambda r: r.preference)
        ]

    def addresses(self, name: str) -> list[str]:
        return [r.address for kind in ("A", "AAAA") for r in self._answers(name, kind)]

    def ptr(self, address: str) -> list[str]:
        return [
            str(r.target).rstrip(".")
            for r in self._answers(str(dns.reversename.from_address(address)), "PTR")
        ]

    def spf(self, domain: str) -> dict[str, Any]:
        """checkdmarc's parsed SPF record of `domain`; DnsProblem when it is missing or broken."""
        spf = _checkdmarc("spf")
        try:
            return dict(spf.get_spf_record(domain, resolver=self.resolver, timeout=5.0))
        except spf.SPFError as exc:
            raise DnsProblem(str(exc)) from None

    def dmarc(self, domain: str) -> dict[str, Any]:
        """checkdmarc's parsed DMARC record for `domain` (or its organisational domain)."""
        dmarc = _checkdmarc("dmarc")
        try:
            return dict(dmarc.get_dmarc_record(domain, resolver=self.resolver, timeout=5.0))
        except dmarc.DMARCError as exc:
            raise DnsProblem(str(exc)) from None

    @staticmethod
    def organisational(domain: str) -> str:
        """The registered domain (example.co.uk for mail.shop.example.co.uk), for DMARC alignment."""
        return str(_checkdmarc("utils").get_base_domain(domain))


def _checkdmarc(module: str) -> Any:
    # checkdmarc imports dnspython's DNSSEC support, which warns that DSA keys are deprecated.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message="DSA is deprecated")
        import importlib

        loaded = importlib.import_module(f"checkdmarc.{module}")
        importlib.import_module("checkdmarc.utils").DNS_CACHE.clear()  # never yesterday's answer
    return loaded
