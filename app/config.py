"""Service settings: the only place that reads the environment (prefix `SEQSERVE_`).

Every value has a default that works on a laptop; `.env.example` documents each one. Tests build
a `Settings(...)` directly and hand it to `create_app`, so nothing here is patched.
"""

from __future__ import annotations

import math
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.artifacts import TASKS, Task
from app.batching import BatchLimits
from app.repository import MODEL_NAME, Policy, parse_assignments

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def usable_cpus(cgroup_cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The CPUs this process may use: its cpuset, capped by a cgroup v2 CPU quota.

    A container limited to 2 CPUs (docker --cpus, a Kubernetes limit) still sees every host core
    in its cpuset; the quota in cpu.max ("200000 100000" = 2 CPUs) is what actually applies.
    """
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        quota, period = cgroup_cpu_max.read_text().split()[:2]
        limit = math.ceil(int(quota) / int(period)) if quota != "max" else None
    except (OSError, ValueError):
        limit = None
    return max(1, min(usable or 1, limit or usable or 1))


_KEY = re.compile(r"[\x21-\x7e]{1,4096}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SEQSERVE_", env_file=".env", extra="ignore", frozen=True
    )

    # --- models ---------------------------------------------------------------------------
    models_dir: Path = PROJECT_ROOT / "models"
    # Comma-separated in the environment: SEQSERVE_TASKS=forecast,sentiment. At least one.
    tasks: Annotated[tuple[Task, ...], NoDecode] = Field(
        default=("forecast", "sentiment", "generate"), min_length=1
    )
    # The model each task's own endpoint (/forecast, ...) serves: "forecast=sales; ...". A task
    # not named here serves the model named after it.
    default_models: str = ""
    # Versions each model serves: "sales=specific:3,4; forecast=all"; unnamed models: latest.
    model_policy: str = ""
    # Seconds between scans of the repository for new, changed or removed versions; 0: never.
    reload_interval_seconds: float = Field(default=5.0, ge=0, le=86_400)
    # Older pins of one version of each task's default model: the same as `specific:N`.
    forecast_version: int | None = Field(default=None, gt=0)
    sentiment_version: int | None = Field(default=None, gt=0)
    generate_version: int | None = Field(default=None, gt=0)
    runtime: Literal["onnx", "tensorflow"] = "onnx"
    # Threads inside one model call. Unset: 1 for forecast and generate, whose small recurrent
    # graphs lose more to waking a second thread than they gain (batch-1 forecast 0.048 ms on one
    # thread, 0.060 ms on two); for sentiment every usable CPU but one, which the event loop needs
    # (2 cores, 32 connections: 1,354 req/s with 1 thread, 1,257 with 2).
    # At most the CPUs this process may use: more only adds contention (100,000 stalled loading).
    threads: int | None = Field(default=None, gt=0, description="intra-op threads")
    warm_up: bool = True

    # --- request limits ----------------------------------------------------------------------
    max_body_bytes: int = Field(default=1 << 20, gt=0)
    max_series_length: int = Field(default=10_000, gt=0)
    max_series_batch: int = Field(default=64, gt=0)
    max_texts: int = Field(default=64, gt=0)
    max_text_chars: int = Field(default=20_000, gt=0)
    max_prompt_chars: int = Field(default=4_000, gt=0)
    max_tokens: int = Field(default=1_000, gt=0)
    max_temperature: float = Field(default=5.0, gt=0)
    max_stop_sequences: int = Field(default=4, ge=0)
    max_stop_chars: int = Field(default=32, gt=0)

    # --- admission and micro-batching (per model) ---------------------------------------------
    # 32: enough to fill batches, few enough that an accepted request waits only milliseconds.
    max_in_flight: int = Field(default=32, gt=0, description="requests per model before 503")
    batch_max_rows: int = Field(default=64, gt=0, description="rows in one model call")
    batch_max_queue_rows: int = Field(default=256, gt=0, description="waiting rows before 503")
    batch_max_delay_ms: float = Field(default=0.0, ge=0, le=1000, description="wait for more")
    max_streams: int = Field(default=64, gt=0, description="concurrent generations per model")

    # --- connections (enforced by `python -m app`, see app/server.py) -------------------------
    max_header_bytes: int = Field(default=16_384, ge=1024, description="request line + headers")
    max_headers: int = Field(default=100, gt=0, description="header fields per request")
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    keep_alive_timeout_seconds: int = Field(default=5, gt=0, le=3600, description="idle")
    # Capped below the process's file-descriptor limit, whatever is set.
    max_connections: int = Field(default=4096, gt=0, description="open at once, all clients")
    max_connections_per_client: int = Field(default=256, ge=0, description="per address; 0: off")

    # --- server ------------------------------------------------------------------------------
    # Processes serving one port, each with its own models, admission and batching (app/workers.py).
    # 1 in containers: scale containers out instead. Connection limits apply per worker.
    workers: int = Field(default=1, ge=1, le=64)
    # Set by `python -m app` for its workers (prometheus-client's own variable); never by hand.
    multiprocess_dir: Path | None = Field(default=None, validation_alias="PROMETHEUS_MULTIPROC_DIR")
    # Loopback by default: listening on every interface is a decision (the container makes it).
    host: str = "127.0.0.1"
    port: int = Field(default=8000, gt=0, lt=65536)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "json"
    # On SIGTERM: stop accepting, let in-flight requests and streams finish for at most this long;
    # 0 cuts them at once.
    shutdown_grace_seconds: float = Field(default=30.0, ge=0, le=3600)
    # When set, inference endpoints need `Authorization: Bearer <key>` or `X-API-Key: <key>`.
    # Unset means no key; set but empty (or with spaces) is an error, never an open door.
    api_key: SecretStr | None = None
    # Comma-separated; empty means no CORS headers at all (same-origin clients only).
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()

    # --- request capture (README: Capturing requests): off unless a file is named -----------
    capture_file: Path | None = None
    capture_fraction: float = Field(default=0.01, ge=0, le=1)  # of model requests
    capture_max_field_bytes: int = Field(default=65_536, ge=0)  # of each body kept; more is cut
    capture_max_file_bytes: int = Field(default=100_000_000, gt=0)  # then rotated
    capture_backups: int = Field(default=3, ge=1)  # rotated files kept

    # --- tracing: OpenTelemetry's own variables, unprefixed (the exporter reads the rest) -----
    otel_traces_exporter: str | None = Field(default=None, validation_alias="OTEL_TRACES_EXPORTER")
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"
        ),
    )
    otel_sdk_disabled: bool = Field(default=False, validation_alias="OTEL_SDK_DISABLED")

    @property
    def tracing(self) -> bool:
        """On when an exporter or an OTLP endpoint is named, as OpenTelemetry's own SDKs read
        them; off by default, with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none."""
        if self.otel_sdk_disabled or self.otel_traces_exporter == "none":
            return False
        return self.otel_traces_exporter is not None or self.otel_exporter_otlp_endpoint is not None

    @field_validator("tasks", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("tasks")
    @classmethod
    def _unique_tasks(cls, value: tuple[Task, ...]) -> tuple[Task, ...]:
        return tuple(dict.fromkeys(value))

    @field_validator("api_key")
    @classmethod
    def _usable_key(cls, value: SecretStr | None) -> SecretStr | None:
        # Headers carry visible ASCII; a key with anything else could never be sent, and an
        # empty one (SEQSERVE_API_KEY=$UNSET_VARIABLE) would look like protection and be none.
        if value is not None and not _KEY.fullmatch(value.get_secret_value()):
            raise ValueError(
                "SEQSERVE_API_KEY must be 1-4096 visible ASCII characters without spaces; "
                "unset it to serve without a key"
            )
        return value

    @field_validator("default_models")
    @classmethod
    def _known_tasks(cls, value: str) -> str:
        for task, name in parse_assignments(value, "model name").items():
            if task not in TASKS:
                raise ValueError(f"{task!r} is not a task ({', '.join(TASKS)})")
            if not MODEL_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a model name")
        return value

    @field_validator("model_policy")
    @classmethod
    def _valid_policies(cls, value: str) -> str:
        for policy in parse_assignments(value, "policy").values():
            Policy.parse(policy)
        return value

    @field_validator("threads")
    @classmethod
    def _threads_within_cpus(cls, value: int | None) -> int | None:
        if value is not None and value > usable_cpus():
            raise ValueError(f"at most {usable_cpus()}, the CPUs this process may use")
        return value

    def batch_limits(self) -> BatchLimits:
        return BatchLimits(
            max_rows=self.batch_max_rows,
            max_queue_rows=self.batch_max_queue_rows,
            max_delay=self.batch_max_delay_ms / 1000,
            max_streams=self.max_streams,
        )

    def runtime_threads(self, parallel: bool) -> int:
        """Threads for one model's runtime: `threads` if set; else all but one of this worker's
        CPUs for a task whose calls are big enough to share out (TaskDeclaration.parallel_runtime),
        or one."""
        if self.threads is not None:
            return self.threads
        cpus = max(1, usable_cpus() // self.workers)  # each worker's share
        return max(1, cpus - 1) if parallel else 1

    def default_model(self, task: Task) -> str:
        """The model that /forecast, /sentiment or /generate serves."""
        return parse_assignments(self.default_models, "model name").get(task, task)

    def policy(self, name: str) -> Policy:
        if (text := parse_assignments(self.model_policy, "policy").get(name)) is not None:
            return Policy.parse(text)
        pins: dict[str, int | None] = {
            "forecast": self.forecast_version,
            "sentiment": self.sentiment_version,
            "generate": self.generate_version,
        }
        pinned = pins.get(name)
        return Policy("specific", (pinned,)) if pinned else Policy()


@lru_cache
def get_settings() -> Settings:
    return Settings()
