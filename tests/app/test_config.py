"""Settings: environment parsing and the .env.example that documents every setting."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import PROJECT_ROOT, Settings
from app.repository import Policy
from training.settings import TrainingSettings


def from_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(f"SEQSERVE_{name.upper()}", value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("SEQSERVE_")]:
        monkeypatch.delenv(name)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.models_dir == PROJECT_ROOT / "models"
    assert settings.tasks == ("forecast", "sentiment", "generate")
    assert settings.runtime == "onnx" and settings.log_format == "json"
    assert settings.cors_origins == ()
    assert settings.threads is None and settings.runtime_threads(parallel=False) == 1
    assert settings.runtime_threads(parallel=True) == max(1, len(os.sched_getaffinity(0)) - 1)
    assert Settings(_env_file=None, threads=1).runtime_threads(parallel=True) == 1  # type: ignore[call-arg]
    assert settings.max_body_bytes == 1 << 20
    assert settings.policy("forecast") == Policy("latest")
    assert settings.default_model("forecast") == "forecast"
    assert settings.reload_interval_seconds == 5


def test_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = from_env(
        monkeypatch, tasks="generate, forecast,generate", cors_origins="https://a,https://b"
    )
    assert settings.tasks == ("generate", "forecast")
    assert settings.cors_origins == ("https://a", "https://b")


def test_pinned_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = from_env(monkeypatch, sentiment_version="3", models_dir="/srv/models")
    assert settings.policy("sentiment") == Policy("specific", (3,))
    assert settings.policy("generate") == Policy("latest")
    assert settings.models_dir == Path("/srv/models")


def test_policies_and_default_models(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = from_env(
        monkeypatch,
        model_policy="sales=specific:4,3; forecast=all",
        default_models="forecast=sales",
    )
    assert settings.policy("sales") == Policy("specific", (3, 4))
    assert settings.policy("forecast") == Policy("all")
    assert settings.policy("other") == Policy("latest")
    assert settings.default_model("forecast") == "sales"
    assert settings.default_model("sentiment") == "sentiment"


@pytest.mark.parametrize(
    ("text", "versions"),
    [("latest", [3]), ("all", [1, 2, 3]), ("specific:1,3", [1, 3]), ("specific:2,9", [2])],
)
def test_a_policy_selects_published_versions(text: str, versions: list[int]) -> None:
    assert Policy.parse(text).select([1, 2, 3]) == versions


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("tasks", "forecast,translate"),
        ("runtime", "torch"),
        ("forecast_version", "0"),
        ("log_format", "xml"),
        ("max_body_bytes", "-1"),
        ("port", "70000"),
        ("tasks", ""),  # a server with nothing to serve would still call itself ready
        ("tasks", " , "),
        ("threads", "100000"),  # more threads than CPUs: stuck loading, memory growing
        ("api_key", ""),  # an empty key once meant "no key needed" while it looked set
        ("shutdown_grace_seconds", "-1"),
        ("header_timeout_seconds", "0"),
        ("max_header_bytes", "100"),
        ("model_policy", "sales=newest"),
        ("model_policy", "sales=specific:0"),
        ("model_policy", "sales"),
        ("default_models", "translate=sales"),
        ("default_models", "forecast=../etc"),
    ],
)
def test_bad_values_fail_at_start(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    with pytest.raises(ValidationError):
        from_env(monkeypatch, **{name: value})


def test_env_example_documents_every_setting() -> None:
    text = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    documented = {m.lower() for m in re.findall(r"^#?\s*SEQSERVE_([A-Z_]+)=", text, re.M)}
    documented |= {m.lower() for m in re.findall(r"^#?\s*(OTEL_[A-Z_]+)=", text, re.M)}
    otel = {"otel_exporter_otlp_traces_endpoint"}  # the second name of the endpoint field
    # The data directory and models directory are training's too (training/settings.py).
    internal = {"multiprocess_dir"}  # set by `python -m app` for its workers, never by users
    every = set(Settings.model_fields) | set(TrainingSettings.model_fields)
    assert documented - otel == every - internal


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [("max 100000\n", None), ("100000 100000\n", 1), ("150000 100000\n", 2), ("garbage", None)],
)
def test_a_cgroup_cpu_quota_caps_the_thread_count(
    tmp_path: Path, cpu_max: str, expected: int | None
) -> None:
    from app.config import usable_cpus

    usable = len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text(cpu_max)
    assert usable_cpus(tmp_path / "cpu.max") == min(usable, expected or usable)
    assert usable_cpus(tmp_path / "missing") == usable


@pytest.mark.parametrize(("cpus", "workers", "parallel_threads"), [(2, 1, 1), (8, 1, 7), (8, 2, 3)])
def test_each_worker_threads_its_share_of_the_cpus(
    monkeypatch: pytest.MonkeyPatch, cpus: int, workers: int, parallel_threads: int
) -> None:
    monkeypatch.setattr("app.config.usable_cpus", lambda: cpus)
    settings = Settings(_env_file=None, workers=workers)  # type: ignore[call-arg]
    assert settings.runtime_threads(parallel=True) == parallel_threads
    assert settings.runtime_threads(parallel=False) == 1
