"""Typed dependencies for routes: settings, the registry and each task's predictor.

Settings and registry live on `app.state` (set by create_app), so a test app built with its own
settings and fake predictors needs no environment patching and no dependency overrides.
"""

from __future__ import annotations

import hmac
from typing import Annotated, cast

from fastapi import Depends, Header, Request

from app.config import Settings
from app.errors import Unauthorized
from app.metrics import Metrics
from app.registry import Registry
from app.tasks.forecast import Forecaster
from app.tasks.generate import Generator
from app.tasks.sentiment import Classifier


def _settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def _registry(request: Request) -> Registry:
    return cast(Registry, request.app.state.registry)


def _metrics(request: Request) -> Metrics:
    return cast(Metrics, request.app.state.metrics)


SettingsDep = Annotated[Settings, Depends(_settings)]
RegistryDep = Annotated[Registry, Depends(_registry)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]


# Each raises ModelNotReady (503) while its model is loading or after it failed to load.
def _forecaster(registry: RegistryDep) -> Forecaster:
    return cast(Forecaster, registry.get("forecast"))


def _classifier(registry: RegistryDep) -> Classifier:
    return cast(Classifier, registry.get("sentiment"))


def _generator(registry: RegistryDep) -> Generator:
    return cast(Generator, registry.get("generate"))


ForecasterDep = Annotated[Forecaster, Depends(_forecaster)]
ClassifierDep = Annotated[Classifier, Depends(_classifier)]
GeneratorDep = Annotated[Generator, Depends(_generator)]


def require_api_key(
    settings: SettingsDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    """401 unless the configured key comes as a bearer token or X-API-Key (when one is set)."""
    if settings.api_key is None:
        return
    expected = settings.api_key.get_secret_value().encode()
    scheme, _, token = (authorization or "").partition(" ")
    given = token if scheme.lower() == "bearer" else (x_api_key or "")
    if not hmac.compare_digest(given.encode(), expected):  # constant time: no timing oracle
        raise Unauthorized()
