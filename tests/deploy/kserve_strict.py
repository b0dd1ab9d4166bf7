"""Check KServe resources against the kserve SDK's typed models, strictly: `python
tests/deploy/kserve_strict.py FILE.yaml...` prints one line per problem, `FILE: problem`, and
exits 1 if there is any. (One process for many files: importing kserve takes seconds.)

Runs in its own virtualenv (.venv-kserve, made by `make test`): the SDK pins protobuf below the
version that TensorFlow and ONNX use in the dev environment. The SDK's own deserializer drops keys
it does not know, so this walks each document along the models' `openapi_types` and
`attribute_map` and reports any key that is not a field, any value of the wrong JSON type, and
whatever the model's constructor refuses (a required field left out, for one).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

import kserve.models
import kubernetes.client.models
import yaml

MODELS = {"InferenceService": "V1beta1InferenceService", "ServingRuntime": "V1alpha1ServingRuntime"}
SCALARS: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "bool": (bool,)}
SCALARS["float"] = (int, float)


def model_class(name: str) -> Any:
    for module in (kserve.models, kubernetes.client.models):
        if hasattr(module, name):
            return getattr(module, name)
    return None  # `object`, `datetime`, `ResourceQuantity`: free-form


def problems(value: Any, type_name: str, path: str) -> Iterator[str]:
    # kserve's models write list[X] and dict(str, X); the kubernetes client's List[X], Dict[str, X].
    if found := re.fullmatch(r"[Ll]ist\[(.+)\]", type_name):
        if not isinstance(value, list):
            yield f"{path}: expected a list"
            return
        for index, item in enumerate(value):
            yield from problems(item, found[1], f"{path}[{index}]")
    elif found := re.fullmatch(r"dict\(str, (.+)\)|Dict\[str, (.+)\]", type_name):
        if not isinstance(value, dict):
            yield f"{path}: expected a mapping"
            return
        for key, item in value.items():
            yield from problems(item, found[1] or found[2], f"{path}.{key}")
    elif type_name in SCALARS:
        if not isinstance(value, SCALARS[type_name]) or (
            isinstance(value, bool) and type_name != "bool"
        ):
            yield f"{path}: expected {type_name}, got {value!r}"
    elif (klass := model_class(type_name)) is not None:
        yield from model_problems(value, klass, path)


def model_problems(value: Any, klass: Any, path: str) -> Iterator[str]:
    if not isinstance(value, dict):
        yield f"{path}: expected a {klass.__name__} mapping"
        return
    attributes = {key: attr for attr, key in klass.attribute_map.items()}
    for key, item in value.items():
        if key not in attributes:
            yield f"{path}.{key}: not a field of {klass.__name__}"
        else:
            yield from problems(item, klass.openapi_types[attributes[key]], f"{path}.{key}")
    try:  # the SDK's own checks: required fields, allowed values
        klass(**{attributes[k]: v for k, v in value.items() if k in attributes})
    except (ValueError, TypeError) as error:
        yield f"{path}: {error}"


def file_problems(path: str) -> Iterator[str]:
    with open(path, encoding="utf-8") as stream:
        for document in yaml.safe_load_all(stream):
            if document and document.get("kind") in MODELS:
                klass = getattr(kserve.models, MODELS[document["kind"]])
                name = f"{document['kind']}/{document.get('metadata', {}).get('name')}"
                yield from model_problems(document, klass, name)


def main() -> int:
    found = [f"{path}: {problem}" for path in sys.argv[1:] for problem in file_problems(path)]
    print("\n".join(found))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
