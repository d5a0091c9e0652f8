"""CSS inlined once per template version gives the very letter per-letter inlining gives."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from reactivator.render.check import check
from reactivator.render.composer import Composer
from reactivator.render.inline import PremailerInliner, canonical, inline_source, protect, restore
from reactivator.render.samples import SAMPLE_NAMES, at_step, sample_letter
from tests.render.conftest import NOW, make_composer


def test_protect_and_restore_give_back_the_source_exactly() -> None:
    source = (
        '<p class="a" {% if x %}id="b"{% endif %}>{{ name }}</p>'
        "<title>{% block t %}{% endblock %}</title>{# c #}"
    )
    protected, constructs = protect(source)
    assert "{" not in protected
    assert restore(protected, constructs) == source


def test_inlining_a_source_keeps_every_jinja_construct_and_styles_the_markup() -> None:
    source = (
        '<table>{% for p in products %}<tr><td class="card"><a href="{{ p.url }}">{{ p.name }}</a>'
        "</td></tr>{% endfor %}</table>"
    )
    out = inline_source(source, ".card { padding: 8px; }", PremailerInliner())
    assert "{% for p in products %}" in out
    assert "{% endfor %}" in out
    assert 'href="{{ p.url }}"' in out
    assert 'style="padding:8px"' in out


def test_inline_once_equals_per_letter_inlining_for_every_shipped_template(shipped: Composer) -> None:
    result = check(shipped, NOW)
    assert not [p for p in result.problems if "inlined per letter" in p.message]
    assert shipped.catalog.per_letter == set()
    for step in shipped.steps():
        for locale in shipped.locales:
            for sample in SAMPLE_NAMES:
                letter = at_step(
                    sample_letter(sample, NOW), step.key, step.index, step.discount_percent, step.kind, NOW
                )
                composed = shipped.compose(letter, NOW, locale=locale)
                raw = shipped.catalog.render_raw_html(locale, step.key, composed.context)
                assert canonical(composed.untracked_html) == canonical(shipped.catalog.inline_letter(raw)), (
                    f"{locale}/{step.key} for {sample}"
                )


def test_inlined_letters_keep_media_queries_and_have_no_class_only_styling_left(shipped: Composer) -> None:
    letter = at_step(sample_letter("vip", NOW), "our-promise", 2, 20, "ladder", NOW)
    html = shipped.compose(letter, NOW).untracked_html
    assert "@media only screen and (max-width: 620px)" in html
    assert "prefers-color-scheme: dark" in html
    button = re.search(r'<a class="button"[^>]*>', html)
    assert button is not None
    assert "background-color:#e4572e" in button.group(0)  # the call to action is styled inline


def test_a_selector_spanning_files_falls_back_to_per_letter_inlining_and_says_so(
    template_copy: Callable[[], Path],
) -> None:
    folder = template_copy()
    layout = folder / "_layout.html.j2"
    layout.write_text(layout.read_text().replace(".lead {", ".content .lead { color: #123456; }\n.lead {", 1))
    composer = make_composer(folder)
    result = check(composer, NOW)
    assert result.errors == []
    assert any("inlined per letter" in p.message and p.level == "note" for p in result.problems)
    assert ("en", "we-miss-you") in composer.catalog.per_letter
    letter = at_step(sample_letter("new", NOW), "we-miss-you", 0, 10, "ladder", NOW)
    html = composer.compose(letter, NOW).untracked_html
    assert "color:#123456" in html.replace(" ", "")  # the rule reached the paragraph after all
