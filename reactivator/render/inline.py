"""CSS inlining, done once per template version instead of once per letter.

Mail clients ignore most `<style>` rules, so the CSS has to sit in `style=""`
attributes. Running premailer on every finished letter costs tens of
milliseconds each; instead each template *source* is inlined once: the Jinja
constructs are swapped for inert placeholders (HTML comments between tags,
plain words inside tags), premailer inlines the layout's CSS into the markup,
and the constructs are put back. Whether that is equivalent to inlining the
finished letter depends on the template (a selector that spans two files, a
style that comes out of a variable), so the catalog proves it per template on
sample letters and falls back to per-letter inlining where it is not.

`Inliner` is the one seam for the inlining engine.
"""

from __future__ import annotations

import logging
import re
from typing import Protocol

import lxml.html
import premailer

_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_COMMENT_MARK = re.compile(r"<!--JINJA(\d+)-->")
_WORD_MARK = re.compile(r"jinjax(\d+)x")
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)
_FRAGMENT_ID = "reactivator-fragment"
_FRAGMENT = re.compile(rf'<div id="{_FRAGMENT_ID}">(.*)</div>\s*</body>', re.S)


class Inliner(Protocol):
    """Moves CSS rules into style attributes, leaving media queries in a <style> block."""

    def inline(self, html: str, css: str = "") -> str: ...


class PremailerInliner:
    """premailer with everything remote switched off: templates never reach the network."""

    def inline(self, html: str, css: str = "") -> str:
        return str(
            premailer.Premailer(
                html,
                css_text=css or None,
                allow_network=False,
                allow_loading_external_files=False,
                disable_validation=True,
                keep_style_tags=False,
                remove_classes=False,
                strip_important=False,
                cssutils_logging_level=logging.CRITICAL,
                # Mail clients that honour CSS get it inline; legacy attributes would only
                # duplicate it (and drift when a marketer changes one and not the other).
                disable_basic_attributes=["width", "height", "bgcolor", "align", "valign", "background"],
            ).transform()
        )


_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)


def _style_blocks(source: str) -> list[str]:
    return list(_STYLE.findall(_JINJA_COMMENT.sub("", source)))


def template_css(source: str) -> str:
    """The CSS of a layout's <style> blocks (which must be static: no Jinja inside)."""
    return "\n".join(_style_blocks(source))


def has_dynamic_css(source: str) -> bool:
    return any(_JINJA.search(block) for block in _style_blocks(source))


def _needs_word(before: str) -> bool:
    """Whether the end of `before` is where a comment would not survive as one.

    That is inside a tag (an attribute position) or inside <title>, whose
    content is plain text to the parser.
    """
    opened = before.rfind("<")
    if opened > before.rfind(">") and opened + 1 < len(before) and before[opened + 1] != "!":
        return True
    lowered = before.lower()
    return lowered.rfind("<title") > lowered.rfind("</title")


def protect(source: str) -> tuple[str, list[str]]:
    """Swap every Jinja construct for a placeholder premailer leaves alone."""
    constructs: list[str] = []
    out: list[str] = []
    last = 0
    for match in _JINJA.finditer(source):
        out.append(source[last : match.start()])
        index = len(constructs)
        constructs.append(match.group(0))
        # Comments survive anywhere between tags (even between table rows); inside a
        # tag only a word survives as attribute text.
        inside = _needs_word("".join(out))
        out.append(f"jinjax{index}x" if inside else f"<!--JINJA{index}-->")
        last = match.end()
    out.append(source[last:])
    return "".join(out), constructs


def restore(text: str, constructs: list[str]) -> str:
    text = _COMMENT_MARK.sub(lambda m: constructs[int(m.group(1))], text)
    return _WORD_MARK.sub(lambda m: constructs[int(m.group(1))], text)


def is_document(source: str) -> bool:
    return re.search(r"<html[\s>]", source, re.I) is not None


def inline_source(source: str, css: str, inliner: Inliner) -> str:
    """One template file with `css` inlined into its markup, Jinja constructs intact."""
    protected, constructs = protect(source)
    if is_document(source):
        inlined = inliner.inline(protected)
        doctype = re.match(r"\s*<!doctype[^>]*>", source, re.I)
        if doctype and not inlined.lstrip().lower().startswith("<!doctype"):
            inlined = doctype.group(0).strip() + "\n" + inlined
        return restore(inlined, constructs)
    if not protected.strip() or "<" not in protected.replace("<!--JINJA", ""):
        return source  # nothing but Jinja and text: no markup to style
    wrapped = f'<html><head></head><body><div id="{_FRAGMENT_ID}">{protected}</div></body></html>'
    match = _FRAGMENT.search(inliner.inline(wrapped, css))
    if match is None:
        raise ValueError("the inliner lost the template's markup")
    return restore(match.group(1), constructs)


def canonical(html: str) -> str:
    """A serialisation that ignores what HTML ignores: whitespace between tags, attribute order."""
    root = lxml.html.document_fromstring(html)
    parts: list[str] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            parts.append(f"<!--{' '.join((element.text or '').split())}-->")
        else:
            attrs = []
            for key, raw in sorted(element.attrib.items()):
                name, value = str(key), str(raw)
                if name == "style":
                    value = ";".join(d.strip().replace(" ", "") for d in value.split(";") if d.strip())
                attrs.append(f"{name}={value}")
            parts.append(f"<{element.tag} {' '.join(attrs)}>")
        text = " ".join((element.text or "").split()) if isinstance(element.tag, str) else ""
        tail = " ".join((element.tail or "").split())
        parts.append(text)
        parts.append(tail)
    return "".join(p for p in parts if p)
