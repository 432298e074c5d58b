"""The native YAML bank format (``bank: {...}`` + ``questions: [...]``)."""

from __future__ import annotations

from typing import Any, Final

from ._common import ResultBuilder, normalize_newlines
from ._yaml import dump as _dump_yaml
from ._yaml import yaml
from .questions import QUESTION_FIELDS, BankData, QuestionFormatError
from .results import DumpResult, ParseResult

NAME: Final = "yaml"
LABEL: Final = "YAML question bank (native)"
EXTENSIONS: Final = (".yaml", ".yml")
CONTENT_TYPE: Final = "application/yaml"


def parse(text: str) -> ParseResult:
    """Parse a YAML bank; ``result.bank`` is set when the file has a valid ``bank:``.

    A bare list of questions (no ``bank:`` wrapper) is accepted too.
    """
    text = normalize_newlines(text)
    builder = ResultBuilder()
    try:
        node, data = _load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        builder.error(line, f"YAML syntax error: {problem}")
        return builder.result()
    except yaml.YAMLError as exc:
        builder.error(_reader_line(text, exc), f"YAML error: {exc}")
        return builder.result()
    except RecursionError:
        builder.error(None, "YAML error: the document is nested too deeply")
        return builder.result()

    if node is None or data is None:
        builder.error(1, "the file is empty: expected 'bank:' and 'questions:'")
        return builder.result()

    bank: BankData | None = None
    questions_node: Any = None
    questions: Any = None
    if isinstance(data, dict):
        top_lines = _field_lines(node, builder, "the top level")
        for name in data:
            if name not in ("bank", "questions"):
                builder.warn(top_lines.get(str(name)), f"unknown top-level field {name!r} ignored")
        if "bank" in data:
            try:
                bank = BankData.from_header(data["bank"])
            except QuestionFormatError as exc:
                builder.error(top_lines.get("bank"), exc.message)
            else:
                bank_node = _value_node(node, "bank")
                if bank_node is not None:
                    lines = _field_lines(bank_node, builder, "bank")
                    for name in data["bank"]:
                        if name not in ("slug", "title", "description"):
                            builder.warn(
                                lines.get(str(name)), f"unknown bank field {name!r} ignored"
                            )
        if "questions" not in data:
            builder.error(1, "missing 'questions:' list")
            return builder.result(bank)
        questions = data["questions"]
        questions_node = _value_node(node, "questions")
        if questions is None:
            questions = []
    elif isinstance(data, list):
        questions, questions_node = data, node
    else:
        builder.error(
            1, "expected a mapping with 'bank:' and 'questions:' (or a list of questions)"
        )
        return builder.result()

    if not isinstance(questions, list):
        line = questions_node.start_mark.line + 1 if questions_node is not None else None
        builder.error(line, "'questions' must be a list of questions")
        return builder.result(bank)

    for item, item_node in zip(questions, questions_node.value, strict=True):
        index = builder.next_index()
        line = item_node.start_mark.line + 1
        if not isinstance(item, dict):
            builder.error(line, "each question must be a mapping of fields", index)
            continue
        field_lines = _field_lines(item_node, builder, "this question", index)
        for name in item:
            if name not in QUESTION_FIELDS:
                builder.warn(
                    field_lines.get(str(name), line), f"unknown field {name!r} ignored", index
                )
        builder.build(
            item,
            line,
            index,
            explicit_key=True,
            field_lines=field_lines,
            item_lines=_item_lines(item_node),
        )
    return builder.result(bank)


def dump(bank: BankData) -> DumpResult:
    """Export losslessly: ``parse(dump(b).text)`` gives back the same bank."""
    text = _dump_yaml(bank.to_dict())
    return DumpResult(text=text, exported=len(bank.questions))


# --- helpers -----------------------------------------------------------------------


_MERGE_TAG: Final = "tag:yaml.org,2002:merge"


def _load(text: str) -> tuple[Any, Any]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _snapshot(node)
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    return node, data


def _snapshot(root: Any) -> None:
    """Keep each mapping's original key list (``<<`` merge keys rewrite node.value
    during construction) as ``node.original``, down to the question fields."""
    stack = [(root, 0)]
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        if id(node) in seen or depth > 4:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            node.original = list(node.value)
            stack.extend((value, depth + 1) for _key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)


def _entries(node: Any) -> list[tuple[Any, Any]]:
    entries: list[tuple[Any, Any]] = getattr(node, "original", node.value)
    return entries


def _reader_line(text: str, exc: Any) -> int | None:
    position = getattr(exc, "position", None)
    if isinstance(position, int):
        return text.count("\n", 0, position) + 1
    return None


def _value_node(mapping_node: Any, key: str) -> Any:
    if not isinstance(mapping_node, yaml.MappingNode):
        return None
    for key_node, value_node in _entries(mapping_node):
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


def _item_lines(question_node: Any) -> dict[str, list[int]]:
    """Start line of each entry of the options / pairs / steps lists."""
    out: dict[str, list[int]] = {}
    for name in ("options", "pairs", "steps"):
        node = _value_node(question_node, name)
        if isinstance(node, yaml.SequenceNode):
            out[name] = [child.start_mark.line + 1 for child in node.value]
    return out


def _field_lines(
    node: Any, builder: ResultBuilder, where: str, index: int | None = None
) -> dict[str, int]:
    """Line of each key of a mapping node; a key given twice is an error."""
    lines: dict[str, int] = {}
    if not isinstance(node, yaml.MappingNode):
        return lines
    for key_node, _value in _entries(node):
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
            continue
        name = str(key_node.value)
        line = key_node.start_mark.line + 1
        if name in lines:
            builder.error(
                line,
                f"field {name!r} is given twice in {where} (first on line {lines[name]})",
                index,
            )
            continue
        lines[name] = line
    return lines
