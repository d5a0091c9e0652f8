"""`reactivator doctor`: what the mailbox providers check, checked before a send.

Gmail and Yahoo (since 2024) and Outlook.com (since May 2025) refuse bulk mail
that is not authenticated and aligned: SPF for the return path, a DKIM
signature, a DMARC record, and the From domain aligned with at least one of
them. Each check says what it found and, when it is not right, what to do.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from reactivator.config.links import is_local_host, relay_is_real
from reactivator.db.letters import latest_sent_letter
from reactivator.errors import ConfigError
from reactivator.mail.dkim_signing import PRIVATE_KEY_ENV, public_key_record
from reactivator.mail.dns_records import Dns, DnsProblem
from reactivator.mail.relay_probe import probe_relay
from reactivator.render.links import LetterLinks, Tokens
from reactivator.service.app import App
from reactivator.service.letters import signing_keys


class Outcome(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    found: str  # what was seen
    fix: str = ""  # what to do, when it is not ok


@dataclass(frozen=True)
class Preflight:
    checks: list[Check]

    @property
    def failed(self) -> bool:
        return any(c.outcome is Outcome.FAIL for c in self.checks)


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


@dataclass
class Doctor:
    app: App
    dns: Dns

    @property
    def from_domain(self) -> str:
        return _domain(self.app.settings.sender.from_email)

    @property
    def return_domain(self) -> str:
        return _domain(self.app.settings.delivery.return_path.replace("{token}", "x")) or self.from_domain

    def run(self) -> Preflight:
        try:
            self.dns.txt(self.from_domain)
        except DnsProblem as exc:
            # Without answers every record would look missing: say what is wrong once.
            unreachable = Check(
                "DNS", Outcome.FAIL, f"no answer from the DNS ({exc})", "check the network or --dns"
            )
            dns_checks = [unreachable]
        else:
            dns_checks = [
                self.mx_of_from(),
                self.spf(),
                self.dkim(),
                *self.dmarc_and_alignment(),
                self.mx_of_return_path(),
                self.reverse_dns(),
            ]
        return Preflight([*dns_checks, self.starttls(), self.base_url(), self.unsubscribe_round_trip()])

    # ---- DNS -----------------------------------------------------------------------------------

    def mx_of_from(self) -> Check:
        try:
            mx = self.dns.mx(self.from_domain) or self.dns.addresses(self.from_domain)
        except DnsProblem as exc:
            return Check("From domain", Outcome.FAIL, str(exc), "check the DNS of the From domain")
        if not mx:
            return Check(
                "From domain",
                Outcome.FAIL,
                f"{self.from_domain} has no MX (nor address) record",
                "receivers refuse mail from a domain that cannot receive any: publish an MX record",
            )
        return Check("From domain", Outcome.OK, f"{self.from_domain} receives mail at {', '.join(mx[:3])}")

    def spf(self) -> Check:
        domain = self.return_domain
        try:
            found = self.dns.spf(domain)
        except DnsProblem as exc:
            return Check(
                "SPF",
                Outcome.FAIL,
                f"{domain}: {exc}",
                f'publish a TXT record at {domain} such as "v=spf1 include:<your relay\'s SPF domain> -all"',
            )
        record = str(found.get("record", ""))
        qualifier = _all_qualifier(record)
        if qualifier in ("+", "?"):
            return Check(
                "SPF",
                Outcome.FAIL,
                f"{domain}: {record} lets anyone send as the domain",
                "end the record with -all (or ~all)",
            )
        if qualifier is None:
            return Check(
                "SPF", Outcome.WARN, f"{domain}: {record} has no all mechanism", "end it with -all or ~all"
            )
        warnings = [str(w) for w in found.get("warnings") or []]
        note = f" (note: {'; '.join(warnings)[:200]})" if warnings else ""
        return Check("SPF", Outcome.OK, f"{domain}: {record}{note}")

    def dkim(self) -> Check:
        dkim = self.app.settings.dkim
        if not dkim.domain:
            return Check(
                "DKIM",
                Outcome.FAIL,
                "letters are not DKIM-signed ([dkim] domain is empty)",
                f"set [dkim] domain and selector, put the private key in {PRIVATE_KEY_ENV}, publish the "
                "public key; Gmail and Yahoo require a signature from bulk senders",
            )
        private = os.environ.get(PRIVATE_KEY_ENV, "").strip()
        if not private:
            return Check(
                "DKIM", Outcome.FAIL, f"{PRIVATE_KEY_ENV} is not set", "set it to the PEM private key"
            )
        try:
            kind, expected = public_key_record(private)
        except ConfigError as exc:
            return Check("DKIM", Outcome.FAIL, "; ".join(exc.problems), "")
        name = f"{dkim.selector}._domainkey.{dkim.domain}"
        try:
            records = [r for r in self.dns.txt(name) if "p=" in r]
        except DnsProblem as exc:
            return Check("DKIM", Outcome.FAIL, str(exc), "")
        publish = f'publish a TXT record at {name}: "v=DKIM1; k={kind}; p={expected}"'
        if not records:
            return Check("DKIM", Outcome.FAIL, f"no key published at {name}", publish)
        published = re.sub(r"\s+", "", _tag(records[0], "p"))
        if published != expected:
            return Check(
                "DKIM",
                Outcome.FAIL,
                f"the key at {name} is not the public half of {PRIVATE_KEY_ENV}",
                publish,
            )
        return Check("DKIM", Outcome.OK, f"{name} publishes the key letters are signed with ({kind})")

    def dmarc_and_alignment(self) -> list[Check]:
        domain = self.from_domain
        try:
            found = self.dns.dmarc(domain)
        except DnsProblem as exc:
            missing = Check(
                "DMARC",
                Outcome.FAIL,
                f"{domain}: {exc}",
                f"publish a TXT record at _dmarc.{domain} such as "
                f'"v=DMARC1; p=none; rua=mailto:dmarc@{domain}"',
            )
            return [missing, self._alignment("r", "r")]
        tags = found.get("parsed", {}).get("tags", {})
        policy = str((tags.get("p") or {}).get("value", "none"))
        note = "" if policy != "none" else " (monitoring only: p=quarantine or reject protects the domain)"
        dmarc = Check(
            "DMARC", Outcome.OK, f"{found.get('location', domain)}: {found.get('record', '')}{note}"
        )
        adkim = str((tags.get("adkim") or {}).get("value", "r"))
        aspf = str((tags.get("aspf") or {}).get("value", "r"))
        return [dmarc, self._alignment(adkim, aspf)]

    def _alignment(self, adkim: str, aspf: str) -> Check:
        """DMARC passes when DKIM's d= or SPF's return path matches the From domain (RFC 7489 3.1)."""
        domain = self.from_domain

        def aligned(other: str, mode: str) -> bool:
            if not other:
                return False
            if mode == "s":
                return other == domain
            return Dns.organisational(other) == Dns.organisational(domain)

        dkim_ok = aligned(self.app.settings.dkim.domain.lower(), adkim)
        spf_ok = aligned(self.return_domain, aspf)
        found = (
            f"From {domain}; DKIM d={self.app.settings.dkim.domain or '(none)'} "
            f"{'aligned' if dkim_ok else 'not aligned'}; return path {self.return_domain} "
            f"{'aligned' if spf_ok else 'not aligned'}"
        )
        if dkim_ok and spf_ok:
            return Check("Alignment", Outcome.OK, found)
        if dkim_ok or spf_ok:
            return Check(
                "Alignment",
                Outcome.WARN,
                found,
                "one aligned identifier passes DMARC; align both so a forwarded letter still passes",
            )
        return Check(
            "Alignment",
            Outcome.FAIL,
            found,
            f"sign with [dkim] domain = {domain} (or a subdomain) and/or use a return path at {domain}",
        )

    def mx_of_return_path(self) -> Check:
        domain = self.return_domain
        try:
            mx = self.dns.mx(domain)
        except DnsProblem as exc:
            return Check("Bounces", Outcome.WARN, str(exc), "")
        if not mx:
            return Check(
                "Bounces",
                Outcome.WARN,
                f"{domain} (the return path) has no MX record: bounces cannot come back",
                "publish an MX for the return path's domain and read that mailbox ([feedback] mailbox)",
            )
        reads = self.app.settings.feedback.mailbox
        if not reads:
            return Check(
                "Bounces",
                Outcome.WARN,
                f"bounces go to {domain} ({mx[0]}), but no mailbox is read",
                "set [feedback] mailbox so bounces, complaints and replies are acted on",
            )
        return Check("Bounces", Outcome.OK, f"bounces go to {domain} ({mx[0]}) and are read")

    def reverse_dns(self) -> Check:
        host = self.app.settings.smtp.host
        if not relay_is_real(self.app.settings):
            return Check("Reverse DNS", Outcome.SKIPPED, f"the relay {host} is on this machine or network")
        try:
            addresses = [host] if _is_ip(host) else self.dns.addresses(host)
            if not addresses:
                return Check("Reverse DNS", Outcome.FAIL, f"{host} does not resolve", "check [smtp] host")
            names = {a: self.dns.ptr(a) for a in addresses}
        except DnsProblem as exc:
            return Check("Reverse DNS", Outcome.WARN, str(exc), "")
        missing = [a for a, found in names.items() if not found]
        if missing:
            return Check(
                "Reverse DNS",
                Outcome.WARN,
                f"no PTR record for {', '.join(missing)} ({host})",
                "an ESP's relay has its own; your own server needs a PTR matching its HELO name",
            )
        confirmed = [
            a for a, found in names.items() if any(a in self._addresses_quietly(name) for name in found)
        ]
        shown = ", ".join(f"{a} -> {names[a][0]}" for a in addresses)
        if len(confirmed) < len(addresses):
            return Check("Reverse DNS", Outcome.WARN, f"{shown}: the names do not point back", "")
        return Check("Reverse DNS", Outcome.OK, shown)

    def _addresses_quietly(self, name: str) -> list[str]:
        try:
            return self.dns.addresses(name)
        except DnsProblem:
            return []

    # ---- the relay and the links -----------------------------------------------------------------

    def starttls(self) -> Check:
        smtp = self.app.settings.smtp
        offer = asyncio.run(probe_relay(smtp))
        where = f"{smtp.host}:{smtp.port}"
        if not offer.reachable:
            return Check(
                "TLS to the relay", Outcome.FAIL, f"{where}: {offer.error}", "check [smtp] host and port"
            )
        if offer.implicit_tls:
            return Check(
                "TLS to the relay", Outcome.OK, f"{where} speaks TLS from the start (port 465 style)"
            )
        real = relay_is_real(self.app.settings)
        if offer.starttls and smtp.starttls:
            return Check("TLS to the relay", Outcome.OK, f"{where} offers STARTTLS and it is used")
        if offer.starttls:
            return Check(
                "TLS to the relay",
                Outcome.FAIL if real else Outcome.WARN,
                f"{where} offers STARTTLS but [smtp] starttls is off",
                "set [smtp] starttls = true: letters and the password would cross the network in the clear",
            )
        return Check(
            "TLS to the relay",
            Outcome.FAIL if real else Outcome.WARN,
            f"{where} offers no STARTTLS",
            "use the relay's TLS port (587 with starttls, or 465 with tls)",
        )

    def base_url(self) -> Check:
        url = self.app.settings.web.base_url
        parts = urlsplit(url)
        host = parts.hostname or ""
        if is_local_host(host):
            return Check(
                "Links",
                Outcome.FAIL,
                f"[web] base_url {url} is on this machine or network: no reader can follow the links",
                "set [web] base_url to the public https:// address of reactivator's endpoints",
            )
        try:
            addresses = [host] if _is_ip(host) else self.dns.addresses(host)
        except DnsProblem as exc:
            return Check("Links", Outcome.FAIL, str(exc), "")
        if not addresses:
            return Check("Links", Outcome.FAIL, f"{host} does not resolve", "publish an A record for it")
        local = [a for a in addresses if is_local_host(a)]
        if local:
            return Check(
                "Links",
                Outcome.FAIL,
                f"{host} resolves to {', '.join(local)}, which readers cannot reach",
                "",
            )
        if parts.scheme != "https":
            return Check(
                "Links",
                Outcome.FAIL,
                f"[web] base_url {url} is plain http",
                "serve the endpoints over HTTPS: providers and readers distrust http links, "
                "and one-click unsubscribe (RFC 8058) needs https",
            )
        return Check("Links", Outcome.OK, f"{url} ({', '.join(addresses[:2])})")

    def unsubscribe_round_trip(self) -> Check:
        """The endpoints answer at base_url; the last letter's unsubscribe page opens (GET: no change)."""
        base = self.app.settings.web.base_url
        status, _ = _get(base + "/healthz")
        if status != 200:
            return Check(
                "Unsubscribe",
                Outcome.FAIL,
                f"{base}/healthz: {status or 'no answer'}",
                "run `reactivator daemon` (or `serve`) where [web] base_url leads",
            )
        with self.app.db.read() as conn:
            letter = latest_sent_letter(conn)
        if letter is None:
            return Check(
                "Unsubscribe", Outcome.OK, f"{base} answers (no letter sent yet to follow a link of)"
            )
        tokens = Tokens(signing_keys(self.app, letter.sent_at))
        links = LetterLinks(
            tokens, base, letter.letter_id, letter.customer_id, self.app.settings.campaign.tracking
        )
        status, body = _get(links.unsubscribe)
        if status != 200 or "<form" not in body:
            return Check(
                "Unsubscribe",
                Outcome.FAIL,
                f"the last letter's unsubscribe link answers {status or 'nothing'}",
                "the endpoints at base_url must share this database and REACTIVATOR_SECRET_KEYS",
            )
        return Check("Unsubscribe", Outcome.OK, "the last letter's unsubscribe link opens its page")


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (our own base_url)
            return int(response.status), response.read(100_000).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (urllib.error.URLError, OSError):
        return 0, ""


def _all_qualifier(record: str) -> str | None:
    found = re.search(r"(?:^|\s)([+\-~?]?)all\b", record)
    if found is None:
        return None
    return found.group(1) or "+"


def _tag(record: str, name: str) -> str:
    for part in record.split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip() == name:
            return value.strip()
    return ""


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def preflight(app: App, dns_server: str | None = None) -> Preflight:
    return Doctor(app, Dns.at(dns_server) if dns_server else Dns.system()).run()
