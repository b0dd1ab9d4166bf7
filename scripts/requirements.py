"""Print the project's requirements, one a line, for `pip install -r`: used by the Dockerfile.

    python scripts/requirements.py                 # serving: [project] dependencies only
    python scripts/requirements.py train           # plus the `train` extra
    python scripts/requirements.py train --cuda    # with TensorFlow's CUDA wheels (GPU image)
    python scripts/requirements.py --only kserve-check  # the extra alone (Makefile: .venv-kserve)

Installing the dependencies from pyproject.toml alone, before the source is copied, keeps them in
their own image layer: editing the code then rebuilds only the small layer holding the code.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def requirements(extras: list[str], cuda: bool, only: bool = False) -> list[str]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    lines = [] if only else list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    if cuda:
        # Same version pin, plus the extra that brings CUDA and cuDNN as pip wheels.
        lines = [re.sub(r"^tensorflow(?=[=<>~! ])", "tensorflow[and-cuda]", r) for r in lines]
        if not any(r.startswith("tensorflow[and-cuda]") for r in lines):
            raise SystemExit("--cuda needs an extra that requires tensorflow (e.g. train)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("extras", nargs="*", help="optional-dependency groups to add")
    parser.add_argument("--cuda", action="store_true", help="tensorflow[and-cuda] for tensorflow")
    parser.add_argument("--only", action="store_true", help="the extras without the dependencies")
    args = parser.parse_args()
    print("\n".join(requirements(args.extras, args.cuda, args.only)))


if __name__ == "__main__":
    main()
