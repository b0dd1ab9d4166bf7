"""Runtimes and predictors on the tiny trained artifacts (slow: conftest trains them once)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from app.config import PROJECT_ROOT
from app.registry import Registry
from app.schemas.generate import GenerateRequest
from app.tasks.forecast import ForecastPredictor
from app.tasks.generate import GeneratePredictor, Generator
from app.tasks.sentiment import SentimentPredictor
from tests.helpers import make_settings

pytestmark = pytest.mark.slow


def test_forecast_reads_the_last_history_and_truncates_the_horizon(tiny_registry: Registry) -> None:
    model = cast(ForecastPredictor, tiny_registry.get("forecast"))
    history, horizon = model.spec.history, model.spec.horizon
    rng = np.random.default_rng(0)
    recent = (100 + 10 * np.sin(np.arange(history) / 3) + rng.normal(size=history)).tolist()
    full = model.predict([recent], np.zeros(1, dtype=np.int64))
    assert full.values.shape == (1, horizon) and np.isfinite(full.values).all()
    # Values older than the history change nothing; a batch row is forecast as if alone.
    longer = model.predict([[-5e3] * 30 + recent], np.zeros(1, dtype=np.int64))
    np.testing.assert_array_equal(longer.values, full.values)
    batch = model.predict([recent, [v * 2 for v in recent]], np.zeros(2, dtype=np.int64))
    np.testing.assert_array_equal(batch.values[0], full.values[0])


def test_forecast_is_in_the_units_of_the_series(tiny_registry: Registry) -> None:
    model = cast(ForecastPredictor, tiny_registry.get("forecast"))
    shape = 10 + np.sin(np.arange(200) / 4)
    codes = np.full(2, 0, dtype=np.int64)
    small, large = model.predict([shape.tolist(), (shape * 1000).tolist()], codes).values
    # Scaled inputs: the same shape in another unit gives the same forecast. (A shift is not
    # exactly neutral: a multiplicative seasonal decomposition depends on the level.)
    np.testing.assert_allclose(large, small * 1000, rtol=1e-4)
    flat = model.predict([[7.0] * 20], np.zeros(1, dtype=np.int64)).values
    np.testing.assert_allclose(flat, 7.0, rtol=1e-9)  # a bounded correction of a flat scale


def test_sentiment_labels_in_order(tiny_registry: Registry) -> None:
    model = cast(SentimentPredictor, tiny_registry.get("sentiment"))
    texts = ["a great wonderful film!", "awful, boring, a waste", "<br />?", "héllo wörld"]
    batch = model.predict(texts)
    assert [p.model_dump() for p in batch] == [model.predict([t])[0].model_dump() for t in texts]
    assert all(p.label in ("negative", "positive") and 0.5 <= p.score <= 1 for p in batch)


def generate(model: Generator, **fields: object) -> tuple[str, str, int]:
    request = GenerateRequest.model_validate(fields)
    text, finish_reason, tokens, _ = cast(GeneratePredictor, model).complete(request)
    return text, finish_reason, tokens


def test_generation_is_reproducible_also_concurrently(tiny_registry: Registry) -> None:
    model = cast(Generator, tiny_registry.get("generate"))
    request = {"prompt": "ROMEO:", "max_tokens": 60, "temperature": 1.0, "top_p": 0.9}
    expected = generate(model, seed=3, **request)
    assert expected[1:] == ("length", 60) and len(expected[0]) == 60
    with ThreadPoolExecutor(max_workers=6) as pool:
        seeds = [3, 4] * 6
        results = list(pool.map(lambda seed: generate(model, seed=seed, **request), seeds))
    assert all(r == expected for r, s in zip(results, seeds, strict=True) if s == 3)
    assert any(r != expected for r, s in zip(results, seeds, strict=True) if s == 4)


def test_greedy_ignores_the_seed(tiny_registry: Registry) -> None:
    model = cast(Generator, tiny_registry.get("generate"))
    greedy = [
        generate(model, prompt="O Romeo", max_tokens=30, temperature=0, seed=s) for s in (1, 2)
    ]
    assert greedy[0] == greedy[1]


def test_unknown_prompt_characters_are_skipped(tiny_registry: Registry) -> None:
    model = cast(Generator, tiny_registry.get("generate"))
    known = generate(model, prompt="ROMEO:", max_tokens=20, seed=1)
    assert generate(model, prompt="R☃OM\u200bEO:🙂", max_tokens=20, seed=1) == known
    # Nothing known left (or nothing sent): the model starts from its start text.
    assert generate(model, prompt="☃☃", max_tokens=20, seed=1) == generate(
        model, prompt="", max_tokens=20, seed=1
    )


def test_stop_sequences_end_generation(tiny_registry: Registry) -> None:
    model = cast(Generator, tiny_registry.get("generate"))
    text, _, _ = generate(model, prompt="ROMEO:", max_tokens=200, seed=5)
    stop = text[10:12]  # something it is going to produce
    cut, reason, tokens = generate(model, prompt="ROMEO:", max_tokens=200, seed=5, stop=[stop])
    assert reason == "stop" and stop not in cut and text.startswith(cut)
    assert tokens == len(cut) + len(stop)


def test_tensorflow_runtime_agrees_with_onnx(tiny_models: Path, tiny_registry: Registry) -> None:
    keras_registry = Registry(make_settings(models_dir=tiny_models, runtime="tensorflow"))
    keras_registry.load_all()
    assert keras_registry.ready, [s.reason for s in keras_registry.statuses()]
    onnx_model = cast(ForecastPredictor, tiny_registry.get("forecast"))
    keras_model = cast(ForecastPredictor, keras_registry.get("forecast"))
    assert keras_model.info.runtime == "tensorflow"
    series = [[float(np.sin(i / 5)) for i in range(100)]]
    codes = np.zeros(1, dtype=np.int64)
    np.testing.assert_allclose(
        keras_model.predict(series, codes).values,
        onnx_model.predict(series, codes).values,
        rtol=1e-3,
        atol=1e-4,
    )
    request = {"prompt": "ROMEO:", "max_tokens": 30, "temperature": 0}
    onnx_text = generate(cast(Generator, tiny_registry.get("generate")), **request)
    assert generate(cast(Generator, keras_registry.get("generate")), **request) == onnx_text
    texts = ["great film", "awful film"]
    keras_scores = [
        p.score for p in cast(SentimentPredictor, keras_registry.get("sentiment")).predict(texts)
    ]
    onnx_scores = [
        p.score for p in cast(SentimentPredictor, tiny_registry.get("sentiment")).predict(texts)
    ]
    np.testing.assert_allclose(keras_scores, onnx_scores, atol=1e-4)


def test_serving_with_onnx_never_imports_tensorflow(tiny_models: Path) -> None:
    script = (
        "import sys\n"
        "from app.main import create_app\n"
        "from app.registry import Registry\n"
        "from app.config import Settings\n"
        "registry = Registry(Settings())\n"
        "registry.load_all()\n"
        "create_app(registry.settings, registry)\n"
        "assert registry.ready, [s.reason for s in registry.statuses()]\n"
        "loaded = {'tensorflow', 'keras', 'training'} & {m.split('.')[0] for m in sys.modules}\n"
        "assert not loaded, loaded\n"
    )
    env = {**os.environ, "SEQSERVE_MODELS_DIR": str(tiny_models), "SEQSERVE_RUNTIME": "onnx"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
