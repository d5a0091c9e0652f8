"""Recommendations on a small shop where the right answer is known by hand, on both backends.

The catalog: shirts (linen, oxford, flannel), socks (wool, cotton), kitchen
(kettle, mug, teapot; the teapot is out of stock). Other customers' orders put
linen shirts with wool socks three times and with cotton socks once, kettles
with mugs twice and with teapots twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from reactivator.core.recommend import Catalog, History, Product, recommend
from reactivator.db.tables import letter_products, product_pairs, products
from reactivator.render.catalog import Catalog as TemplateCatalog
from reactivator.render.catalog import read_folder
from reactivator.render.composer import Composer
from reactivator.render.links import Tokens
from reactivator.service.app import App
from reactivator.service.imports import ImportKind, import_file
from reactivator.service.passes import enroll_and_queue
from tests.helpers import letters_of

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CATALOG = """id,name,url,price,category,in_stock,name_ru,image_url
linen,Linen shirt,https://shop.example.com/linen,25.00,shirts,yes,Льняная рубашка,https://shop.example.com/i/linen.jpg
oxford,Oxford shirt,https://shop.example.com/oxford,30.00,shirts,yes,Оксфордская рубашка,
flannel,Flannel shirt,https://shop.example.com/flannel,35.00,shirts,yes,,
wool,Wool socks,https://shop.example.com/wool,8.00,socks,yes,Шерстяные носки,
cotton,Cotton socks,https://shop.example.com/cotton,5.00,socks,yes,,
kettle,Kettle,https://shop.example.com/kettle,40.00,kitchen,yes,Чайник,
mug,Mug,https://shop.example.com/mug,9.00,kitchen,yes,Кружка,
teapot,Teapot,https://shop.example.com/teapot,20.00,kitchen,no,,
"""


def days_ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat()


def shop(app: App, tmp_path: Path) -> None:
    (tmp_path / "products.csv").write_text(CATALOG)
    people = ["id,email,locale"] + [
        f"{c},{c}@example.com,{'ru' if c == 'yuri' else 'en'}"
        for c in ("xena", "yuri", "o1", "o2", "o3", "o4", "o5", "o6")
    ]
    (tmp_path / "customers.csv").write_text("\n".join(people) + "\n")
    orders = ["id,customer_id,placed_at,amount"]
    lines = ["order_id,name,quantity,price,product_id"]
    others = [
        ("o1", ["linen", "wool"]),
        ("o2", ["linen", "wool"]),
        ("o3", ["linen", "wool", "oxford"]),
        ("o4", ["linen", "cotton"]),
        ("o5", ["kettle", "mug", "teapot"]),
        ("o6", ["kettle", "mug", "teapot"]),
    ]
    for n, (customer, bought) in enumerate(others):
        orders.append(f"B{n},{customer},{days_ago(10 + n)},10.00")
        lines += [f"B{n},{p},1,5.00,{p}" for p in bought]
    orders += [f"X1,xena,{days_ago(100)},25.00", f"Y1,yuri,{days_ago(400)},40.00"]
    lines += ["X1,Linen shirt,1,25.00,linen", "Y1,Kettle,1,40.00,kettle"]
    (tmp_path / "orders.csv").write_text("\n".join(orders) + "\n")
    (tmp_path / "lines.csv").write_text("\n".join(lines) + "\n")
    for kind, name in (
        (ImportKind.PRODUCTS, "products.csv"),
        (ImportKind.CUSTOMERS, "customers.csv"),
        (ImportKind.ORDERS, "orders.csv"),
        (ImportKind.ORDER_LINES, "lines.csv"),
    ):
        summary = import_file(app, kind, tmp_path / name, NOW - timedelta(days=1))
        assert summary.rejected == 0, summary.first_rejects


def chosen(app: App, customer: str) -> list[tuple[str, str]]:
    letter = letters_of(app, customer)[0]
    with app.db.read() as conn:
        rows = conn.execute(
            select(products.c.external_id, letter_products.c.source)
            .join(products, products.c.id == letter_products.c.product_id)
            .where(letter_products.c.letter_id == letter["id"])
            .order_by(letter_products.c.position)
        ).all()
    return [(r.external_id, r.source) for r in rows]


def test_bought_together_is_counted_from_every_purchase(app: App, tmp_path: Path) -> None:
    shop(app, tmp_path)
    enroll_and_queue(app, NOW)
    with app.db.read() as conn:
        ids = {r.id: r.external_id for r in conn.execute(select(products.c.id, products.c.external_id))}
        pairs = {
            (ids[r.product_id], ids[r.related_id]): r.orders for r in conn.execute(select(product_pairs))
        }
    assert pairs[("linen", "wool")] == 3
    assert pairs[("linen", "cotton")] == 1
    assert pairs[("linen", "oxford")] == 1
    assert pairs[("kettle", "mug")] == pairs[("kettle", "teapot")] == 2
    assert ("linen", "kettle") not in pairs


def test_each_letter_shows_products_from_the_customers_history_never_what_they_own(
    app: App, tmp_path: Path
) -> None:
    shop(app, tmp_path)
    enroll_and_queue(app, NOW)
    # Xena (100 days, we-miss-you): her category first (oxford sold more lately than flannel),
    # then what goes with her linen shirt; never the linen shirt she owns.
    assert chosen(app, "xena") == [("oxford", "category"), ("flannel", "category"), ("wool", "related")]
    # Yuri (400 days, our-promise): related and complementary first; the teapot is out of stock.
    assert chosen(app, "yuri")[:1] == [("mug", "related")]
    assert ("teapot", "related") not in chosen(app, "yuri")
    assert all(p != "kettle" for p, _ in chosen(app, "yuri"))


def test_the_letter_shows_the_chosen_products_in_the_customers_language(app: App, tmp_path: Path) -> None:
    shop(app, tmp_path)
    enroll_and_queue(app, NOW)
    from reactivator.db import letters as letter_rows

    with app.db.read() as conn:
        letter = letter_rows.load(conn, [int(letters_of(app, "yuri")[0]["id"])])[0]
    folder = app.settings.templates.dir
    composer = Composer(app.settings, TemplateCatalog(folder, read_folder(folder)), Tokens(["k" * 32]))
    composed = composer.compose(letter, NOW)
    assert "Кружка" in composed.html  # the mug, under its Russian name
    assert "Mug" not in composed.html
    products_shown = composed.context["products"]
    assert products_shown[0]["why"] == "bought together with Kettle"


def test_the_core_rules_by_hand() -> None:
    catalog = Catalog(
        products={
            1: Product(1, "A", "https://x/1", 100, category="c"),
            2: Product(2, "B", "https://x/2", 100, category="c"),
            3: Product(3, "C", "https://x/3", 100, category="d", in_stock=False),
            4: Product(4, "D", "https://x/4", 100, category="d"),
        },
        related={1: (3, 4, 2)},
        by_category={"c": (1, 2), "d": (3, 4)},
        bestsellers=(4, 2, 1),
    )
    history = History(owned=(1,), categories=("c",))
    assert [(p.product.id, p.source) for p in recommend(history, catalog, 3, related_first=False)] == [
        (2, "category"),
        (4, "related"),
    ]
    assert [(p.product.id, p.source) for p in recommend(history, catalog, 1, related_first=True)] == [
        (4, "related")
    ]
    newcomer = recommend(History(), catalog, 2, related_first=True)
    assert [(p.product.id, p.source) for p in newcomer] == [(4, "bestseller"), (2, "bestseller")]
