"""What an order's status means: only a purchase counts.

A customer is returned by a purchase, and only purchases make revenue, value
and "last purchase". Shops name their states differently (Shopify's financial
status and cancellation, WooCommerce's order status); the formats map them to
these four.
"""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    PLACED = "placed"  # paid, or being fulfilled: a purchase
    PENDING = "pending"  # not paid yet (awaiting payment, on hold): not a purchase, maybe later
    CANCELLED = "cancelled"  # cancelled or voided: never a purchase
    REFUNDED = "refunded"  # refunded in full: no longer a purchase


def is_purchase(status: str) -> bool:
    """Whether an order in this status counts as a purchase."""
    return status == OrderStatus.PLACED.value
