"""What the reports say about the machine: CPU, how busy other work kept it, library versions,
the load generator and the service settings taken from the environment."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import psutil

# Settings the benchmarks set for the service themselves; any other SEQSERVE_* is passed through.
_OWN = {"SEQSERVE_HOST", "SEQSERVE_PORT", "SEQSERVE_MODELS_DIR"}
_SECRET = {"SEQSERVE_API_KEY"}  # reported as set, never printed


def service_settings() -> dict[str, str]:
    """The SEQSERVE_* variables the service inherits from this environment."""
    return {
        k: "(set)" if k in _SECRET else v
        for k, v in os.environ.items()
        if k.startswith("SEQSERVE_") and k not in _OWN
    }


def cpu_busy(seconds: float = 1.0) -> float:
    """Fraction of all CPU time spent busy over `seconds` (I/O wait counts as idle)."""
    return psutil.cpu_percent(interval=seconds) / 100


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def usable_cpus() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def generator_version(load_generator: str) -> str:
    """wrk's own version line when wrk is the generator, else the name given."""
    if load_generator != "wrk" or not shutil.which("wrk"):
        return load_generator
    version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return (version.stdout or version.stderr).split(" Copyright")[0].strip() or "wrk"


def library_versions(
    names: tuple[str, ...] = ("onnxruntime", "fastapi", "uvicorn", "pydantic"),
) -> str:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return ", ".join(f"{name} {version(name)}" for name in names)
