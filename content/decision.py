"""The "Which service?" walk-through: a small tree of deciding questions (decision_tree.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TREE_PATH = Path(__file__).resolve().parent / "decision_tree.yaml"
RESULTS = {"kms", "cloudhsm", "custom-key-store", "either"}


class DecisionTreeError(Exception):
    pass


@dataclass(frozen=True)
class Step:
    node_id: str
    question: str
    help: str
    answer_labels: list[str]
    chosen: int | None  # the index answered, None for the current question


@dataclass(frozen=True)
class Walk:
    steps: list[Step]  # answered steps, then the current one (if no result yet)
    result: dict[str, Any] | None
    answers: list[int]

    def link_for(self, index: int) -> str:
        return ",".join(str(i) for i in [*self.answers, index])

    def back_link(self) -> str | None:
        return ",".join(str(i) for i in self.answers[:-1]) if self.answers else None


def load_tree(path: Path = TREE_PATH) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    nodes = data.get("nodes") or {}
    if data.get("start") not in nodes:
        raise DecisionTreeError("start must name a node")
    for node_id, node in nodes.items():
        if "result" in node:
            if node["result"] not in RESULTS:
                raise DecisionTreeError(f"{node_id}: unknown result {node['result']!r}")
            continue
        for answer in node.get("answers") or []:
            if answer.get("next") not in nodes:
                raise DecisionTreeError(f"{node_id}: answer leads to unknown node")
        if not node.get("answers"):
            raise DecisionTreeError(f"{node_id}: a question needs answers")
    return data


@cache
def default_tree() -> dict[str, Any]:
    return load_tree()


def parse_answers(raw: str) -> list[int]:
    answers = []
    for part in raw.split(",")[:50]:
        if part.strip().isdigit():
            answers.append(int(part))
    return answers


def walk(answers: list[int], tree: dict[str, Any] | None = None) -> Walk:
    """Follow ``answers`` (answer indexes) from the start; ignore anything past a result."""
    tree = tree or default_tree()
    nodes = tree["nodes"]
    node_id = tree["start"]
    steps: list[Step] = []
    used: list[int] = []
    for index in answers:
        node = nodes[node_id]
        if "result" in node or not 0 <= index < len(node["answers"]):
            break
        steps.append(_step(node_id, node, index))
        used.append(index)
        node_id = node["answers"][index]["next"]
    node = nodes[node_id]
    if "result" in node:
        return Walk(steps=steps, result={"id": node_id, **node}, answers=used)
    steps.append(_step(node_id, node, None))
    return Walk(steps=steps, result=None, answers=used)


def _step(node_id: str, node: dict[str, Any], chosen: int | None) -> Step:
    return Step(
        node_id=node_id,
        question=node["question"],
        help=node.get("help", ""),
        answer_labels=[answer["label"] for answer in node["answers"]],
        chosen=chosen,
    )
