"""The model repository: named models, versions, policies, hot reload and administration."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import batching
from app.admission import ModelRoutes
from app.main import create_app
from app.registry import Registry
from tests.helpers import assert_error, make_settings

pytestmark = pytest.mark.slow
KEY = {"X-API-Key": "admin-key"}


def publish(source: Path, models: Path, name: str, version: int) -> Path:
    """A copy of a trained version as `name`/`version` (metadata.json is not checksummed)."""
    target = models / name / str(version)
    shutil.copytree(source, target)
    metadata = json.loads((target / "metadata.json").read_text())
    (target / "metadata.json").write_text(json.dumps({**metadata, "version": version}))
    return target


@pytest.fixture
def models(tiny_models: Path, tmp_path: Path) -> Path:
    """forecast/1, sales/1 (a second forecaster), sentiment/1 and generate/1."""
    root = tmp_path / "models"
    for task in ("forecast", "sentiment", "generate"):
        shutil.copytree(tiny_models / task, root / task)
    publish(tiny_models / "forecast" / "1", root, "sales", 1)
    return root


def client_for(models: Path, **settings: Any) -> Iterator[TestClient]:
    config = make_settings(models_dir=models, reload_interval_seconds=0, **settings)
    registry = Registry(config)
    registry.load_all()
    with TestClient(create_app(config, registry)) as client:
        yield client


@pytest.fixture
def client(models: Path) -> Iterator[TestClient]:
    yield from client_for(models)


def series(client: TestClient) -> dict[str, Any]:
    window = client.get("/models/forecast").json()["info"]["input"]["window"]
    return {"series": [float(i % 24) for i in range(window)], "horizon": 2}


def served(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, str]:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json()["model"])


def test_two_forecasters_and_one_of_each_task_at_once(client: TestClient) -> None:
    body = series(client)
    assert served(client, "/forecast", body) == {"name": "forecast", "version": "1"}
    assert served(client, "/models/sales/forecast", body) == {"name": "sales", "version": "1"}
    assert served(client, "/models/sales/versions/1/forecast/batch", {"series": [body["series"]]})
    assert served(client, "/models/sentiment/sentiment", {"text": "good"})["name"] == "sentiment"
    listed = {m["name"]: m["task"] for m in client.get("/models").json()["models"]}
    assert listed == {
        "forecast": "forecast",
        "sales": "forecast",
        "sentiment": "sentiment",
        "generate": "generate",
    }
    assert client.get("/ready").json()["models"]["sales"] == "1"
    assert_error(client.post("/models/sales/sentiment", json={"text": "x"}), 404, "model_not_found")
    assert_error(client.post("/models/nope/forecast", json=body), 404, "model_not_found")
    assert_error(
        client.post("/models/sales/versions/9/forecast", json=body), 404, "model_not_found"
    )
    assert_error(client.get("/models/nope"), 404, "model_not_found")
    paths = client.get("/openapi.json").json()["paths"]
    assert "/models/{name}/versions/{version}/generate" in paths


def test_the_default_model_of_a_task_is_configurable(models: Path) -> None:
    for client in client_for(models, default_models="forecast=sales"):
        assert served(client, "/forecast", series(client))["name"] == "sales"


@pytest.mark.parametrize(
    ("policy", "versions", "serving"),
    [("latest", [2], "2"), ("all", [1, 2], "2"), ("specific:1", [1], "1")],
)
def test_version_policies(models: Path, policy: str, versions: list[int], serving: str) -> None:
    publish(models / "sales" / "1", models, "sales", 2)
    for client in client_for(models, model_policy=f"sales={policy}"):
        entry = client.get("/models/sales").json()
        assert [v["version"] for v in entry["versions"]] == versions
        assert entry["info"]["version"] == serving
        body = series(client)
        for version in versions:
            path = f"/models/sales/versions/{version}/forecast"
            assert served(client, path, body)["version"] == str(version)


def test_new_broken_and_removed_versions_while_requests_run(client: TestClient) -> None:
    registry: Registry = client.app.state.registry  # type: ignore[attr-defined]
    models, body = registry.settings.models_dir, series(client)
    statuses: list[int] = []

    def rescan_while_serving() -> None:
        scan = threading.Thread(target=registry.rescan)
        scan.start()
        while scan.is_alive():
            statuses.append(client.post("/models/sales/forecast", json=body).status_code)
            statuses.append(client.get("/ready").status_code)
        scan.join()

    publish(models / "sales" / "1", models, "sales", 2)
    rescan_while_serving()
    assert served(client, "/models/sales/forecast", body)["version"] == "2"

    broken = publish(models / "sales" / "1", models, "sales", 3)
    (broken / "model.onnx").write_bytes(b"not a model")
    rescan_while_serving()
    entry = client.get("/models/sales").json()
    assert entry["state"] == "ready" and entry["info"]["version"] == "2"
    (failed,) = [v for v in entry["versions"] if v["version"] == 3]
    assert failed["state"] == "failed" and "sha256" in failed["reason"]

    shutil.rmtree(broken)
    shutil.rmtree(models / "sales" / "2")
    rescan_while_serving()
    assert served(client, "/models/sales/forecast", body)["version"] == "1"
    assert set(statuses) == {200}, statuses


def test_a_model_removed_from_the_repository_is_no_longer_served(client: TestClient) -> None:
    registry: Registry = client.app.state.registry  # type: ignore[attr-defined]
    shutil.rmtree(registry.settings.models_dir / "sales")
    registry.rescan()
    assert_error(client.post("/models/sales/forecast", json=series(client)), 404, "model_not_found")
    assert client.get("/ready").status_code == 200  # removed on purpose: the rest still serve


def test_administration_exists_only_behind_the_key(models: Path) -> None:
    for open_client in client_for(models):
        assert_error(open_client.post("/admin/rescan"), 404, "not_found")
    for client in client_for(models, api_key="admin-key"):
        assert_error(client.post("/admin/rescan"), 401, "unauthorized")
        assert client.post("/admin/rescan", headers=KEY).status_code == 200
        unloaded = client.post("/admin/models/sales/unload", headers=KEY)
        assert "sales" not in [m["name"] for m in unloaded.json()["models"]]
        body = series(client)
        refused = client.post("/models/sales/forecast", json=body, headers=KEY)
        assert_error(refused, 404, "model_not_found")
        loaded = client.post("/admin/models/sales/load", headers=KEY)
        assert loaded.status_code == 200 and loaded.json()["state"] == "ready"
        assert client.post("/models/sales/forecast", json=body, headers=KEY).status_code == 200


@pytest.mark.parametrize(
    ("path", "model", "template"),
    [
        ("/forecast", "forecast", "/forecast"),
        ("/models/sales/forecast/batch", "sales", "/models/{name}/forecast/batch"),
        (
            "/models/sales/versions/3/generate",
            "sales",
            "/models/{name}/versions/{version}/generate",
        ),
        ("/models/sales/translate", None, "unmatched"),
        # Any name segment needs the key and a slot, even one the routes will refuse.
        ("/models/../forecast", "..", "/models/{name}/forecast"),
    ],
)
def test_every_model_route_is_matched_for_admission(
    path: str, model: str | None, template: str
) -> None:
    routes = ModelRoutes(
        {"/forecast": "forecast", "/forecast/batch": "forecast", "/generate": "generate"},
        lambda task: task,
    )
    assert routes.model(path) == model
    assert routes.template(path) == template
    assert routes.protected(path) == (model is not None)


def test_an_idle_worker_thread_ends_and_a_new_one_starts_on_demand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    monkeypatch.setattr(batching, "IDLE_THREAD_SECONDS", 0.05)
    batcher = batching.Batching().batcher("m", lambda items: [i * 2 for i in items])

    async def twice() -> list[int]:
        first = await batcher.submit(1)
        thread = batcher._thread
        assert thread is not None
        thread.join(timeout=5)  # it leaves once idle
        return [first, await batcher.submit(2)]

    assert asyncio.run(twice()) == [2, 4]


def test_training_publishes_a_named_model(tiny_data: dict[str, Path], tmp_path: Path) -> None:
    from training.cli import main

    models = tmp_path / "models"
    args = ["forecast", "--preset", "tiny", "--models-dir", str(models), "--name", "sales"]
    args += ["--data-dir", str(tmp_path), "--data-file", str(tiny_data["forecast"])]
    assert main(args) == 0  # a second version: tests/test_e2e.py's README walk-through
    assert sorted(p.name for p in models.iterdir()) == ["sales"]  # no scratch left behind
    assert sorted(p.name for p in (models / "sales").iterdir()) == ["1"]
    metadata = json.loads((models / "sales" / "1" / "metadata.json").read_text())
    assert (metadata["name"], metadata["task"], metadata["version"]) == ("sales", "forecast", 1)
    registry = Registry(make_settings(models_dir=models, tasks=("forecast",)))
    registry.load_all()
    assert registry.status("sales").state == "ready"
    assert registry.get("sales", "forecast").info.ref.name == "sales"
    assert main([*args[:-2], "--name", "../evil"]) == 2


def test_a_newest_version_with_broken_metadata_keeps_the_model(client: TestClient) -> None:
    registry: Registry = client.app.state.registry  # type: ignore[attr-defined]
    models = registry.settings.models_dir
    broken = publish(models / "sales" / "1", models, "sales", 2)
    (broken / "metadata.json").write_text("{not json")
    registry.rescan()
    entry = client.get("/models/sales").json()
    assert entry["info"]["version"] == "1" and entry["versions"][-1]["state"] == "failed"
    assert served(client, "/models/sales/forecast", series(client))["version"] == "1"
