"""What the benchmarks compute and print from their measurements: percentiles, markdown tables,
the soak's memory verdict, server-sent events and the service's own counts read from /metrics."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient

from bench.jobs import parse_event
from bench.load import percentile
from bench.markdown import table
from bench.metrics import server_counts
from bench.soak.memory import Memory, Sample


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([3.0, 1.0, 2.0, 4.0], 0.5, 2.0),  # 2 of 4 at or below 2
        ([5.0], 0.99, 5.0),
        (list(range(100)), 0.99, 98),  # 99 of 100 at or below 98
        (list(range(100)), 0.995, 99),
        ([7.0, 9.0], 0.0, 7.0),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], fraction: float, expected: float) -> None:
    assert percentile(values, fraction) == expected


def test_percentile_of_nothing_is_nan() -> None:
    assert math.isnan(percentile([], 0.5))


def test_table_aligns_the_first_column_left_and_the_rest_right() -> None:
    assert (
        table(("kind", "n"), [("a", 1), ("b", 22)])
        == "| kind | n |\n|---|---:|\n| a | 1 |\n| b | 22 |"
    )
    assert table(("x", "y"), [], "ll").splitlines()[1] == "|---|---|"


@pytest.mark.parametrize(("growth_per_s", "flat"), [(0.0, True), (0.05, False)])
def test_soak_verdict_follows_the_second_half_slope(growth_per_s: float, flat: bool) -> None:
    memory = Memory([Sample(t, 300 + growth_per_s * t, 0) for t in range(0, 600, 5)])
    found, text = memory.section(tolerance_mb=5, tolerance_fraction=0.0)
    assert found is flat
    assert ("**no growth trend**" in text) is flat
    assert f"{60 * growth_per_s:+.3f} MB/min" in text


def test_server_sent_event_name_and_data() -> None:
    assert parse_event(b'event: token\ndata: {"text": "a"}') == ("token", '{"text": "a"}')
    assert parse_event(b"data: one\ndata: two") == ("message", "one\ntwo")


class _MetricsOf:
    """Stands for a started server: its /metrics is the test client's."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def get(self, path: str) -> tuple[int, bytes]:
        response = self.client.get(path)
        return response.status_code, response.content


def test_the_services_own_counts_are_read_from_its_metrics(client: TestClient) -> None:
    client.post("/forecast", json={"series": [1, 2, 3, 4]})
    client.post("/forecast", json={"series": [1]})
    counts = server_counts(_MetricsOf(client))
    assert counts[("/forecast", "200")] == 1
    assert counts[("/forecast", "422")] == 1
