"""Prometheus metrics on /metrics (app/metrics.py): requests by endpoint and status, model state."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient


def test_metrics_count_requests_by_endpoint_and_status(client: TestClient) -> None:
    client.post("/forecast", json={"series": [1, 2, 3, 4]})
    client.post("/forecast", json={"series": [1]})
    client.get("/nowhere/at/all")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'seqserve_requests_total{endpoint="/forecast",method="POST",status="200"} 1.0' in text
    assert 'seqserve_requests_total{endpoint="/forecast",method="POST",status="422"} 1.0' in text
    assert 'seqserve_requests_total{endpoint="unmatched",method="GET",status="404"} 1.0' in text
    assert "nowhere" not in text  # raw paths never become label values
    assert 'seqserve_request_duration_seconds_count{endpoint="/forecast"' in text
    assert "seqserve_requests_in_flight 1.0" in text  # this very request
    assert 'seqserve_model_state{model="forecast",state="ready",version=""} 1.0' in text


def test_model_state_gauge_shows_failures(make_client: Callable[..., TestClient]) -> None:
    text = make_client(missing=("sentiment",)).get("/metrics").text
    assert 'seqserve_model_state{model="sentiment",state="failed",version=""} 1.0' in text
    assert 'seqserve_model_state{model="sentiment",state="ready",version=""} 0.0' in text
