"""What the AWS CLI look-alike prints: results shaped like the real CLI's (json, text,
``--query``) and error lines."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import jmespath
from botocore.model import Shape

from .aws_cli import AwsCliCall, CliUsageError, service_model

# --- results --------------------------------------------------------------------------------


def cli_result(call: AwsCliCall, wire_result: dict[str, Any]) -> Any:
    """The wire response as the CLI shows it: timestamps as ISO 8601, ``--query`` applied."""
    operation = service_model(call.service).operation_model(call.operation)
    shape = operation.output_shape
    value: Any = _timestamps_to_iso(wire_result, shape) if shape is not None else wire_result
    if call.query:
        try:
            value = jmespath.search(call.query, value)
        except jmespath.exceptions.JMESPathError as error:
            raise CliUsageError(f"Bad value for --query {call.query}: {error}") from None
    return value


def _timestamps_to_iso(value: Any, shape: Shape) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {
            key: _timestamps_to_iso(item, shape.members[key]) if key in shape.members else item
            for key, item in value.items()
        }
    if kind == "list" and isinstance(value, list):
        return [_timestamps_to_iso(item, shape.member) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {key: _timestamps_to_iso(item, shape.value) for key, item in value.items()}
    if kind == "timestamp" and isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.UTC).isoformat()
    return value


def format_output(value: Any, output: str) -> str:
    if output == "text":
        return format_text(value)
    if output == "yaml-stream":
        return json.dumps(value, indent=2, ensure_ascii=False)
    if output == "table":
        return format_text(value)
    if value is None:
        return "null" if output == "json" else ""
    return json.dumps(value, indent=4, ensure_ascii=False)


def format_text(value: Any) -> str:
    """The AWS CLI's ``--output text`` layout: tab-separated scalars, one row per record."""
    stream = io.StringIO()
    _text(value, stream, None, None)
    return stream.getvalue().rstrip("\n")


def _text(item: Any, stream: io.StringIO, identifier: str | None, keys: list[str] | None) -> None:
    if isinstance(item, dict):
        if keys is None:
            scalars = [str(v) for k, v in sorted(item.items()) if not isinstance(v, (dict, list))]
            nested = [(k, v) for k, v in sorted(item.items()) if isinstance(v, (dict, list))]
        else:
            scalars = [str(item.get(k, "")) for k in keys]
            nested = [(k, item[k]) for k in sorted(set(item) - set(keys))]
        if scalars:
            if identifier is not None:
                scalars.insert(0, identifier.upper())
            stream.write("\t".join(scalars) + "\n")
        for key, child in nested:
            _text(child, stream, key, None)
    elif isinstance(item, list):
        if not item:
            return
        if any(isinstance(element, dict) for element in item):
            all_keys = sorted(
                {
                    k
                    for element in item
                    if isinstance(element, dict)
                    for k, v in element.items()
                    if not isinstance(v, (dict, list))
                }
            )
            for element in item:
                _text(element, stream, identifier, all_keys)
        elif identifier is not None:
            for element in item:
                if isinstance(element, list):
                    _text(element, stream, identifier, None)
                else:
                    stream.write(f"{identifier.upper()}\t{element}\n")
        else:
            stream.write("\t".join(str(element) for element in item) + "\n")
    elif item is not None:
        stream.write(f"{item}\n")
    else:
        stream.write("None\n")


def error_text(code: str, operation: str, message: str) -> str:
    """How the AWS CLI reports a service error."""
    return f"An error occurred ({code}) when calling the {operation} operation: {message}"
