"""What the service counts about itself, read from its /metrics (Prometheus text format)."""

from __future__ import annotations

from typing import TypeVar

from prometheus_client.parser import text_string_to_metric_families

from bench.procs import Server

Sample = tuple[str, dict[str, str], float]  # metric name, labels, value


def scrape(server: Server) -> list[Sample]:
    """Every sample of the service's /metrics; [] when unavailable."""
    status, body = server.get("/metrics")
    if status != 200:
        return []
    families = text_string_to_metric_families(body.decode("utf-8", "replace"))
    return [(s.name, s.labels, s.value) for family in families for s in family.samples]


K = TypeVar("K")


def delta(after: dict[K, float], before: dict[K, float]) -> dict[K, float]:
    """What a counter or histogram total grew by between two scrapes."""
    return {key: value - before.get(key, 0.0) for key, value in after.items()}


def server_counts(server: Server) -> dict[tuple[str, str], float]:
    """The service's own request counter: (endpoint, status) -> count."""
    counts: dict[tuple[str, str], float] = {}
    for name, labels, value in scrape(server):
        if name == "seqserve_requests_total":
            key = (labels.get("endpoint", ""), labels.get("status", ""))
            counts[key] = counts.get(key, 0.0) + value
    return counts


def model_calls(server: Server, model: str) -> dict[str, float]:
    """Totals for `model` from the service's batch histograms: "calls", "rows" and "compute_s"
    (model-call time, preprocessing included)."""
    wanted = {
        "seqserve_batch_rows_count": "calls",
        "seqserve_batch_rows_sum": "rows",
        "seqserve_batch_compute_seconds_sum": "compute_s",
    }
    return {
        wanted[name]: value
        for name, labels, value in scrape(server)
        if name in wanted and labels.get("model") == model
    }


def batch_rows(server: Server, model: str) -> dict[float, float]:
    """The service's histogram of rows per model call for `model`: upper bound -> calls (with
    that many rows or fewer, cumulative, as Prometheus keeps it)."""
    return {
        float(labels["le"]): value
        for name, labels, value in scrape(server)
        if name == "seqserve_batch_rows_bucket" and labels.get("model") == model
    }
