"""The tasks the service knows: each declared in its own module, listed here once.

A new task is its own modules (predictor here, schemas in app/schemas/, routes in app/routes/,
preprocessing in the artifact contract, a training script) plus its line below;
tests/test_tasks.py checks that every other list (artifact kinds, training presets, headline
metrics) agrees with this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from app.tasks import forecast, generate, sentiment
from app.tasks.base import TaskDeclaration

DECLARATIONS: Mapping[str, TaskDeclaration] = MappingProxyType(
    {
        declaration.name: declaration
        for declaration in (
            forecast.DECLARATION,
            sentiment.DECLARATION,
            generate.DECLARATION,
        )
    }
)
