"""Chart specifications for the console, drawn in the browser by plotly.js (served from the plotly
package, nothing from a CDN). Each function turns report figures into {"data": [...], "layout": {...}};
the page's script adds the colours of the light or dark theme.
"""

from __future__ import annotations

from typing import Any

TREATMENT = "treated"
CONTROL = "control group"


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0, "font": {"size": 15}},
        "margin": {"l": 56, "r": 16, "t": 44, "b": 48},
        **extra,
    }


def money_at_stake(tiers: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    return {
        "data": [
            {
                "type": "bar",
                "x": [t["label"] for t in tiers],
                "y": [round(t["money_at_stake_cents"] / 100, 2) for t in tiers],
                "text": [f"{t['customers']:,} customers" for t in tiers],
                "marker": {"color": "accent"},
                "name": "money at stake",
            }
        ],
        "layout": _layout(f"Dormant customers' lifetime value ({currency})", yaxis={"title": currency}),
    }


def returns_over_time(curve: dict[str, Any]) -> dict[str, Any]:
    def line(name: str, values: list[float], colour: str) -> dict[str, Any]:
        return {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": curve["days"],
            "y": [round(v * 100, 2) for v in values],
            "line": {"color": colour, "shape": "hv"},
        }

    return {
        "data": [
            line(TREATMENT, curve["treatment"], "treatment"),
            line(CONTROL, curve["control"], "control"),
        ],
        "layout": _layout(
            "Customers back, by days since they enrolled (%)",
            xaxis={"title": "days since enrolment"},
            yaxis={"title": "% of enrolled", "rangemode": "tozero"},
        ),
    }


def funnel(steps: list[dict[str, Any]]) -> dict[str, Any]:
    names = [s["step_key"] for s in steps]
    stages = [("sent", "sent"), ("opened", "opened (people)"), ("clicked", "clicked (people)")]
    data = [{"type": "bar", "name": label, "x": names, "y": [s[key] for s in steps]} for key, label in stages]
    data.append(
        {
            "type": "bar",
            "name": "came back",
            "x": names,
            "y": [s["returned_with_code"] + s["returned_without_code"] for s in steps],
        }
    )
    return {"data": data, "layout": _layout("Per step: letters and what people did", barmode="group")}


def romi_per_step(steps: list[dict[str, Any]]) -> dict[str, Any]:
    shown = [s for s in steps if s["romi"] is not None]
    return {
        "data": [
            {
                "type": "bar",
                "x": [s["step_key"] for s in shown],
                "y": [round(s["romi"], 2) for s in shown],
                "marker": {"color": "accent"},
                "name": "ROMI",
            }
        ],
        "layout": _layout(
            "ROMI per step (all returns credited to it)", yaxis={"title": "ROMI", "zeroline": True}
        ),
    }


def lift_per_group(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """Each group's lift in return rate (points) with its 95% interval as error bars."""
    shown = [g for g in groups if g["return_rate_lift"] is not None]
    values = [g["return_rate_lift"]["value"] * 100 for g in shown]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "name": "lift",
                "x": [g["label"] for g in shown],
                "y": [round(v, 2) for v in values],
                "marker": {"size": 12, "color": ["ok" if g["significant"] else "warn" for g in shown]},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [
                        round(g["return_rate_lift"]["ci95"][1] * 100 - v, 2)
                        for g, v in zip(shown, values, strict=True)
                    ],
                    "arrayminus": [
                        round(v - g["return_rate_lift"]["ci95"][0] * 100, 2)
                        for g, v in zip(shown, values, strict=True)
                    ],
                    "thickness": 2,
                    "width": 8,
                },
            }
        ],
        "layout": _layout(
            "Lift in return rate, points, with 95% intervals",
            yaxis={"title": "points", "zeroline": True, "zerolinewidth": 2},
            showlegend=False,
        ),
    }


def survey_reasons(rows: list[dict[str, Any]]) -> dict[str, Any]:
    steps = sorted({r["step_key"] for r in rows})
    reasons = sorted({r["reason"] for r in rows})
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": step,
            "y": reasons,
            "x": [
                sum(r["answers"] for r in rows if r["reason"] == reason and r["step_key"] == step)
                for reason in reasons
            ],
        }
        for step in steps
    ]
    return {"data": data, "layout": _layout("Why did you stop buying? Answers per reason", barmode="stack")}
