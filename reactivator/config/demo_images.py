"""The demo shop's pictures, drawn here as SVG: its logo, a banner per letter, its products, its
team and its social icons. Letters keep the shop's own addresses for them (as a real shop's
would); wherever the demo's letters are looked at (its outbox, `preview --open`, the
console), `local_images` points those addresses at these drawings, so the first look is the
real look. A real shop's addresses are left alone."""

from __future__ import annotations

import re
from pathlib import Path

from reactivator.config.demo_shop import ASSETS, CATALOG

_PALETTE = {
    "clothes": ("#f4d6c6", "#c2593b"),
    "shoes": ("#d9e4ef", "#1f3a5f"),
    "bags": ("#e6e0cf", "#7a6a3a"),
}
_BANNERS = {
    "we-miss-you": ("#1f3a5f", "#e4572e"),
    "did-we-say-something-wrong": ("#26415f", "#f2a541"),
    "our-promise": ("#1d4d3c", "#7cc49a"),
    "sorry-again": ("#3d3a4b", "#b8a9d9"),
}
_SOCIAL = {"instagram": ("#c13584", "IG"), "telegram": ("#229ed9", "TG"), "youtube": ("#e62117", "YT")}
_TEAM = {"anna": ("#e4572e", "AP"), "mark": ("#1f3a5f", "ME")}
_URL = re.compile(re.escape(ASSETS) + r"/([A-Za-z0-9/_.-]+)")


def _svg(width: int, height: int, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{body}</svg>'
    )


def _banner(key: str) -> str:
    deep, light = _BANNERS.get(key, ("#1f3a5f", "#e4572e"))
    circles = "".join(
        f'<circle cx="{x}" cy="{y}" r="{r}" fill="{light}" opacity="{o}"/>'
        for x, y, r, o in ((80, 40, 70, 0.35), (520, 170, 110, 0.25), (330, -20, 60, 0.2), (600, 20, 40, 0.4))
    )
    return _svg(600, 200, f'<rect width="600" height="200" fill="{deep}"/>{circles}')


def _product(slug: str) -> str:
    category = next((c for s, _, _, _, c in CATALOG if s == slug), "bags")
    back, ink = _PALETTE.get(category, ("#eeeeee", "#2b2b2b"))
    shape = {
        "clothes": f'<path d="M108 90 l60 -30 l60 30 l30 50 l-30 15 l-15 -25 v120 h-90 v-120 l-15 25 '
        f'l-30 -15 z" fill="{ink}"/>',
        "shoes": f'<path d="M70 200 q0 -60 40 -70 l60 20 q40 10 90 30 q20 8 20 30 v10 h-210 z" '
        f'fill="{ink}"/>',
        "bags": f'<rect x="98" y="130" width="140" height="120" rx="14" fill="{ink}"/>'
        f'<path d="M128 130 q0 -50 40 -50 q40 0 40 50" fill="none" stroke="{ink}" stroke-width="12"/>',
    }.get(category, "")
    return _svg(336, 336, f'<rect width="336" height="336" fill="{back}"/>{shape}')


def _badge(size: int, colour: str, letters: str, round_: bool) -> str:
    shape = (
        f'<circle cx="{size / 2}" cy="{size / 2}" r="{size / 2}" fill="{colour}"/>'
        if round_
        else f'<rect width="{size}" height="{size}" rx="{size / 4}" fill="{colour}"/>'
    )
    text = (
        f'<text x="{size / 2}" y="{size * 0.62}" font-family="Helvetica, Arial, sans-serif" '
        f'font-size="{size * 0.38}" font-weight="bold" text-anchor="middle" fill="#ffffff">{letters}</text>'
    )
    return _svg(size, size, shape + text)


def drawing(path: str) -> str | None:
    """The SVG for an asset path of the demo shop (`banner-we-miss-you.jpg`, `products/...`), or None."""
    stem = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if path.rsplit(".", 1)[0] == "logo":
        return _svg(
            180,
            36,
            '<rect width="36" height="36" rx="8" fill="#e4572e"/><text x="18" y="25" font-family="Helvetica, '
            'Arial, sans-serif" font-size="20" font-weight="bold" text-anchor="middle" fill="#fff">D</text>'
            '<text x="46" y="26" font-family="Helvetica, Arial, sans-serif" font-size="21" '
            'font-weight="bold" fill="#1f3a5f">Demo Shop</text>',
        )
    if path.startswith("banner-"):
        return _banner(stem.removeprefix("banner-"))
    if path.startswith("products/"):
        return _product(stem)
    if path.startswith("social/") and stem in _SOCIAL:
        return _badge(64, *_SOCIAL[stem], round_=False)
    if path.startswith("team/") and stem in _TEAM:
        return _badge(128, *_TEAM[stem], round_=True)
    return None


def file_name(path: str) -> str:
    """The file name a drawing goes by (products/canvas-tote.jpg -> products__canvas-tote.svg)."""
    return path.rsplit(".", 1)[0].replace("/", "__") + ".svg"


def drawing_named(name: str) -> str | None:
    """The drawing a `file_name` stands for, or None."""
    return drawing(name.removesuffix(".svg").replace("__", "/")) if name.endswith(".svg") else None


def local_images(html: str, prefix: str) -> tuple[str, dict[str, str]]:
    """`html` with the demo shop's image addresses pointed at `prefix` + a drawing's file name,
    and those drawings by file name (the caller writes or serves them)."""
    drawings: dict[str, str] = {}

    def swap(match: re.Match[str]) -> str:
        path = match.group(1)
        svg = drawing(path)
        if svg is None:
            return match.group(0)
        name = file_name(path)
        drawings[name] = svg
        return prefix + name

    return _URL.sub(swap, html), drawings


def write_local(html: str, folder: Path, subfolder: str = "images") -> str:
    """`html` for a file in `folder`: the demo's images written beside it, linked relatively."""
    changed, drawings = local_images(html, f"{subfolder}/")
    if drawings:
        (folder / subfolder).mkdir(parents=True, exist_ok=True)
        for name, svg in drawings.items():
            target = folder / subfolder / name
            if not target.exists():
                target.write_text(svg, encoding="utf-8")
    return changed
