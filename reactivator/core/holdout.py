"""The holdout group: which dormant customers the campaign leaves alone, so that its effect can be measured.

A customer's arm is decided when they enrol, from a bucket 0-9999 that a hash
of (a per-database secret salt, the campaign, the kind of enrollment, the
shop's customer id) gives. The same customer lands in the same bucket on every
pass, in every worker of a fleet and on either database, whatever the order of
the rows. The salt keeps the split unguessable from outside; the kind gives
the apology for the lost-twice a holdout of its own.

MD5 is used for spreading, not for secrecy: PostgreSQL computes it natively,
and SQLite through the same Python function (db/holdout.py), so both backends
place every customer in the same bucket as `bucket` here.
"""

from __future__ import annotations

import hashlib

from reactivator.core.model import Arm, EnrollmentKind

BUCKETS = 10_000


def bucket_text(salt: str, campaign: str, kind: EnrollmentKind, customer_key: str) -> str:
    """What is hashed: the same string on every backend."""
    return f"{salt}:{campaign}:{kind.value}:{customer_key}"


def bucket_of(text: str) -> int:
    """The bucket (0-9999) of a hashed text: the first 32 bits of its MD5, modulo BUCKETS."""
    digest = hashlib.md5(text.encode("utf-8"), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "big") % BUCKETS


def bucket(salt: str, campaign: str, kind: EnrollmentKind, customer_key: str) -> int:
    """The customer's bucket for an enrollment of `kind` in `campaign`."""
    return bucket_of(bucket_text(salt, campaign, kind, customer_key))


def control_below(percent: float) -> int:
    """Buckets below this number are the control group: `percent` of all buckets."""
    return round(percent * BUCKETS / 100)


__all__ = ["BUCKETS", "Arm", "arm_for", "bucket", "bucket_of", "bucket_text", "control_below"]


def arm_for(bucket_number: int, percent: float) -> Arm | None:
    """The arm of a new enrollment in this bucket; None when no holdout runs (percent 0)."""
    if percent <= 0:
        return None
    return Arm.CONTROL if bucket_number < control_below(percent) else Arm.TREATMENT
