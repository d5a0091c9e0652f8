"""The schema. Alembic migrations (db/migrations) are generated from and checked against this."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from reactivator.db.types import Id, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

customers = Table(
    "customers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("external_id", String(128), nullable=False, unique=True),
    Column("email", String(320)),  # NULL once erased
    Column("email_key", String(320), unique=True),  # lower-cased, for uniqueness
    Column("first_name", String(200)),
    Column("last_name", String(200)),
    Column("locale", String(8)),
    Column("timezone", String(64)),
    Column("account_manager", String(200)),
    # ';vip;bad_payer;' so that one tag is matched with LIKE '%;tag;%' in set-based SQL.
    Column("tags", String(1000), nullable=False, server_default=""),
    Column("subscription", String(16), nullable=False, server_default="subscribed"),
    Column("unsubscribed_at", UTCDateTime),
    Column("paused_until", UTCDateTime),  # the customer asked for no letters until then
    # Aggregates over orders, written in the same transaction as every order.
    Column("orders_count", Integer, nullable=False, server_default="0"),
    Column("revenue_cents", BigInteger, nullable=False, server_default="0"),
    Column("annual_value_cents", BigInteger, nullable=False, server_default="0"),
    Column("first_purchase_at", UTCDateTime),
    Column("last_purchase_at", UTCDateTime),
    # Campaign history, kept here so a pass needs no joins for newcomers.
    Column("ladder_state", String(16)),
    Column("ladder_enrolled_at", UTCDateTime),
    Column("last_letter_at", UTCDateTime),
    Column("returned_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The segment report reads only this index, in last-purchase order; a pass finds
    # the dormant here, or reads the table straight through when many are (db/planner).
    Index("ix_customers_dormancy", "last_purchase_at", "annual_value_cents", "subscription"),
    Index(
        "ix_customers_returned_at",
        "returned_at",
        sqlite_where=text("returned_at IS NOT NULL"),
        postgresql_where=text("returned_at IS NOT NULL"),
    ),
    Index("ix_customers_annual_value_cents", "annual_value_cents"),
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("customer_id", Id, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("campaign", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("enrolled_at", UTCDateTime, nullable=False),
    Column("dormant_since", UTCDateTime, nullable=False),
    Column("entry_step", Integer, nullable=False),
    Column("next_step", Integer, nullable=False),
    Column("last_letter_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("end_reason", String(200)),
    Column("return_order_id", Id),  # orders.id; no FK, orders already point at letters
    Column("return_amount_cents", BigInteger),
    Column("return_coupon", String(64)),
    Column("return_step", String(64)),
    # The holdout: treatment or control (NULL: enrolled while no holdout ran), and the
    # value class at enrolment, so the report can compare the arms by class.
    Column("arm", String(16)),
    Column("value_class", String(1)),
    Index("ix_enrollments_customer_id", "customer_id"),
    Index("ix_enrollments_status", "status"),
    Index("ix_enrollments_enrolled_at", "enrolled_at"),
    # At most one running enrollment per customer: concurrent passes cannot double-enroll.
    Index(
        "uq_enrollments_one_active",
        "customer_id",
        unique=True,
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
)

letters = Table(
    "letters",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("enrollment_id", Id, ForeignKey("enrollments.id", ondelete="CASCADE"), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("campaign", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("step_index", Integer, nullable=False),
    Column("step_key", String(64), nullable=False),
    Column("discount_percent", Integer, nullable=False),
    Column("coupon_code", String(64), unique=True),
    Column("coupon_expires_at", UTCDateTime),
    Column("message_id", String(255), unique=True),
    Column("status", String(16), nullable=False),
    Column("queued_at", UTCDateTime, nullable=False),
    Column("send_after", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("ended_reason", String(500)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("lease_until", UTCDateTime),
    Column("leased_by", String(64)),
    Column("last_error", Text),
    Column("last_attempt_at", UTCDateTime),  # when a worker last claimed it
    UniqueConstraint("enrollment_id", "step_index"),
    Index("ix_letters_due", "status", "send_after"),
    Index("ix_letters_customer_id_queued_at", "customer_id", "queued_at"),
    Index("ix_letters_queued_at", "queued_at"),
)

# Addresses that must never be mailed again (unsubscribed, bounced, erased),
# kept as hashes so that the list itself holds no address. An import of a
# suppressed address, under any customer id, comes in unsubscribed.
suppressions = Table(
    "suppressions",
    metadata,
    Column("email_hash", String(64), primary_key=True),
    Column("reason", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("external_id", String(128), nullable=False, unique=True),
    Column("customer_id", Id, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("placed_at", UTCDateTime, nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("coupon_code", String(64)),
    Column("letter_id", Id, ForeignKey("letters.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    # placed (a purchase), pending (not paid yet), cancelled or refunded (not purchases):
    # only placed orders count for aggregates, returns and revenue (core/order_status.py).
    Column("status", String(16), nullable=False, server_default="placed"),
    Column("paid_at", UTCDateTime),
    Index("ix_orders_customer_id_placed_at", "customer_id", "placed_at"),
)

# What an order held, line by line: the products a customer owns, and what sells together.
order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", Id, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("product_ref", String(128)),  # the shop's product id, if the export gives it
    Column("sku", String(128)),
    Column("name", String(300), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("price_cents", BigInteger, nullable=False),
    # Linked to the catalog when a product with this id or SKU is known (db/catalog.py).
    Column("product_id", Id, ForeignKey("products.id", ondelete="SET NULL")),
    UniqueConstraint("order_id", "line_no"),
    # Both ways round, so that "bought together" is a join of two covering index scans.
    Index("ix_order_lines_product_id_order_id", "product_id", "order_id"),
    Index("ix_order_lines_order_id_product_id", "order_id", "product_id"),
)

# The shop's catalog: what a letter can show. `names` holds the name per language (JSON).
products = Table(
    "products",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("external_id", String(128), nullable=False, unique=True),
    Column("name", String(300), nullable=False),
    Column("names", Text),
    Column("url", String(1000), nullable=False),
    Column("image_url", String(1000)),
    Column("price_cents", BigInteger, nullable=False),
    Column("category", String(200), nullable=False, server_default=""),
    Column("in_stock", Boolean, nullable=False, server_default=text("true")),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Every SKU of a product (its variants), so that an order line finds its product by SKU.
product_skus = Table(
    "product_skus",
    metadata,
    Column("sku", String(128), primary_key=True),
    Column("product_id", Id, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
)

# Products bought together (in one order), kept for the most frequent partners of each
# product; rebuilt from all orders (db/catalog.py).
product_pairs = Table(
    "product_pairs",
    metadata,
    Column("product_id", Id, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("related_id", Id, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    Column("orders", Integer, nullable=False),
)

# The products a pass chose for each letter (core/recommend.py), in the order the letter shows them.
letter_products = Table(
    "letter_products",
    metadata,
    Column("letter_id", Id, ForeignKey("letters.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("product_id", Id, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(16), nullable=False),  # related | category | bestseller
    Column("why", String(300), nullable=False),
)

# Codes the shop generated (so its checkout accepts them), given to letters one each.
coupon_pool = Table(
    "coupon_pool",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("step_key", String(64), nullable=False),
    Column("code", String(64), nullable=False, unique=True),
    Column("imported_at", UTCDateTime, nullable=False),
    Column("letter_id", Id, ForeignKey("letters.id", ondelete="SET NULL")),
    Column("assigned_at", UTCDateTime),
    Index("ix_coupon_pool_step_key_letter_id", "step_key", "letter_id"),
)

# Webhook deliveries already handled, by the platform's delivery id: a redelivery changes nothing.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(200), primary_key=True),  # "<platform>:<delivery id>"
    Column("topic", String(100), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
)

# When the catalog's derived tables were last rebuilt (one row).
catalog_state = Table(
    "catalog_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pairs_refreshed_at", UTCDateTime),
)

# Keys that sign links and unsubscribe tokens when REACTIVATOR_SECRET_KEYS is not
# set: made once, so links in delivered letters keep working across restarts.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("secret", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# The secret that, hashed with the campaign and a customer's id, puts each new
# enrollment in the holdout or not (core/holdout.py). Made by `db upgrade`.
holdout_salts = Table(
    "holdout_salts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("salt", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Opens and clicks. Machines (image proxies, link scanners) are kept but flagged:
# they are never engagement on their own, and nothing here marks anyone returned.
engagements = Table(
    "engagements",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("letter_id", Id, ForeignKey("letters.id", ondelete="CASCADE"), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(8), nullable=False),  # open | click
    Column("url", Text),
    Column("machine", Boolean, nullable=False),
    Column("user_agent", String(300)),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_engagements_letter_id", "letter_id"),
)

# "Why did you stop buying?": one answer per customer and letter (the latest click wins).
survey_answers = Table(
    "survey_answers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("customer_id", Id, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("letter_id", Id, ForeignKey("letters.id", ondelete="CASCADE"), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("customer_id", "letter_id"),
)

# Every running daemon reports itself here (`reactivator status` reads it): when
# it last said it was alive, its schedule, its last pass and its standing alerts.
daemons = Table(
    "daemons",
    metadata,
    Column("name", String(64), primary_key=True),  # host:pid, as in letters.leased_by
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("next_pass_at", UTCDateTime),
    Column("last_pass_at", UTCDateTime),
    Column("last_pass", Text),  # JSON: what the pass did
    Column("last_segments_at", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("alerts", Text),  # JSON list: standing problems, e.g. a template kept at its last good version
)

# A receiving domain that refused a letter by policy (5.7.x) gets nothing from
# any worker of the fleet until the pause ends.
domain_pauses = Table(
    "domain_pauses",
    metadata,
    Column("domain", String(255), primary_key=True),
    Column("paused_until", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False),
)

# What came back: bounces, complaints, ESP events, mailto: unsubscribes, replies. The key is
# the event's own identity (an ESP's event id, a digest of a report and its recipient): a
# redelivered webhook or a mailbox read twice changes nothing.
feedback_events = Table(
    "feedback_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("source", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reason", String(64), nullable=False, server_default=""),
    Column("customer_id", Id, ForeignKey("customers.id", ondelete="CASCADE")),
    Column("letter_id", Id, ForeignKey("letters.id", ondelete="SET NULL")),
    Column("campaign", String(64)),
    Column("step_key", String(64)),
    Column("domain", String(255)),
    Column("detail", Text),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Index("ix_feedback_events_step_key_kind", "step_key", "kind"),
    Index("ix_feedback_events_customer_id_kind", "customer_id", "kind"),
)

# A person who writes back deserves a person: their reply, shown with the customer and in the console.
replies = Table(
    "replies",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("customer_id", Id, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("letter_id", Id, ForeignKey("letters.id", ondelete="SET NULL")),
    Column("subject", String(500), nullable=False, server_default=""),
    Column("text", Text, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Index("ix_replies_customer_id", "customer_id"),
    Index("ix_replies_received_at", "received_at"),
)

# Steps stopped by the complaint-rate brake, until `reactivator resume STEP`.
step_brakes = Table(
    "step_brakes",
    metadata,
    Column("step_key", String(64), primary_key=True),
    Column("stopped_at", UTCDateTime),  # NULL: running (resumed)
    Column("reason", Text),
    Column("resumed_at", UTCDateTime),  # the brake counts only letters sent after the last resume
)
