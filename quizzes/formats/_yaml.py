"""Typed access to PyYAML (no stubs are installed, so the module is imported as Any)."""

from __future__ import annotations

import importlib
from typing import Any

yaml: Any = importlib.import_module("yaml")


def _represent_str(dumper: Any, value: str) -> Any:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _increase_indent(self: Any, flow: bool = False, indentless: bool = False) -> Any:
    # Indent block sequences under their key ("questions:\n  - key: ...").
    return yaml.SafeDumper.increase_indent(self, flow, False)


BankDumper: Any = type("BankDumper", (yaml.SafeDumper,), {"increase_indent": _increase_indent})
BankDumper.add_representer(str, _represent_str)


def dump(data: object) -> str:
    text: str = yaml.dump(
        data,
        Dumper=BankDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return text
