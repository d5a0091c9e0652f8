"""`reactivator doctor` against a real DNS server on loopback (dnslib), real SMTP relays on
loopback (aiosmtpd, with and without STARTTLS) and the real web endpoints."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from reactivator.mail.dns_records import Dns
from reactivator.mail.memory import MemoryMailer
from reactivator.service.app import app_from_settings
from reactivator.service.delivery import send_due
from reactivator.service.doctor import Doctor, Outcome, Preflight
from reactivator.service.engagement import Engagement
from reactivator.service.passes import enroll_and_queue
from reactivator.web.endpoints import build_web_app
from tests.conftest import NOW, make_settings
from tests.dns_server import Records, dns_server
from tests.helpers import customer_row, dormant_customer
from tests.smtp_servers import CaptureHandler, free_port, smtp_server
from tests.web.conftest import running

SHOP = "shop.example.com"


def zone(public_key: str, **changes: list[str]) -> Records:
    """A shop's DNS done right; `changes` replace records ("spf", "dkim", "dmarc", "mx")."""
    records: Records = {
        (SHOP, "MX"): ["10 mx.shop.example.com"],
        ("mx.shop.example.com", "A"): ["198.51.100.25"],
        (SHOP, "TXT"): ["v=spf1 ip4:198.51.100.0/24 -all", "google-site-verification=abc"],
        (f"reactivator._domainkey.{SHOP}", "TXT"): [f"v=DKIM1; k=rsa; p={public_key}"],
        (f"_dmarc.{SHOP}", "TXT"): [f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{SHOP}"],
        ("links.shop.example.com", "A"): ["93.184.216.34"],
        ("inside.shop.example.com", "A"): ["10.0.0.5"],
        ("relay.example.net", "A"): ["198.51.100.7"],
        ("7.100.51.198.in-addr.arpa", "PTR"): ["relay.example.net"],
    }
    keys = {
        "spf": (SHOP, "TXT"),
        "dkim": (f"reactivator._domainkey.{SHOP}", "TXT"),
        "dmarc": (f"_dmarc.{SHOP}", "TXT"),
    }
    for name, values in changes.items():
        records[keys[name]] = values
    return records


def tls_context(folder: Path) -> ssl.SSLContext:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


@pytest.fixture
def relay_with_starttls(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    controller = Controller(
        CaptureHandler(), hostname="127.0.0.1", port=port, tls_context=tls_context(tmp_path)
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def outcomes(found: Preflight) -> dict[str, Outcome]:
    return {c.name: c.outcome for c in found.checks}


def doctor_for(
    db_url: str, dns: str, monkeypatch: pytest.MonkeyPatch, private: str, **settings: Any
) -> Doctor:
    monkeypatch.setenv("REACTIVATOR_DKIM_PRIVATE_KEY", private)
    base = {"dkim": {"domain": SHOP}, "feedback": {"mailbox": "/var/mail/bounces"}}
    return Doctor(app_from_settings(make_settings(db_url, **(base | settings))), Dns.at(dns))


def test_a_shop_set_up_right_passes_and_the_unsubscribe_round_trip_follows_a_real_letter(
    db_url: str, dkim_key: tuple[str, str], monkeypatch: pytest.MonkeyPatch, relay_with_starttls: int
) -> None:
    private, public = dkim_key
    web_port = free_port()
    with dns_server(zone(public)) as (dns, _):
        doctor = doctor_for(
            db_url,
            dns,
            monkeypatch,
            private,
            smtp={"port": relay_with_starttls, "starttls": True},
            web={"base_url": f"http://127.0.0.1:{web_port}", "port": web_port},
        )
        app = doctor.app
        try:
            dormant_customer(app, "c1", NOW, 100)
            enroll_and_queue(app, NOW)
            asyncio.run(send_due(app, MemoryMailer(), NOW))
            with running(build_web_app(Engagement.start(app, NOW)), web_port):
                found = doctor.run()
            assert customer_row(app, "c1")["subscription"] == "subscribed"  # the round trip changed nothing
        finally:
            app.db.dispose()
    got = outcomes(found)
    assert {
        k: got[k] for k in ("From domain", "SPF", "DKIM", "DMARC", "Alignment", "Bounces")
    } == dict.fromkeys(("From domain", "SPF", "DKIM", "DMARC", "Alignment", "Bounces"), Outcome.OK), (
        found.checks
    )
    assert got["TLS to the relay"] is Outcome.OK
    assert got["Reverse DNS"] is Outcome.SKIPPED  # a relay on loopback
    assert got["Unsubscribe"] is Outcome.OK
    assert got["Links"] is Outcome.FAIL  # the links lead to 127.0.0.1
    assert found.failed


def test_each_misconfiguration_is_named_with_its_fix(
    db_url: str, dkim_key: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, public = dkim_key
    records = zone(public[:-8] + "AAAAAAA=", spf=["v=spf1 +all"], dmarc=["not a dmarc record"])
    handler = CaptureHandler()
    with dns_server(records) as (dns, _), smtp_server(handler) as plain_port:
        doctor = doctor_for(
            db_url,
            dns,
            monkeypatch,
            private,
            dkim={"domain": "mailer.example.net"},
            smtp={"port": plain_port},
            web={"base_url": "https://inside.shop.example.com"},
        )
        try:
            found = doctor.run()
        finally:
            doctor.app.db.dispose()
    checks = {c.name: c for c in found.checks}
    assert checks["SPF"].outcome is Outcome.FAIL
    assert "lets anyone send" in checks["SPF"].found
    assert checks["DKIM"].outcome is Outcome.FAIL
    assert "no key published at reactivator._domainkey.mailer.example.net" in checks["DKIM"].found
    assert public in checks["DKIM"].fix  # the record to publish, with the right key
    assert checks["DMARC"].outcome is Outcome.FAIL
    assert checks["Alignment"].outcome is Outcome.WARN  # the return path is aligned, DKIM d= is not
    assert checks["TLS to the relay"].outcome is Outcome.WARN  # no STARTTLS, but the relay is local
    assert checks["Links"].outcome is Outcome.FAIL
    assert "resolves to 10.0.0.5" in checks["Links"].found


def test_a_key_that_is_not_the_signing_keys_half_fails(
    db_url: str, dkim_key: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, public = dkim_key
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = other.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    import base64

    with dns_server(zone(public, dkim=[f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"])) as (dns, _):
        doctor = doctor_for(db_url, dns, monkeypatch, private)
        try:
            check = doctor.dkim()
        finally:
            doctor.app.db.dispose()
    assert check.outcome is Outcome.FAIL
    assert "is not the public half" in check.found


def test_public_links_and_reverse_dns_of_a_real_relay(
    db_url: str, dkim_key: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, public = dkim_key
    with dns_server(zone(public)) as (dns, _):
        doctor = doctor_for(
            db_url,
            dns,
            monkeypatch,
            private,
            smtp={"host": "relay.example.net"},
            web={"base_url": "https://links.shop.example.com"},
        )
        try:
            links, reverse = doctor.base_url(), doctor.reverse_dns()
        finally:
            doctor.app.db.dispose()
    assert (links.outcome, reverse.outcome) == (Outcome.OK, Outcome.OK), (links, reverse)
    assert "198.51.100.7 -> relay.example.net" in reverse.found


def test_a_dns_that_does_not_answer_is_said_once(
    db_url: str, monkeypatch: pytest.MonkeyPatch, dkim_key: tuple[str, str]
) -> None:
    doctor = doctor_for(db_url, f"127.0.0.1:{free_port()}", monkeypatch, dkim_key[0])
    try:
        doctor.dns.resolver.lifetime = 1.0
        found = doctor.run()
    finally:
        doctor.app.db.dispose()
    assert [c.name for c in found.checks][:2] == ["DNS", "TLS to the relay"]


def test_the_command_prints_each_check_at_80_columns_and_fails_on_a_failure(
    tmp_path: Path, dkim_key: tuple[str, str]
) -> None:
    from tests.test_cli import cli

    private, public = dkim_key
    env = {
        "REACTIVATOR_DATABASE__URL": f"sqlite:///{tmp_path / 'shop.db'}",
        "REACTIVATOR_DKIM__DOMAIN": SHOP,
        "REACTIVATOR_DKIM_PRIVATE_KEY": private,
        "COLUMNS": "80",
    }
    assert cli("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    with dns_server(zone(public)) as (dns, _):
        shown = cli("doctor", "--dns", dns, cwd=tmp_path, env=env)
        as_json = cli("doctor", "--dns", dns, "--json", cwd=tmp_path, env=env)
    assert shown.returncode == 1, shown.stderr
    lines = shown.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any(line.startswith("ok    DKIM: reactivator._domainkey.shop.example.com") for line in lines), (
        lines
    )
    assert any(line.startswith("FAIL  Links:") for line in lines)
    assert "Fix the failures before a real send." in shown.stdout
    import json

    parsed = json.loads(as_json.stdout)
    assert parsed["failed"] is True
    assert {c["name"]: c["outcome"] for c in parsed["checks"]}["SPF"] == "ok"
