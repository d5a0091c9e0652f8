"""The daemon's own Prometheus metrics, served at /metrics beside the ledger's gauges."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class DaemonMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.passes = Counter(
            "reactivator_passes",
            "Passes by outcome (done, skipped: another daemon had it, failed)",
            ["outcome"],
            registry=r,
        )
        self.pass_seconds = Histogram(
            "reactivator_pass_duration_seconds",
            "How long a pass took",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=r,
        )
        self.last_pass = Gauge(
            "reactivator_last_pass_timestamp_seconds", "When this daemon last finished a pass", registry=r
        )
        self.letters = Counter(
            "reactivator_letters_handled",
            "Letters this daemon dealt with, by outcome",
            ["outcome"],
            registry=r,
        )
        self.send_errors = Counter(
            "reactivator_send_round_errors", "Send rounds that stopped on an error (retried)", registry=r
        )
        self.template_alerts = Gauge(
            "reactivator_template_alerts", "Steps kept at their last good template version", registry=r
        )
        self.coupon_pool = Gauge(
            "reactivator_coupon_pool_unused",
            "Unused codes in each step's coupon pool (the shop's own codes)",
            ["step"],
            registry=r,
        )
        self.dormant = Gauge(
            "reactivator_dormant_customers",
            "Dormant customers per tier (daily segmentation)",
            ["tier"],
            registry=r,
        )
        self.at_stake = Gauge(
            "reactivator_value_at_stake",
            "Lifetime value of the dormant customers per tier, in the shop's currency (daily segmentation)",
            ["tier"],
            registry=r,
        )
