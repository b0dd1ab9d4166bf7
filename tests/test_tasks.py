"""Every list of tasks (artifact kinds, Open Inference Protocol tensors, training presets and
headline metrics, test fakes) agrees with the one in app/tasks/__init__.py, so a task
added there and forgotten elsewhere fails here, not at run time."""

from __future__ import annotations

import typing

import pytest
from conftest import FAKES
from fastapi import APIRouter

from app.admission import ModelRoutes
from app.artifacts import TASKS, Metadata
from app.main import _router
from app.tasks import DECLARATIONS
from app.v2.tasks import INFER, TENSORS
from training.cli import HEADLINE
from training.presets import PRESETS


def test_declared_tasks_are_the_artifact_contracts_tasks() -> None:
    assert list(DECLARATIONS) == list(TASKS)
    assert set(typing.get_args(Metadata.model_fields["task"].annotation)) == set(TASKS)


@pytest.mark.parametrize("listed", [HEADLINE, FAKES, TENSORS, INFER, *PRESETS.values()], ids=str)
def test_training_and_test_lists_name_every_task(listed: dict[str, object]) -> None:
    assert set(listed) == set(DECLARATIONS)


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
