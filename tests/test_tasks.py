"""Every list of tasks (artifact kinds, Open Inference Protocol tensors, test fakes) agrees with
the one in app/tasks/__init__.py, and every task has a training module that declares what
`python -m training` needs, so a task added there and forgotten elsewhere fails here, not at
run time."""

from __future__ import annotations

import dataclasses
import typing

import pytest
from fastapi import APIRouter

from app.admission import ModelRoutes
from app.artifacts import TASKS, Metadata
from app.main import _router
from app.tasks import DECLARATIONS
from app.v2.tasks import INFER, TENSORS
from tests.helpers import FAKES
from training.cli import PRESET_NAMES, _task_module


def test_declared_tasks_are_the_artifact_contracts_tasks() -> None:
    assert list(DECLARATIONS) == list(TASKS)
    assert set(typing.get_args(Metadata.model_fields["task"].annotation)) == set(TASKS)


@pytest.mark.parametrize("listed", [FAKES, TENSORS, INFER], ids=str)
def test_protocol_and_test_lists_name_every_task(listed: dict[str, object]) -> None:
    assert set(listed) == set(DECLARATIONS)


@pytest.mark.parametrize("task", list(DECLARATIONS))
def test_every_task_has_a_training_module_with_its_headline_and_presets(task: str) -> None:
    module = _task_module(task)  # training/<task>.py
    fields = {f.name for f in dataclasses.fields(module.CONFIG)}
    assert module.HEADLINE and all(isinstance(name, str) for name in module.HEADLINE)
    assert "tiny" in module.PRESETS and set(module.PRESETS) <= set(PRESET_NAMES)
    for overrides in module.PRESETS.values():
        assert set(overrides) <= fields, set(overrides) - fields
    assert callable(module.train)


@pytest.mark.parametrize("task", list(DECLARATIONS))
def test_every_route_of_a_task_is_admitted_by_construction(task: str) -> None:
    declaration = DECLARATIONS[task]
    router = _router(declaration.router)
    assert isinstance(router, APIRouter) and router.routes
    paths = [route.path for route in router.routes]  # type: ignore[attr-defined]
    routes = ModelRoutes(dict.fromkeys(paths, task), lambda t: t)  # type: ignore[arg-type]
    for path in paths:
        assert routes.model(path) == task
        for name, named in [
            ("sales", f"/models/sales{path}"),
            ("m", f"/models/m/versions/3{path}"),
        ]:
            assert routes.model(named) == name and routes.protected(named)
