"""The benchmarks' command lines: one options type, declared once as dataclass fields.

Each tool subclasses `Options` (with `WithLoad` and `WithData` when it needs them) with the
fields it adds, and
`parse()` turns every field into a `--flag` (underscores become dashes) with its default and
help, so the argparse block and the dataclass cannot drift apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from bench.load import Generator, pick_generator
from training.settings import PROJECT_ROOT, TrainingSettings

RESULTS = PROJECT_ROOT / "bench" / "results"


def default_models_dir() -> Path:
    env = os.environ.get("SEQSERVE_MODELS_DIR")
    return Path(env) if env else PROJECT_ROOT / "models"


def option(default: Any = None, help: str = "", factory: Any = None, **argparse: Any) -> Any:
    """A field with its command-line help; `argparse` takes e.g. choices=... or nargs="*", and
    positional=True for an argument without a flag."""
    metadata = {"help": help, **argparse}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class Options:
    """What every benchmark takes; a tool that writes a report adds `output` with its file."""

    models_dir: Path = option(
        factory=default_models_dir,
        help="trained artifacts (default: SEQSERVE_MODELS_DIR, else models/)",
    )


@dataclasses.dataclass(frozen=True)
class WithLoad(Options):
    """... and the closed-loop load generator (bench/load.py)."""

    load_generator: str = option("auto", "wrk or python; auto: wrk when installed",
                                 choices=("auto", "wrk", "python"))  # fmt: skip

    @property
    def generator(self) -> Generator:
        return pick_generator(self.load_generator)


@dataclasses.dataclass(frozen=True)
class WithData(Options):
    """... and datasets, for the IMDB review texts of /sentiment bodies."""

    data_dir: Path = option(
        factory=lambda: TrainingSettings().data_dir,
        help="datasets, for IMDB review texts (default: training's, training/settings.py)",
    )


OptionsT = TypeVar("OptionsT", bound=Options)


def parse(kind: type[OptionsT], argv: Sequence[str] | None, prog: str, doc: str | None) -> OptionsT:
    """`kind` from the command line: --models-dir DIR and so on, one flag per field."""
    parser = argparse.ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    hints = typing.get_type_hints(kind)
    for field in dataclasses.fields(kind):
        extra = dict(field.metadata)
        flag = field.name if extra.pop("positional", False) else "--" + field.name.replace("_", "-")
        default = (
            field.default_factory()
            if field.default_factory is not dataclasses.MISSING
            else field.default
        )
        kind_of = hints[field.name]
        if kind_of is bool:
            parser.add_argument(flag, action="store_true", **extra)
            continue
        if typing.get_origin(kind_of) is list:
            kind_of, extra = typing.get_args(kind_of)[0], {"nargs": "*", **extra}
        kind_of = Path if kind_of in (Path, Path | None) else kind_of
        parser.add_argument(flag, type=kind_of, default=default, **extra)
    values = vars(parser.parse_args(argv))
    values["models_dir"] = values["models_dir"].resolve()
    return kind(**values)
