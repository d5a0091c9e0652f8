"""Coupons that a shop's checkout accepts: the pool of the shop's own codes, and the export of ours."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from reactivator.errors import InputError
from reactivator.mail.memory import MemoryMailer
from reactivator.service.app import App, app_from_settings
from reactivator.service.coupons import export_generated, import_pool, low_pools
from reactivator.service.delivery import send_due
from reactivator.service.passes import enroll_and_queue
from reactivator.service.status import status
from tests.conftest import NOW, make_settings
from tests.helpers import buy, dormant_customer, enrollments_of, letters_of


def codes_file(tmp_path: Path, *codes: str, header: bool = True) -> Path:
    path = tmp_path / "codes.csv"
    path.write_text(("code\n" if header else "") + "\n".join(codes) + "\n")
    return path


def test_a_pool_loads_each_code_once_and_says_what_it_refused(app: App, tmp_path: Path) -> None:
    summary = import_pool(
        app, "we-miss-you", codes_file(tmp_path, "shop-0001", "SHOP-0002", "shop-0001", "bad code!"), NOW
    )
    assert (summary.added, summary.rejected, summary.unused) == (2, 2, 2)
    assert [reason for _, reason in summary.first_rejects] == [
        "duplicate code SHOP-0001 (first on line 2)",
        "code 'bad code!': use letters, digits, '-' and '_', at most 64",
    ]
    again = import_pool(app, "we-miss-you", codes_file(tmp_path, "SHOP-0002", "SHOP-0003", header=False), NOW)
    assert (again.added, again.already, again.unused) == (1, 1, 3)
    with pytest.raises(InputError, match="no step 'nope'"):
        import_pool(app, "nope", codes_file(tmp_path, "X-1"), NOW)
    with pytest.raises(InputError, match="gives no discount"):
        import_pool(app, "sorry-again", codes_file(tmp_path, "X-1"), NOW)


def test_letters_carry_the_shops_codes_each_once_and_wait_when_the_pool_is_empty(
    app: App, tmp_path: Path
) -> None:
    for n in range(3):
        dormant_customer(app, f"c{n}", NOW, 100)
    import_pool(app, "we-miss-you", codes_file(tmp_path, "SHOP-A", "SHOP-B"), NOW)
    enroll_and_queue(app, NOW)
    codes = [letters_of(app, f"c{n}")[0]["coupon_code"] for n in range(3)]
    assert sorted(c for c in codes if c) == ["SHOP-A", "SHOP-B"]
    assert codes.count(None) == 1  # the pool ran out: this one waits, it does not go without a code
    mailer = MemoryMailer()
    report = asyncio.run(send_due(app, mailer, NOW))
    assert (report.sent, report.deferred) == (2, 1)
    waiting = next(letters_of(app, f"c{n}")[0] for n in range(3) if codes[n] is None)
    assert "coupon pool of we-miss-you has no unused code" in str(waiting["last_error"])
    assert low_pools(app)  # and the shop is told
    assert any("coupon pool of we-miss-you is low" in a for a in status(app, NOW).alerts)
    import_pool(app, "we-miss-you", codes_file(tmp_path, "SHOP-C"), NOW)
    later = asyncio.run(send_due(app, mailer, NOW + timedelta(hours=2)))
    assert later.sent == 1
    assert len(mailer.sent) == 3
    bodies = " ".join(m.get_body(("plain",)).get_content() for _, m in mailer.sent)  # type: ignore[union-attr]
    assert all(code in bodies for code in ("SHOP-A", "SHOP-B", "SHOP-C"))
    assert sorted(str(letters_of(app, f"c{n}")[0]["coupon_code"]) for n in range(3)) == [
        "SHOP-A",
        "SHOP-B",
        "SHOP-C",
    ]


def test_an_order_paid_with_a_pool_code_is_credited_to_its_letter(app: App, tmp_path: Path) -> None:
    dormant_customer(app, "c1", NOW, 100)
    import_pool(app, "we-miss-you", codes_file(tmp_path, "shop-777"), NOW)
    enroll_and_queue(app, NOW)
    asyncio.run(send_due(app, MemoryMailer(), NOW))
    buy(app, "c1", NOW + timedelta(days=3), coupon="Shop-777", now=NOW + timedelta(days=3))
    enrollment = enrollments_of(app, "c1")[0]
    assert (enrollment["status"], enrollment["return_coupon"], enrollment["return_step"]) == (
        "returned",
        "SHOP-777",
        "we-miss-you",
    )


def test_our_codes_are_exported_for_the_checkout_and_the_shops_are_not(db_url: str, tmp_path: Path) -> None:
    app = app_from_settings(make_settings(db_url, campaign={"coupon_expiry_days": 30}))
    dormant_customer(app, "mine", NOW, 100)
    dormant_customer(app, "pooled", NOW, 200)
    import_pool(app, "did-we-say-something-wrong", codes_file(tmp_path, "SHOP-POOL"), NOW)
    enroll_and_queue(app, NOW)
    rows = list(csv.DictReader(io.StringIO(export_generated(app, None))))
    ours = letters_of(app, "mine")[0]
    assert rows == [
        {
            "code": ours["coupon_code"],
            "discount_type": "percentage",
            "value": "10",
            "usage_limit": "1",
            "ends_at": ours["coupon_expires_at"].isoformat(),  # type: ignore[union-attr]
            "step": "we-miss-you",
        }
    ]
    app.db.dispose()
