"""deploy/: every kustomization renders and is valid Kubernetes, and the manifests agree with the
service's settings (app/config.py), the Dockerfile and docker-compose.yml, so they cannot drift.

Schemas: `kubernetes-validate` ships the Kubernetes JSON schemas; its strict mode refuses any field
the API does not have, so a misspelt `readinesProbe` fails here instead of being dropped by the
cluster. KServe's own kinds are checked in test_kserve.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from fastapi.testclient import TestClient

from tests.deploy.manifests import (
    COMPOSE,
    DEPLOY,
    DOCKERFILE,
    KUSTOMIZATIONS,
    Manifest,
    container_env,
    dockerfile_env,
    dockerfile_env_names,
    dockerfile_user,
    find,
    render,
    setting_names,
    settings_from,
    writable_under,
)

# Slow: manifests render with kubectl, in a process.
pytestmark = pytest.mark.slow

KUBERNETES_VERSION = "1.30.0"  # the oldest we support: preStop `sleep` is there from 1.30 on
KSERVE_GROUP = "serving.kserve.io/"
OVERLAYS = {"cpu": ("serve", "api"), "gpu": ("gpu", "api-gpu")}  # image target, compose service


def overlay(name: str) -> tuple[Manifest, ...]:
    return render(DEPLOY / "kubernetes" / "overlays" / name)


def api_container(manifests: tuple[Manifest, ...]) -> Manifest:
    (container,) = find(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    return container


def all_containers(manifests: tuple[Manifest, ...]) -> list[Manifest]:
    pods = [m["spec"]["template"]["spec"] for m in manifests if m["kind"] in {"Deployment", "Job"}]
    pods += [m["spec"] for m in manifests if m["kind"] == "ServingRuntime"]
    return [c for pod in pods for c in pod["containers"]]


def test_every_kustomization_is_found() -> None:
    names = {str(p.relative_to(DEPLOY)) for p in KUSTOMIZATIONS}
    assert {
        "kubernetes/base",
        "kubernetes/overlays/cpu",
        "kubernetes/overlays/gpu",
        "kserve",
    } <= names


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(DEPLOY)))
@pytest.mark.parametrize("version", [KUBERNETES_VERSION, kubernetes_validate.latest_version()])
def test_kustomization_renders_to_valid_kubernetes(directory: Path, version: str) -> None:
    for manifest in render(directory):
        if manifest["apiVersion"].startswith(KSERVE_GROUP):
            continue
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:  # its own message runs to pages
            where = ".".join(map(str, error.path))
            pytest.fail(
                f"{manifest['kind']} {manifest['metadata']['name']}: {where}: {error.message}"
            )


def test_strict_validation_refuses_a_misspelt_field() -> None:
    deployment: Any = find(overlay("cpu"), "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    container["readinessProbe"] = container.pop("readinesProbe")  # render() is cached


@pytest.mark.parametrize("name", OVERLAYS)
def test_ports_and_probes_match_the_settings_and_image(name: str, client: TestClient) -> None:
    manifests = overlay(name)
    container = api_container(manifests)
    settings = settings_from(container_env(container, manifests))
    (port,) = container["ports"]
    assert port["containerPort"] == settings.port
    assert re.search(rf"^EXPOSE {settings.port}$", DOCKERFILE, re.MULTILINE)
    service_port = find(manifests, "Service")["spec"]["ports"][0]
    assert service_port["targetPort"] == port["name"]
    probes = {kind: container[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe")}
    probes["readinessProbe"] = container["readinessProbe"]["httpGet"]
    assert {p["port"] for p in probes.values()} == {port["name"]}
    # Readiness is the models; liveness only the process (README: no restart loop on a bad model).
    assert probes["readinessProbe"]["path"] == "/ready"
    assert probes["livenessProbe"]["path"] == probes["startupProbe"]["path"] == "/health"
    assert all(client.get(p["path"]).status_code == 200 for p in probes.values())


def mounted_claim(pod: Manifest, container: Manifest, path: str) -> tuple[str, bool]:
    """The claim mounted at `path` in the container, and whether the mount is read-only."""
    (mount,) = (m for m in container["volumeMounts"] if m["mountPath"] == path)
    (volume,) = (v for v in pod["volumes"] if v["name"] == mount["name"])
    return volume["persistentVolumeClaim"]["claimName"], mount.get("readOnly", False)


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_api_reads_the_volume_the_job_writes_where_the_settings_look(name: str) -> None:
    manifests = overlay(name)
    claim = find(manifests, "PersistentVolumeClaim")["metadata"]["name"]
    api_pod = find(manifests, "Deployment")["spec"]["template"]["spec"]
    api_dir = str(settings_from(container_env(api_container(manifests), manifests)).models_dir)
    assert mounted_claim(api_pod, api_container(manifests), api_dir) == (claim, True)
    job_pod = find(manifests, "Job")["spec"]["template"]["spec"]
    (trainer,) = job_pod["containers"]
    job_dir = container_env(trainer, manifests)["SEQSERVE_MODELS_DIR"]
    assert job_dir is not None
    assert mounted_claim(job_pod, trainer, job_dir) == (claim, False)


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_trainer_runs_what_compose_runs(name: str) -> None:
    (trainer,) = find(overlay(name), "Job")["spec"]["template"]["spec"]["containers"]
    command = COMPOSE["services"]["trainer"]["command"]
    assert trainer["args"][:-1] == command[:-1]  # the last is the preset, from a variable
    assert trainer["args"][-1] == "$(SEQSERVE_TRAIN_PRESET)"


@pytest.mark.parametrize("name", OVERLAYS)
def test_env_names_are_real_settings(name: str) -> None:
    """A misspelt SEQSERVE_ variable would be ignored by the service (extra="ignore")."""
    manifests = overlay(name)
    known = setting_names() | dockerfile_env_names()
    for container in all_containers(manifests):
        names = {n for n in container_env(container, manifests) if n.startswith("SEQSERVE_")}
        assert names <= known, names - known


@pytest.mark.parametrize("name", OVERLAYS)
def test_the_api_key_is_optional(name: str) -> None:
    env = {var["name"]: var for var in api_container(overlay(name))["env"]}
    assert env["SEQSERVE_API_KEY"]["valueFrom"]["secretKeyRef"]["optional"] is True


@pytest.mark.parametrize("name", OVERLAYS)
def test_security_context_matches_the_image(name: str) -> None:
    manifests = overlay(name)
    target, service = OVERLAYS[name]
    for kind, image_target in (("Deployment", target), ("Job", "trainer")):
        pod = find(manifests, kind)["spec"]["template"]["spec"]
        user = dockerfile_user(image_target)
        assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == user
        assert pod["securityContext"]["runAsNonRoot"] is True
    for container in all_containers(manifests):
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
    # Read-only where compose runs the same image read-only.
    read_only = COMPOSE["services"][service].get("read_only", False)
    assert api_container(manifests)["securityContext"]["readOnlyRootFilesystem"] is read_only


@pytest.mark.parametrize("name", OVERLAYS)
def test_numba_can_write_its_cache_where_the_root_is_read_only(name: str) -> None:
    # Otherwise the image's prebuilt kernel cache cannot be used: a 25 s compile at every start.
    manifests = overlay(name)
    target, service = OVERLAYS[name]
    cache_dir = dockerfile_env(target)["NUMBA_CACHE_DIR"]
    if COMPOSE["services"][service].get("read_only", False):
        tmpfs = [entry.split(":")[0] for entry in COMPOSE["services"][service]["tmpfs"]]
        assert writable_under(cache_dir, tmpfs)
    container = api_container(manifests)
    if container["securityContext"]["readOnlyRootFilesystem"]:
        pod = find(manifests, "Deployment")["spec"]["template"]["spec"]
        in_memory = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        mounts = [m["mountPath"] for m in container["volumeMounts"] if m["name"] in in_memory]
        assert writable_under(cache_dir, mounts)


@pytest.mark.parametrize("name", OVERLAYS)
def test_rolling_updates_give_in_flight_requests_their_grace(name: str) -> None:
    """SIGTERM comes after preStop; the server then drains for SEQSERVE_SHUTDOWN_GRACE_SECONDS.
    Kubernetes kills at terminationGracePeriodSeconds, counted from the start of preStop."""
    manifests = overlay(name)
    deployment = find(manifests, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = api_container(manifests)
    settings = settings_from(container_env(container, manifests))
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pre_stop >= 5  # endpoint removal reaches kube-proxy and ingresses in a few seconds
    assert pod["terminationGracePeriodSeconds"] > pre_stop + settings.shutdown_grace_seconds
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize("name", OVERLAYS)
def test_service_pdb_and_hpa_find_the_api_pods(name: str) -> None:
    manifests = overlay(name)
    deployment = find(manifests, "Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert find(manifests, "Service")["spec"]["selector"].items() <= labels.items()
    assert find(manifests, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= (
        labels.items()
    )
    target = find(manifests, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
