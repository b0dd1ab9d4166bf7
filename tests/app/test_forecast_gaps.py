"""Gaps in a series: the rules of app/forecast_gaps.py, through /forecast, and the same filling
in training (a user's CSV with empty cells)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from app.forecast_gaps import MAX_GAP_SHARE, MAX_TRAILING_GAPS, GapError, fill_gaps
from tests.helpers import assert_error
from training.data.series import load_series_csv


def test_leading_gaps_are_dropped() -> None:
    filled = fill_gaps([None, None, 1.0, 2.0, 3.0], season=1)
    assert filled.values.tolist() == [1.0, 2.0, 3.0]
    assert (filled.dropped, filled.filled, filled.method) == (2, 0, "")


def test_inner_gaps_are_interpolated_linearly_without_a_season() -> None:
    filled = fill_gaps([0.0, 1.0, None, None, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], season=0)
    assert filled.values.tolist() == [float(v) for v in range(11)]
    assert (filled.filled, filled.method) == (2, "linear interpolation")


def test_a_known_season_interpolates_between_the_same_phase() -> None:
    pattern = [10.0, 20.0, 30.0, 15.0]  # a linear fill of the 30 would give 17.5
    series: list[float | None] = pattern * 6
    series[10] = None
    filled = fill_gaps(series, season=4)
    assert filled.values.tolist() == pattern * 6
    assert filled.method == "seasonal interpolation (season 4)"


def test_a_phase_without_a_value_on_one_side_falls_back_to_linear() -> None:
    series: list[float | None] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    series[1] = None  # season 4: no value of this phase before it
    assert fill_gaps(series, season=4).values[1] == 2.0


@pytest.mark.parametrize(
    ("season", "tail", "how"),
    [(1, [12.0, 12.0], "the last value"), (3, [10.0, 11.0], "the value one season earlier")],
)
def test_trailing_gaps_repeat_the_season_or_the_last_value(
    season: int, tail: list[float], how: str
) -> None:
    series: list[float | None] = [float(v) for v in range(1, 13)]
    filled = fill_gaps([*series, None, None], season)
    assert filled.values.tolist() == [*series, *tail]
    assert filled.method.endswith(f"the last 2 with {how}")


@given(st.integers(5, 60), st.data())
def test_at_most_the_documented_share_may_be_gaps(length: int, data: st.DataObject) -> None:
    """Gaps anywhere after the first value and before the last: accepted exactly up to 20%."""
    count = data.draw(st.integers(0, length - 2))
    where = data.draw(st.permutations(range(1, length - 1)))[:count]
    series: list[float | None] = [float(v) for v in range(length)]
    for i in where:
        series[i] = None
    if count <= MAX_GAP_SHARE * length:
        filled = fill_gaps(series, season=0)
        np.testing.assert_allclose(filled.values, np.arange(length))  # a line, refilled
    else:
        with pytest.raises(GapError, match=f"{count} of {length} values are null"):
            fill_gaps(series, season=0)


@given(st.integers(0, 8), st.integers(0, 6))
def test_at_most_the_documented_trailing_gaps(trailing: int, leading: int) -> None:
    series: list[float | None] = [None] * leading + [1.0] * 40 + [None] * trailing
    if trailing <= MAX_TRAILING_GAPS:
        assert len(fill_gaps(series, season=7).values) == 40 + trailing
    else:
        with pytest.raises(GapError, match=f"the last {trailing} values are null"):
            fill_gaps(series, season=7)


def test_a_series_of_gaps_only_is_refused() -> None:
    with pytest.raises(GapError, match="every value is null"):
        fill_gaps([None, None], season=1)


def test_the_api_names_the_series_that_breaks_a_rule(client: TestClient) -> None:
    good = [1.0, None, 3.0, 4.0, 5.0, 6.0]
    body = {"series": [good, [float(v) for v in range(20)] + [None] * 4]}
    details = assert_error(client.post("/forecast/batch", json=body), 422, "validation_error")
    assert details["details"] == [
        {"field": "body.series[1]", "message": "the last 4 values are null: at most 3 may be"}
    ]
    single = client.post("/forecast", json={"series": [None] * 5})
    assert_error(single, 422, "validation_error", "body.series")
    too_short = client.post("/forecast", json={"series": [None, None, 1, 2, 3]})
    assert_error(too_short, 422, "validation_error", "body.series")  # 3 values after dropping


def test_the_api_fills_and_forecasts_from_the_filled_series(client: TestClient) -> None:
    answer = client.post("/forecast", json={"series": [1, 2, None, 4, 5, 6], "horizon": 2})
    assert answer.status_code == 200, answer.text
    assert answer.json()["forecast"] == [7.0, 8.0]  # the fake: last value + step


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_stay_invalid(client: TestClient, token: str) -> None:
    raw = '{"series": [1, 2, ' + token + ", 4, 5, 6]}"
    response = client.post("/forecast", content=raw, headers={"content-type": "application/json"})
    assert_error(response, 422, "validation_error", "body.series[2]")


def test_training_fills_a_csv_as_serving_fills_a_request(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    values = 100 + 10 * np.sin(2 * np.pi * np.arange(120) / 12) + rng.normal(size=120)
    cells = [repr(float(v)) for v in values]
    for i in (0, 1, 30, 31, 64, 119):
        cells[i] = ""
    path = tmp_path / "gappy.csv"
    path.write_text("y\n" + "\n".join(cells) + "\n", encoding="utf-8")
    trained = load_series_csv(path, horizon=6, season=12, min_length=20).series[0]
    request: list[float | None] = [None if c == "" else float(c) for c in cells]
    served = fill_gaps(request, season=12).values
    assert trained.tobytes() == served.tobytes()
    assert len(trained) == 118 and np.isfinite(trained).all()


def test_training_refuses_a_csv_with_too_many_gaps(tmp_path: Path) -> None:
    from training.data.files import DataError

    path = tmp_path / "holes.csv"
    path.write_text("y\n" + "\n".join(["1", ""] * 30) + "\n1\n", encoding="utf-8")
    with pytest.raises(DataError, match="at most 20% may be"):
        load_series_csv(path, horizon=2, season=1, min_length=10)
