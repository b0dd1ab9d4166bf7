"""deploy/kserve/: the ServingRuntime and InferenceService are what the kserve SDK's typed models
accept (strictly: tests/deploy/kserve_strict.py, run in .venv-kserve), and agree with the service's
settings, the Dockerfile, compose and the Kubernetes base they share the models volume with."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.deploy.manifests import (
    COMPOSE,
    DEPLOY,
    DOCKERFILE,
    PROJECT_ROOT,
    Manifest,
    container_env,
    dockerfile_env,
    dockerfile_user,
    find,
    render,
    setting_names,
    settings_from,
    writable_under,
)

# Slow: the kserve SDK runs in its own process; manifests render with kubectl.
pytestmark = pytest.mark.slow

KSERVE = DEPLOY / "kserve"
KSERVE_MODELS_DIR = "/mnt/models"  # where KServe mounts a predictor's storageUri


def kserve_python() -> Path:
    """The virtualenv with the kserve SDK, which `make test` makes and names."""
    configured = os.environ.get("KSERVE_CHECK_PYTHON")
    python = Path(configured) if configured else PROJECT_ROOT / ".venv-kserve" / "bin" / "python"
    if not python.exists() and not configured and not os.environ.get("CI"):
        pytest.skip("no .venv-kserve: `make test` creates it")
    return python


MISSPELT = {"protocolVersion": "protocolVersoin", "readinessProbe": "readinesProbe"}


@pytest.fixture(scope="module")
def sdk_problems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The SDK check's problems with our resources ("ours") and with each field misspelt, from
    one process."""
    ours = yaml.safe_dump_all(render(KSERVE), sort_keys=False)
    texts = {"ours": ours}
    texts |= {bad: re.sub(rf"\b{good}:", f"{bad}:", ours) for good, bad in MISSPELT.items()}
    folder = tmp_path_factory.mktemp("kserve")
    for name, text in texts.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    script = PROJECT_ROOT / "tests" / "deploy" / "kserve_strict.py"
    paths = [str(folder / f"{name}.yaml") for name in texts]
    result = subprocess.run(
        [str(kserve_python()), str(script), *paths], capture_output=True, text=True, timeout=120
    )
    assert result.returncode in (0, 1), result.stderr
    problems: dict[str, list[str]] = {name: [] for name in texts}
    for line in result.stdout.splitlines():
        path, _, problem = line.partition(": ")
        problems[Path(path).stem].append(problem)
    return problems


def runtime_container() -> Manifest:
    (container,) = find(render(KSERVE), "ServingRuntime")["spec"]["containers"]
    return container


def test_the_sdk_models_accept_our_resources(sdk_problems: dict[str, list[str]]) -> None:
    assert sdk_problems["ours"] == []


@pytest.mark.parametrize("misspelt", MISSPELT.values())
def test_the_sdk_check_refuses_a_misspelt_field(
    misspelt: str, sdk_problems: dict[str, list[str]]
) -> None:

    assert any(f".{misspelt}: not a field" in problem for problem in sdk_problems[misspelt])


def test_the_runtime_runs_the_image_as_the_image_would(client: TestClient) -> None:
    container = runtime_container()
    settings = settings_from(container_env(container, render(KSERVE)))
    assert {n for n in container_env(container, ()) if n.startswith("SEQSERVE_")} <= setting_names()
    (port,) = container["ports"]
    assert port["containerPort"] == settings.port
    assert re.search(rf"^EXPOSE {settings.port}$", DOCKERFILE, re.MULTILINE)
    for kind, path in (("readinessProbe", "/ready"), ("livenessProbe", "/health")):
        assert container[kind]["httpGet"] == {"path": path, "port": settings.port}
        assert client.get(path).status_code == 200
    context = container["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"]) == dockerfile_user("serve")
    assert context["readOnlyRootFilesystem"] is COMPOSE["services"]["api"]["read_only"]
    # ... with /tmp in memory for the numba cache, as compose's tmpfs (test_kubernetes.py says why).
    volumes = find(render(KSERVE), "ServingRuntime")["spec"]["volumes"]
    in_memory = {v["name"] for v in volumes if v.get("emptyDir", {}).get("medium") == "Memory"}
    mounts = [m["mountPath"] for m in container["volumeMounts"] if m["name"] in in_memory]
    assert writable_under(dockerfile_env("serve")["NUMBA_CACHE_DIR"], mounts)
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert str(settings.models_dir) == KSERVE_MODELS_DIR


def test_the_inference_service_speaks_v2_through_our_runtime() -> None:
    manifests = render(KSERVE)
    runtime = find(manifests, "ServingRuntime")
    predictor = find(manifests, "InferenceService")["spec"]["predictor"]
    model = predictor["model"]
    assert model["runtime"] == runtime["metadata"]["name"]
    assert model["protocolVersion"] == "v2" and "v2" in runtime["spec"]["protocolVersions"]
    formats = {f["name"] for f in runtime["spec"]["supportedModelFormats"]}
    assert model["modelFormat"]["name"] in formats


def test_it_serves_the_volume_the_training_job_fills() -> None:
    base = render(DEPLOY / "kubernetes" / "overlays" / "cpu")
    claim = find(base, "PersistentVolumeClaim")["metadata"]["name"]
    job = find(base, "Job")["spec"]["template"]["spec"]
    assert claim in {v.get("persistentVolumeClaim", {}).get("claimName") for v in job["volumes"]}
    storage_uri = find(render(KSERVE), "InferenceService")["spec"]["predictor"]["model"]
    assert storage_uri["storageUri"].rstrip("/") == f"pvc://{claim}"


def test_knative_gives_in_flight_requests_their_grace() -> None:
    """Knative sets the pod's termination grace to the revision timeout (predictor.timeout) and
    drains through its queue-proxy; the server's own drain must fit inside it."""
    container = runtime_container()
    settings = settings_from(container_env(container, ()))
    predictor = find(render(KSERVE), "InferenceService")["spec"]["predictor"]
    assert predictor["timeout"] > settings.shutdown_grace_seconds
