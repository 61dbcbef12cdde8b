"""Reading a /metrics answer with prometheus-client's own parser."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-for-the-suite-0123456789"
METRICS_HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> list[Any]:
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(text: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels`` (0 when there is none)."""
    return sum(
        sample.value
        for sample in samples(text)
        if sample.name == name and all(sample.labels.get(key) == want for key, want in labels.items())
    )


def label_values(text: str, name: str, label: str) -> set[str]:
    return {sample.labels[label] for sample in samples(text) if sample.name == name and label in sample.labels}


async def scrape(client: Any) -> str:
    response = await client.get("/metrics", headers=METRICS_HEADERS)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return str(response.text)
