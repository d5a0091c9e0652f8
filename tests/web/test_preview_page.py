"""The marketers' preview page in a real headless Chromium, against real servers."""

from __future__ import annotations

import io
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import dkim
import pytest
from PIL import Image

from tests.conftest import NOW, dkim_dns
from tests.helpers import dormant_customer
from tests.smtp_servers import CaptureHandler
from tests.web.conftest import PreviewServer, serve_preview

BUTTON_ORANGE = (0xE4, 0x57, 0x2E)  # the call-to-action button of the shipped layout


def screenshot(page: Any, tmp_path: Path, name: str) -> Image.Image:
    """A PNG of the page, kept where a person can look at it (REACTIVATOR_SCREENSHOTS or tmp)."""
    folder = Path(os.environ.get("REACTIVATOR_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    png = page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    return Image.open(io.BytesIO(png)).convert("RGB")


def colours(image: Image.Image) -> set[tuple[int, int, int]]:
    return {rgb for _count, rgb in image.getcolors(maxcolors=1_000_000) or []}


def test_the_index_shows_the_whole_ladder_in_both_languages(
    preview_server: PreviewServer, browser: Any, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(preview_server.url + "/letters")
    rows = page.locator("#ladder tr[data-step]")
    assert rows.count() == 4
    assert [rows.nth(i).get_attribute("data-step") for i in range(4)] == [
        "we-miss-you",
        "did-we-say-something-wrong",
        "our-promise",
        "sorry-again",
    ]
    assert page.locator("#ladder .ok").count() == 8  # 4 steps x 2 languages pass the check
    assert "10%" in rows.nth(0).inner_text()
    assert "90 days" in rows.nth(0).inner_text()
    image = screenshot(page, tmp_path, "index")
    assert image.width == 1200
    assert len(colours(image)) > 20


def test_a_letter_shows_its_inbox_line_parts_and_widths(
    preview_server: PreviewServer, browser: Any, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(preview_server.url + "/letter/ru/we-miss-you?sample=cyrillic")
    assert "Ольга" in page.locator("#subject").inner_text()
    assert page.locator("#preheader").inner_text().strip() != ""
    frame = page.frame_locator("#letter")
    assert "SAMPLE-7Q4K9M" in frame.locator("body").inner_text()
    assert page.locator("#letter").bounding_box()["width"] == 680
    image = screenshot(page, tmp_path, "letter")
    assert BUTTON_ORANGE in colours(image)  # the letter's bright button was drawn

    page.click("#mobile")
    assert page.locator("#letter").bounding_box()["width"] == 375
    page.click("[data-tab=text]")
    assert page.locator("#tab-text").is_visible()
    assert not page.locator("#tab-html").is_visible()
    assert "SAMPLE-7Q4K9M" in page.locator("#tab-text pre").inner_text()
    page.click("[data-tab=headers]")
    assert "List-Unsubscribe=One-Click" in page.locator("#tab-headers").inner_text()
    page.click("[data-tab=source]")
    assert "Content-Type: multipart/alternative" in page.locator("#tab-source").inner_text()


def test_send_test_delivers_a_marked_copy_through_smtp(preview_server: PreviewServer, browser: Any) -> None:
    page = browser.new_page()
    page.goto(preview_server.url + "/letter/en/our-promise?sample=vip")
    page.fill("#send-test input[name=address]", "marketer@example.com")
    page.click("#send-test button")
    page.wait_for_selector("#notice")
    assert "test letter sent to marketer@example.com" in page.locator("#notice").inner_text()
    ((recipients, message),) = preview_server.mail.messages
    assert recipients == ["marketer@example.com"]
    assert str(message["Subject"]).startswith("[TEST] ")
    assert str(message["To"]) == "marketer@example.com"
    assert "sample@reactivator.invalid" not in str(message["Message-ID"])


def test_saving_a_template_reloads_the_page_with_the_new_letter(
    preview_server: PreviewServer, browser: Any
) -> None:
    page = browser.new_page()
    page.goto(preview_server.url + "/letter/en/we-miss-you")
    page.wait_for_timeout(500)  # let the page subscribe to changes
    html = preview_server.templates / "en/we-miss-you.html.j2"
    html.write_text(html.read_text().replace("We miss you!", "Long time no see!"))
    page.frame_locator("#letter").locator("text=Long time no see!").wait_for(timeout=15_000)


def test_a_broken_template_shows_file_and_line_never_a_stack_trace(
    preview_server: PreviewServer, browser: Any
) -> None:
    html = preview_server.templates / "en/we-miss-you.html.j2"
    html.write_text(html.read_text().replace("{% endblock %}", "{% endblok %}", 1))
    page = browser.new_page()
    response = page.goto(preview_server.url + "/letter/en/we-miss-you")
    assert response.status == 422
    problems = page.locator("#problems").inner_text()
    assert "en/we-miss-you.html.j2:2" in problems
    assert "syntax error" in problems
    assert "Traceback" not in page.content()
    page.goto(preview_server.url + "/letters")
    assert "1 error" in page.locator("#ladder tr[data-step=we-miss-you]").inner_text()


def test_a_real_customer_can_be_previewed_by_id(preview_server: PreviewServer, browser: Any) -> None:
    dormant_customer(preview_server.app, "C-77", NOW, 200, first_name="Greta", locale="en")
    page = browser.new_page()
    page.goto(preview_server.url + "/letter/en/did-we-say-something-wrong?customer=C-77")
    assert "Greta" in page.frame_locator("#letter").locator("body").inner_text()


def test_hostile_requests_get_client_errors(preview_server: PreviewServer) -> None:
    for path in ("/letter/xx/we-miss-you", "/raw/en/no-such-step", "/letter/en/we-miss-you?sample=nobody"):
        try:
            urllib.request.urlopen(preview_server.url + path)
            status = 200
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert 400 <= status < 500, path
    big = urllib.request.Request(
        preview_server.url + "/letter/en/we-miss-you/send-test",
        data=b"address=" + b"a" * 10_000,
        method="POST",
    )
    try:
        urllib.request.urlopen(big)
        status = 200
    except urllib.error.HTTPError as exc:
        status = exc.code
    assert status == 413
    assert preview_server.mail.messages == []


def test_another_site_cannot_make_the_page_send_mail(preview_server: PreviewServer) -> None:
    def post(headers: dict[str, str]) -> int:
        request = urllib.request.Request(
            preview_server.url + "/letter/en/we-miss-you/send-test",
            data=b"address=victim%40example.com",
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
            method="POST",
        )
        try:
            return int(urllib.request.urlopen(request).status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post({"Origin": "https://evil.example"}) == 403
    assert post({"Host": "evil.example"}) == 400
    assert preview_server.mail.messages == []


def test_a_test_letter_is_dkim_signed_exactly_like_a_real_one(
    tmp_path: Path,
    sqlite_url: str,
    capture_smtp: tuple[int, CaptureHandler],
    dkim_key: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private, public = dkim_key
    monkeypatch.setenv("REACTIVATOR_DKIM_PRIVATE_KEY", private)
    with serve_preview(tmp_path, sqlite_url, capture_smtp, dkim={"domain": "shop.example.com"}) as server:
        request = urllib.request.Request(
            server.url + "/letter/ru/we-miss-you/send-test?sample=cyrillic",
            data=b"address=marketer%40example.com",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        urllib.request.urlopen(request)
        (raw,) = server.mail.raw
    assert raw.startswith(b"DKIM-Signature:")
    assert dkim.verify(raw, dnsfunc=dkim_dns(public))
