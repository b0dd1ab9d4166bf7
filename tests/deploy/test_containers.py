"""The requirement lists the Dockerfile installs (scripts/requirements.py): images stay lean."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from app.config import PROJECT_ROOT

# Slow: container checks run scripts in processes.
pytestmark = pytest.mark.slow

SCRIPT = PROJECT_ROOT / "scripts" / "requirements.py"


def requirements(*args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=True
    )
    return result.stdout.split()


def names(lines: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~ ]", line, maxsplit=1)[0].lower() for line in lines}


def test_serving_image_gets_no_tensorflow() -> None:
    serving = names(requirements())
    assert {"fastapi", "uvicorn", "onnxruntime"} <= serving
    assert not serving & {"tensorflow", "keras", "tf2onnx", "onnx", "matplotlib"}


def test_trainer_gets_the_train_extra() -> None:
    assert {"tensorflow", "keras", "tf2onnx", "onnxruntime"} <= names(requirements("train"))


def test_gpu_image_keeps_the_tensorflow_pin_and_adds_cuda() -> None:
    cpu = [r for r in requirements("train") if r.startswith("tensorflow")]
    gpu = [r for r in requirements("train", "--cuda") if r.startswith("tensorflow")]
    assert len(cpu) == len(gpu) == 1
    assert gpu[0] == cpu[0].replace("tensorflow", "tensorflow[and-cuda]", 1)


def test_cuda_without_tensorflow_is_an_error() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--cuda"], capture_output=True)
    assert result.returncode != 0


def test_only_gives_an_extra_without_the_serving_dependencies() -> None:
    assert requirements("--only", "kserve-check") == ["kserve==0.21.0"]
