"""Training's own settings: where datasets are read and artifacts written.

The same `SEQSERVE_` variables (and `.env` file) as the service, so a trained model lands where
`python -m app` looks for it; the data directory is read by training (and bench/) only.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.config import PROJECT_ROOT


def default_data_dir() -> Path:
    """`../shared/data` beside the checkout when it exists, else `data/` in it (where
    `--download` puts the public files)."""
    shared = PROJECT_ROOT.parent / "shared" / "data"
    return shared if shared.is_dir() else PROJECT_ROOT / "data"


class TrainingSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SEQSERVE_", env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    models_dir: Path = PROJECT_ROOT / "models"  # the service's default too (app/config.py)
