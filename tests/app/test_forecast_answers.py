"""/forecast and /forecast/batch around the model: intervals asked of a model with or without a
calibration, warnings, batch ids (app/forecast_answers.py), with fake forecasters."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pytest import approx

from app.main import create_app
from app.tasks.forecast import Forecasts
from tests.helpers import FakeForecaster, assert_error, fake_registry, make_settings

SERIES = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]


class CalibratedForecaster(FakeForecaster):
    """The fake forecaster with intervals: quantile p at step h is forecast + (p - 0.5) x h;
    evaluated on 3 steps."""

    has_intervals = True

    async def forecast(
        self,
        series: Sequence[Sequence[float]],
        horizon: int,
        season: int,
        probabilities: Sequence[float] = (),
    ) -> Forecasts:
        plain = await super().forecast(series, horizon, season)
        steps = np.arange(1, horizon + 1)[None, :, None]
        spread = (np.asarray(probabilities) - 0.5)[None, None, :] * steps
        quantiles = plain.values[:, :, None] + spread if probabilities else None
        return Forecasts(plain.values, plain.seasons, quantiles, np.full(len(series), 3))


@pytest.fixture
def calibrated(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(models_dir=tmp_path)
    registry = fake_registry(settings, predictors={"forecast": CalibratedForecaster()})
    with TestClient(create_app(settings, registry)) as client:
        yield client


def test_levels_and_quantiles_come_back_in_the_order_asked(calibrated: TestClient) -> None:
    body = {"series": SERIES, "horizon": 2, "season": 1, "level": [95, 80], "quantiles": [0.9, 0.1]}
    answer = calibrated.post("/forecast", json=body).json()
    assert answer["forecast"] == [9.0, 10.0]
    assert answer["intervals"] == [
        {"level": 95, "lower": approx([8.525, 9.05]), "upper": approx([9.475, 10.95])},
        {"level": 80, "lower": approx([8.6, 9.2]), "upper": approx([9.4, 10.8])},
    ]
    assert answer["quantiles"] == [
        {"quantile": 0.9, "values": approx([9.4, 10.8])},
        {"quantile": 0.1, "values": approx([8.6, 9.2])},
    ]


def test_no_intervals_unless_asked(calibrated: TestClient) -> None:
    answer = calibrated.post("/forecast", json={"series": SERIES, "season": 1}).json()
    assert set(answer) == {"forecast", "season", "warnings", "model"}


@pytest.mark.parametrize(
    ("option", "field"), [("level", "body.level"), ("quantiles", "body.quantiles")]
)
def test_intervals_from_a_model_without_calibration_are_422(
    client: TestClient, option: str, field: str
) -> None:
    value = [80] if option == "level" else [0.5]
    for path, series in (("/forecast", SERIES), ("/forecast/batch", [SERIES])):
        response = client.post(path, json={"series": series, option: value})
        body = assert_error(response, 422, "validation_error", field)
        assert "no interval calibration" in body["details"][0]["message"]


@pytest.mark.parametrize(
    "option",
    [{"level": [0]}, {"level": [99.5]}, {"level": []}, {"quantiles": [0.001]}, {"quantiles": [1]}],
)
def test_levels_and_quantiles_out_of_range_are_422(
    calibrated: TestClient, option: dict[str, list[float]]
) -> None:
    name = next(iter(option))
    response = calibrated.post("/forecast", json={"series": SERIES, **option})
    assert_error(response, 422, "validation_error")
    assert response.json()["details"][0]["field"].startswith(f"body.{name}")


def test_warnings_say_what_the_service_did(calibrated: TestClient) -> None:
    body = {"series": [None, 1, 2, None, 4, 5], "horizon": 4}
    assert calibrated.post("/forecast", json=body).json()["warnings"] == [
        "1 leading null dropped",
        "1 null value filled by linear interpolation",
        "season not given: none found in the series",
        "5 values, fewer than twice the horizon: little history to go on",
        "horizon 4 is beyond the 3 steps the model was evaluated on for such series: later "
        "steps are extrapolated",
    ]
    body = {"series": SERIES, "horizon": 3, "season": 4}
    assert calibrated.post("/forecast", json=body).json()["warnings"] == [
        "8 values, fewer than three seasons of 4: no season applied"
    ]
    quiet = {"series": SERIES * 2, "horizon": 3, "season": 1}
    assert calibrated.post("/forecast", json=quiet).json()["warnings"] == []


def test_batch_results_keep_the_ids_in_order(calibrated: TestClient) -> None:
    ids: list[str | int] = ["b", 7, "a", "7"]  # echoed as sent: 7 and "7" are different ids
    series = [[10.0 * k + v for v in SERIES] for k in range(4)]
    body = {"series": series, "ids": ids, "horizon": 1, "season": 1, "level": [50]}
    answer = calibrated.post("/forecast/batch", json=body).json()
    assert [r["id"] for r in answer["results"]] == ids
    assert (
        [r["forecast"] for r in answer["results"]]
        == answer["forecasts"]
        == [[9.0], [19.0], [29.0], [39.0]]
    )
    assert all(r["intervals"][0]["level"] == 50 for r in answer["results"])


def test_batch_without_ids_answers_by_position(calibrated: TestClient) -> None:
    body = {"series": [SERIES, [None, *SERIES]], "season": 1}
    answer = calibrated.post("/forecast/batch", json=body).json()
    assert all("id" not in r for r in answer["results"])
    assert answer["results"][1]["warnings"] == ["1 leading null dropped"]
    assert answer["warnings"] == ["series[1]: 1 leading null dropped"]


@pytest.mark.parametrize(
    ("ids", "field"),
    [(["a"], "body.ids"), (["a", "b", "c"], "body.ids"), (["a", "a"], "body.ids[1]")],
)
def test_bad_ids_are_422_naming_them(client: TestClient, ids: list[str], field: str) -> None:
    response = client.post("/forecast/batch", json={"series": [SERIES, SERIES], "ids": ids})
    assert_error(response, 422, "validation_error", field)


def test_ids_are_strings_or_integers(client: TestClient) -> None:
    response = client.post("/forecast/batch", json={"series": [SERIES], "ids": [True]})
    body = assert_error(response, 422, "validation_error")
    assert all(d["field"].startswith("body.ids[0]") for d in body["details"])


def test_the_openapi_schema_shows_200_examples(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/forecast", "/forecast/batch"):
        answer = paths[path]["post"]["responses"]["200"]["content"]["application/json"]
        schema = answer["schema"]
        ref = schema["$ref"].rsplit("/", 1)[-1]
        components = client.get("/openapi.json").json()["components"]["schemas"]
        assert components[ref]["examples"], ref


def test_the_client_reads_intervals_quantiles_and_warnings(calibrated: TestClient) -> None:
    from seqserve_client import Forecast, Interval

    body = {"series": [None, *SERIES], "horizon": 1, "level": [80], "quantiles": [0.5, 0.9]}
    result = Forecast.of(calibrated.post("/forecast", json=body).json())
    assert result.forecast == [9.0] and result.season == 1
    assert result.intervals == [Interval(80, [approx(8.6)], [approx(9.4)])]
    assert result.quantiles == {0.5: [9.0], 0.9: [approx(9.4)]}
    assert result.warnings[0] == "1 leading null dropped"


def test_v2_serves_point_forecasts_and_says_where_intervals_are(calibrated: TestClient) -> None:
    tensor = {"name": "series", "datatype": "FP32", "shape": [1, 8], "data": SERIES}
    path = "/v2/models/forecast/infer"
    plain = calibrated.post(path, json={"inputs": [tensor], "parameters": {"horizon": 2}})
    assert plain.status_code == 200, plain.text
    asked = {"inputs": [tensor], "parameters": {"horizon": 2, "level": 80}}
    refused = assert_error(calibrated.post(path, json=asked), 400, "invalid_request")
    assert "/forecast/batch" in refused["error"]
