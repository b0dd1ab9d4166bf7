"""The inference layer stands on its own: predictors, batching, generation, loading and the
registry never import the web framework (they raise app.exceptions, which know their status)."""

from __future__ import annotations

import subprocess
import sys

import pytest

INFERENCE_MODULES = (
    "app.exceptions",
    "app.batching",
    "app.generation",
    "app.sampling",
    "app.forecast_base",
    "app.preprocessing",
    "app.artifacts",
    "app.tasks.forecast",
    "app.tasks.sentiment",
    "app.tasks.generate",
    "app.loading",
    "app.registry",
    "app.schemas.forecast",  # HTTP schemas are pydantic models, importable without the framework
    "app.schemas.sentiment",
    "app.schemas.generate",
)

# Slow: starts a Python process.
pytestmark = pytest.mark.slow


def test_the_inference_layer_never_imports_fastapi_or_starlette() -> None:
    script = (
        "import importlib, sys\n"
        f"for name in {INFERENCE_MODULES!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout
