"""The benchmarks' one options type (bench/options.py): every dataclass field becomes a flag."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.forecast_cost import VersionOptions
from bench.options import Options, option, parse


@dataclass(frozen=True)
class Example(Options):
    seconds: float = option(10.0, "how long")
    quick: bool = option(False, "shorter")
    rows: list[int] = option(factory=list, help="values")
    output: Path = option(Path("out.md"), "where")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], Example(models_dir=Path("m").resolve())),
        (
            ["--seconds", "2.5", "--quick", "--rows", "16", "64", "--output", "x.md"],
            Example(
                Path("m").resolve(), seconds=2.5, quick=True, rows=[16, 64], output=Path("x.md")
            ),
        ),
    ],
)
def test_fields_become_flags_with_their_defaults(argv: list[str], expected: Example) -> None:
    assert parse(Example, ["--models-dir", "m", *argv], "prog", None) == expected


def test_a_positional_field_is_optional_and_typed() -> None:
    given = parse(VersionOptions, ["models/forecast/3"], "prog", None)
    assert given.version_dir == Path("models/forecast/3")
    assert given.forecast_dir == Path("models/forecast/3")
    assert parse(VersionOptions, [], "prog", None).version_dir is None


def test_an_unknown_flag_is_refused() -> None:
    with pytest.raises(SystemExit):
        parse(Example, ["--minutes", "3"], "prog", None)
