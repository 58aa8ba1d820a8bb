"""Configuration files in YAML, validated by a pydantic model, with errors as ``file:line: field: message``.

Line numbers come from the YAML node tree, so the person who edited the file
can fix it from the message alone (on the command line and in the Airflow UI).
"""

from __future__ import annotations

from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at a pydantic error location (or its nearest parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            match = node.value[part]
        else:
            match = None
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line


def parse_yaml(text: str, origin: str, model: type[Model], error: type[ValueError], what: str) -> Model:
    """``text`` validated as ``model``; any problem raises ``error`` naming the file, line and field."""
    try:
        data = yaml.safe_load(text)
        tree = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark else origin
        raise error(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise error(f"{origin}:1: {what}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for problem in exc.errors():
            loc = tuple(problem["loc"])
            field = ".".join(str(part) for part in loc) or "(top level)"
            message = problem["msg"].removeprefix("Value error, ")
            problems.append(f"{origin}:{line_of(tree, loc)}: {field}: {message}")
        raise error("\n".join(problems)) from exc
