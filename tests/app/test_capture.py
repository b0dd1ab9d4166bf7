"""Request capture: sampled model exchanges as JSON lines, no headers, rotated, never blocking."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from app.batching import Batching
from app.capture import Capture
from app.config import Settings
from app.main import create_app
from app.registry import Registry, Target
from app.tasks.base import Predictor
from tests.helpers import FAKES, make_settings

KEY = "capture-secret-key"


def fake(target: Target, settings: Settings, batching: Batching) -> Predictor:
    return FAKES[target.task]()


def served(tmp_path: Path, **settings: object) -> TestClient:
    config = make_settings(models_dir=tmp_path, capture_file=tmp_path / "c" / "requests.jsonl",
                           api_key=KEY, **settings)  # fmt: skip
    registry = Registry(config, builder=fake)
    registry.load_all()
    return TestClient(create_app(config, registry), headers={"Authorization": f"Bearer {KEY}"})


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_sampled_model_request_is_one_line_without_headers(tmp_path: Path) -> None:
    with served(tmp_path, capture_fraction=1.0) as client:
        body = {"series": [1.0, 2.0, 3.0, 4.0], "horizon": 2}
        client.post("/forecast", json=body, headers={"X-Request-ID": "cap-1"})
        client.post("/sentiment", json={"text": "good film"}, headers={"X-Request-ID": "cap-2"})
        client.get("/health")  # not a model route: never captured
    text = (tmp_path / "c" / "requests.jsonl").read_text(encoding="utf-8")
    assert KEY not in text and "Bearer" not in text
    forecast, sentiment = lines(tmp_path / "c" / "requests.jsonl")
    assert forecast["request_id"] == "cap-1" and forecast["path"] == "/forecast"
    assert forecast["model"] == "forecast:7" and forecast["status"] == 200
    assert json.loads(str(forecast["request"])) == body
    assert "forecast" in json.loads(str(forecast["response"]))
    assert "respond" in forecast["stages_ms"]  # type: ignore[operator]
    assert sentiment["request_id"] == "cap-2" and sentiment["model"] == "sentiment:2"


def test_a_fraction_of_zero_captures_nothing_and_long_bodies_are_cut(tmp_path: Path) -> None:
    with served(tmp_path, capture_fraction=0.0) as client:
        client.post("/sentiment", json={"text": "good"})
    assert not (tmp_path / "c" / "requests.jsonl").exists()
    with served(tmp_path, capture_fraction=1.0, capture_max_field_bytes=10) as client:
        client.post("/sentiment", json={"text": "a long enough review"})
    (line,) = lines(tmp_path / "c" / "requests.jsonl")
    assert line["request"] == '{"text":"a...[cut]'


def test_the_file_is_rotated_at_its_size_cap(tmp_path: Path) -> None:
    capture = Capture(tmp_path / "r.jsonl", max_bytes=200, backups=2)
    for i in range(40):
        capture.write(json.dumps({"i": i, "pad": "x" * 40}))
    capture.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["r.jsonl", "r.jsonl.1", "r.jsonl.2"]
    assert all(p.stat().st_size <= 200 for p in tmp_path.iterdir())
    assert json.loads((tmp_path / "r.jsonl").read_text().splitlines()[-1])["i"] == 39


def test_a_writer_that_falls_behind_drops_lines_instead_of_blocking(tmp_path: Path) -> None:
    capture = Capture(tmp_path / "d.jsonl", max_bytes=10**6, backups=1)
    capture._listener.stop()  # nobody writes: the queue only fills
    for i in range(2000):
        capture.write(str(i))  # returns at once, every time
    assert capture.dropped == 2000 - 1024
    capture._file.close()
