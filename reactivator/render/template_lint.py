"""What reading a template's code finds before any letter is rendered: customer data let out of
its escaping, and text a child template writes outside its blocks (Jinja never shows it)."""

from __future__ import annotations

from collections.abc import Iterator

from jinja2 import nodes
from jinja2.environment import Environment

# Context roots that hold the shop's data (customers' and products' names): never marked safe.
UNTRUSTED_ROOTS = frozenset({"customer", "products"})


def _names(node: nodes.Node) -> Iterator[str]:
    if isinstance(node, nodes.Name):
        yield node.name
    for name in node.find_all(nodes.Name):
        yield name.name


def _untrusted_names(tree: nodes.Template) -> set[str]:
    """The untrusted roots, and every loop variable or {% set %} name that takes a value from them."""
    untrusted = set(UNTRUSTED_ROOTS)
    while True:
        before = len(untrusted)
        for loop in tree.find_all(nodes.For):
            if untrusted & set(_names(loop.iter)):
                untrusted |= set(_names(loop.target))
        for assign in tree.find_all(nodes.Assign):
            if untrusted & set(_names(assign.node)):
                untrusted |= set(_names(assign.target))
        if len(untrusted) == before:
            return untrusted


def lint_template(env: Environment, name: str, source: str) -> list[tuple[int, str]]:
    """(line, message) for each problem in one template's code; syntax errors are the compiler's."""
    try:
        tree = env.parse(source, name)
    except Exception:
        return []
    found: list[tuple[int, str]] = []
    untrusted = _untrusted_names(tree)
    for filter_node in tree.find_all(nodes.Filter):
        if filter_node.name != "safe" or filter_node.node is None:
            continue
        outside = sorted(untrusted & set(_names(filter_node.node)))
        if outside:
            found.append(
                (
                    filter_node.lineno,
                    f"|safe on {', '.join(outside)}: customer and product data stay escaped in letters "
                    "(a name like <script> must arrive as text); remove |safe",
                )
            )
    for modifier in tree.find_all(nodes.ScopedEvalContextModifier):
        for option in modifier.options:
            if option.key == "autoescape":
                found.append(
                    (modifier.lineno, "{% autoescape %} blocks are not allowed: letters always escape data")
                )
    if any(isinstance(n, nodes.Extends) for n in tree.body):
        for node in tree.body:
            if not isinstance(node, nodes.Output):
                continue
            text = next((c for c in node.nodes if isinstance(c, nodes.TemplateData) and c.data.strip()), None)
            if text is not None:
                blank = text.data[: len(text.data) - len(text.data.lstrip())]
                found.append(
                    (
                        text.lineno + blank.count("\n"),
                        "text outside any {% block %} of a template that extends another is never "
                        "shown: move it into a block",
                    )
                )
    return found
