"""Which products a letter shows: chosen from the customer's own history, never what they own.

Three sources, each with its reason (the preview shows it):
- related: products bought together with what the customer bought (from all
  the shop's orders), the most often first;
- category: popular products of the categories the customer bought most;
- bestsellers: what sells most lately.
Only products in stock. Customers gone 9 months and more get related and
complementary products first (the reactivation advice for the longest gone);
the others their categories first. Pure: the catalog and history come in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# From this many days dormant a step shows related and complementary products first.
RELATED_FIRST_FROM_DAYS = 270


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    name: str
    url: str
    price_cents: int
    image_url: str | None = None
    category: str = ""
    in_stock: bool = True
    names: Mapping[str, str] = field(default_factory=dict)  # per language, where the shop translates

    def name_in(self, locale: str) -> str:
        return self.names.get(locale) or self.name


@dataclass(frozen=True, slots=True)
class Pick:
    product: Product
    source: str  # related | category | bestseller
    why: str  # for people: "bought together with Linen shirt"


@dataclass(frozen=True)
class Catalog:
    """What recommendations read of the shop: products, their partners, categories, bestsellers."""

    products: Mapping[int, Product]
    related: Mapping[int, tuple[int, ...]] = field(default_factory=dict)  # most often together first
    by_category: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # most sold first
    bestsellers: tuple[int, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.products


@dataclass(frozen=True, slots=True)
class History:
    """What one customer bought: products (most bought first) and categories (most bought first)."""

    owned: tuple[int, ...] = ()
    categories: tuple[str, ...] = ()


def recommend(history: History, catalog: Catalog, count: int, *, related_first: bool) -> list[Pick]:
    """Up to `count` products for this customer, each once, in stock, none they own."""
    owned = set(history.owned)
    chosen: list[Pick] = []
    taken: set[int] = set()

    def offer(candidates: Iterable[tuple[int, str, str]]) -> None:
        for product_id, source, why in candidates:
            if len(chosen) >= count:
                return
            product = catalog.products.get(product_id)
            if product is None or not product.in_stock or product_id in owned or product_id in taken:
                continue
            taken.add(product_id)
            chosen.append(Pick(product, source, why))

    related = _related(history, catalog)
    categories = _categories(history, catalog)
    order = (related, categories) if related_first else (categories, related)
    for source in order:
        offer(source)
    offer((pid, "bestseller", "a bestseller lately") for pid in catalog.bestsellers)
    return chosen


def _related(history: History, catalog: Catalog) -> Iterable[tuple[int, str, str]]:
    """Partners of each product the customer owns, by how often they sell together: the strongest
    partner of each owned product first, then the second of each, so no one product takes all."""
    partners = [(owned, catalog.related.get(owned, ())) for owned in history.owned]
    depth = max((len(p) for _, p in partners), default=0)
    for rank in range(depth):
        for owned, found in partners:
            if rank < len(found):
                source = catalog.products.get(owned)
                label = source.name if source is not None else "what you bought"
                yield found[rank], "related", f"bought together with {label}"


def _categories(history: History, catalog: Catalog) -> Iterable[tuple[int, str, str]]:
    for category in history.categories:
        for product_id in catalog.by_category.get(category, ()):
            yield product_id, "category", f"from {category}, which you bought"


def related_first(from_days: int) -> bool:
    """Whether a step this many days dormant shows related and complementary products first."""
    return from_days >= RELATED_FIRST_FROM_DAYS
