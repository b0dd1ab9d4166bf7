"""Stage timings: the pure accounting, then the Server-Timing header, the log line and the
per-model stage histograms of a real tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from app.main import create_app
from app.stages import BatchStages, Timeline, model_call, server_timing, timed_batch
from tests.helpers import make_settings, wait_until_ready

BATCH_STAGES = ["read", "validate", "queue", "preprocess", "model", "postprocess", "respond"]


@given(st.lists(st.floats(0, 10), min_size=7, max_size=7))
def test_the_stages_of_a_request_add_up_to_its_duration(gaps: list[float]) -> None:
    marks = [100.0]
    for gap in gaps:
        marks.append(marks[-1] + gap)
    timeline = Timeline(begin=marks[0], body_read=marks[1], queued=marks[2])
    timeline.batch = BatchStages(marks[3], marks[4], marks[5], marks[6], 0.0, rows=1)
    stages = timeline.stages(marks[7])
    assert list(stages) == BATCH_STAGES
    assert all(seconds >= 0 for seconds in stages.values())
    assert sum(stages.values()) == pytest.approx(marks[7] - marks[0])


def test_a_request_that_reached_no_model_has_only_read_and_respond() -> None:
    assert list(Timeline(begin=0.0, body_read=1.0).stages(3.0)) == ["read", "respond"]
    assert server_timing({"read": 0.001, "respond": 0.0025}) == "read;dur=1.000, respond;dur=2.500"


def test_a_batch_splits_at_its_first_and_last_model_call() -> None:
    def run() -> str:
        for _ in range(3):
            with model_call():
                pass
        return "done"

    result, stages = timed_batch(run, rows=4)
    assert result == "done" and stages.rows == 4
    assert stages.started <= stages.preprocessed <= stages.modelled <= stages.ended
    assert 0 <= stages.model_seconds <= stages.modelled - stages.preprocessed
    _, no_call = timed_batch(lambda: None, rows=1)  # nothing ran: it was all preprocessing
    assert no_call.model_seconds == 0 and no_call.postprocess == 0


@pytest.mark.slow
def test_stages_reach_the_header_the_log_line_and_the_metrics(
    tiny_models: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    app = create_app(make_settings(models_dir=tiny_models))  # loads in its lifespan, as served
    with TestClient(app) as client:
        wait_until_ready(client, 60)
        capfd.readouterr()
        body = {"series": [float(v % 24) for v in range(100)], "horizon": 4}
        response = client.post("/forecast", json=body, headers={"X-Request-ID": "timed"})
        assert response.status_code == 200
        timing = response.headers["Server-Timing"]
        assert [part.split(";")[0] for part in timing.split(", ")] == BATCH_STAGES
        lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line]
        (entry,) = [line for line in lines if line.get("request_id") == "timed"]
        assert entry["model"] == "forecast:1" and list(entry["stages_ms"]) == BATCH_STAGES
        scraped = client.get("/metrics").text
    for stage in ("queue", "preprocess", "model", "postprocess"):
        labels = f'model="forecast",stage="{stage}",version="1"'
        assert f"seqserve_stage_seconds_count{{{labels}}} 1.0" in scraped, stage
