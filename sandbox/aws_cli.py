"""The AWS CLI's command syntax, parsed generically from botocore's service models.

``aws kms encrypt --key-id alias/x --plaintext fileb://notes.txt`` becomes the operation name
``Encrypt`` and the JSON-protocol parameters KMS receives over HTTP (blobs base64, timestamps
epoch seconds). Every operation of the model works: the command is the operation name in
kebab case, each ``--option`` a top-level input member. Values follow the CLI's rules: scalars,
``fileb://`` (bytes of a sandbox file) and ``file://`` (its text), base64 text for blobs (CLI v2
behaviour), JSON or shorthand (``k=v,k2=v2``) for maps and structures, several words or
commas for lists, ``--flag``/``--no-flag`` for booleans.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import difflib
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore import xform_name
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.session import get_session

SERVICES = ("kms", "cloudhsmv2", "s3api", "iam")
# The CLI's command name -> botocore's service model ("aws s3api" speaks the S3 API).
MODEL_NAMES = {"s3api": "s3"}
OUTPUT_FORMATS = ("json", "text", "yaml-stream", "table")
GLOBAL_OPTIONS = ("--output", "--query", "--region", "--profile", "--endpoint-url")
GLOBAL_FLAGS = ("--no-cli-pager", "--no-paginate", "--no-verify-ssl", "--no-sign-request")

FileReader = Callable[[str], bytes]


class CliUsageError(Exception):
    """The command line itself is wrong; the message reads like the AWS CLI's own."""


@dataclass
class AwsCliCall:
    service: str
    operation: str
    params: dict[str, Any]
    output: str = "json"
    query: str | None = None
    region: str | None = None
    profile: str | None = None
    help_requested: bool = False
    extras: dict[str, str] = field(default_factory=dict)


@functools.cache
def service_model(service: str) -> ServiceModel:
    return get_session().get_service_model(MODEL_NAMES.get(service, service))


@functools.cache
def command_map(service: str) -> dict[str, str]:
    """kebab-case command -> operation name, e.g. ``generate-data-key`` -> GenerateDataKey."""
    model = service_model(service)
    return {xform_name(name, "-"): name for name in model.operation_names}


def option_map(operation: OperationModel) -> dict[str, str]:
    shape = operation.input_shape
    if shape is None:
        return {}
    return {"--" + xform_name(name, "-"): name for name in shape.members}


# --- tokens to a call ---------------------------------------------------------------------------


def parse(tokens: list[str], *, read_file: FileReader) -> AwsCliCall:
    """Parse the words after ``aws``: service, command, options."""
    tokens = list(tokens)
    globals_: dict[str, str] = {}
    tokens = _take_global_options(tokens, globals_)
    if not tokens or tokens[0] == "help":
        raise CliUsageError(top_level_help())
    service = tokens[0]
    if service not in SERVICES:
        raise CliUsageError(
            f"aws: error: argument command: Invalid choice '{service}'. "
            f"This sandbox answers: {', '.join(SERVICES)}." + _suggestion(service, SERVICES)
        )
    commands = command_map(service)
    if len(tokens) < 2 or tokens[1] == "help":
        raise CliUsageError(service_help(service))
    command = tokens[1]
    if command not in commands:
        raise CliUsageError(
            f"aws: error: argument operation: Invalid choice '{command}' for 'aws {service}'."
            + _suggestion(command, commands)
            + f"\nRun 'aws {service} help' for the list of commands."
        )
    operation = service_model(service).operation_model(commands[command])
    rest = _take_global_options(tokens[2:], globals_)
    if rest and rest[-1] == "help":
        return AwsCliCall(service, operation.name, {}, help_requested=True)
    extras: dict[str, str] = {}
    if operation.has_streaming_output:  # aws s3api get-object ... <outfile>
        if not rest or rest[-1].startswith("--") or (len(rest) > 1 and rest[-2].startswith("--")):
            raise CliUsageError("aws: error: the following arguments are required: outfile")
        extras["outfile"] = rest.pop()
    params = _parse_options(operation, rest, read_file=read_file)
    output = globals_.get("--output", "json")
    if output not in OUTPUT_FORMATS:
        raise CliUsageError(
            f"aws: error: argument --output: Invalid choice, valid choices are: "
            f"{' | '.join(OUTPUT_FORMATS)}"
        )
    return AwsCliCall(
        service=service,
        operation=operation.name,
        params=params,
        output=output,
        query=globals_.get("--query"),
        region=globals_.get("--region"),
        profile=globals_.get("--profile"),
        extras=extras,
    )


def _take_global_options(tokens: list[str], found: dict[str, str]) -> list[str]:
    remaining: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        name, eq, inline = token.partition("=")
        if name in GLOBAL_OPTIONS:
            if eq:
                found[name] = inline
                index += 1
                continue
            if index + 1 >= len(tokens):
                raise CliUsageError(f"aws: error: argument {name}: expected one argument")
            found[name] = tokens[index + 1]
            index += 2
            continue
        if token in GLOBAL_FLAGS:
            index += 1
            continue
        remaining.append(token)
        index += 1
    return remaining


def _parse_options(
    operation: OperationModel, tokens: list[str], *, read_file: FileReader
) -> dict[str, Any]:
    options = option_map(operation)
    shape = operation.input_shape
    members = shape.members if shape is not None else {}
    raw: dict[str, list[str]] = {}
    unknown: list[str] = []
    index = 0
    cli_input: str | None = None
    while index < len(tokens):
        token = tokens[index]
        if not token.startswith("--"):
            unknown.append(token)
            index += 1
            continue
        name, eq, inline = token.partition("=")
        values: list[str] = [inline] if eq else []
        index += 1
        if not eq:
            while index < len(tokens) and not tokens[index].startswith("--"):
                values.append(tokens[index])
                index += 1
        if name == "--cli-input-json":
            if len(values) != 1:
                raise CliUsageError("aws: error: argument --cli-input-json: expected one argument")
            cli_input = values[0]
            continue
        if name.startswith("--no-") and ("--" + name[5:]) in options:
            member = options["--" + name[5:]]
            if members[member].type_name == "boolean" and not values:
                raw[member] = ["false"]
                continue
        if name not in options:
            unknown.append(name)
            continue
        member = options[name]
        if members[member].type_name == "boolean" and not values:
            values = ["true"]
        raw[member] = values
    if unknown:
        raise CliUsageError(
            "aws: error: Unknown options: "
            + ", ".join(unknown)
            + _suggestion(next((u for u in unknown if u.startswith("--")), ""), options)
        )
    params: dict[str, Any] = {}
    if cli_input is not None:
        params.update(_cli_input_json(cli_input, shape, read_file))
    for member, values in raw.items():
        option = "--" + xform_name(member, "-")
        params[member] = _top_level_value(option, values, members[member], read_file)
    required = [m for m in (shape.required_members if shape is not None else []) if m not in params]
    if required:
        raise CliUsageError(
            "aws: error: the following arguments are required: "
            + ", ".join("--" + xform_name(m, "-") for m in required)
        )
    return params


def _cli_input_json(text: str, shape: Shape | None, read_file: FileReader) -> dict[str, Any]:
    if text.startswith(("file://", "fileb://")):
        text = _load_file(text, "--cli-input-json", read_file).decode("utf-8", "replace")
    try:
        document = json.loads(text)
    except ValueError:
        raise CliUsageError(
            "Error parsing parameter '--cli-input-json': Invalid JSON received."
        ) from None
    if not isinstance(document, dict):
        raise CliUsageError("Error parsing parameter '--cli-input-json': expected a JSON object.")
    members = shape.members if shape is not None else {}
    unknown = [key for key in document if key not in members]
    if unknown:
        raise CliUsageError(
            f'Parameter validation failed:\nUnknown parameter in input: "{unknown[0]}", '
            f"must be one of: {', '.join(members)}"
        )
    return {key: _from_json(value, members[key]) for key, value in document.items()}


def _suggestion(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"\n\nDid you mean '{close[0]}'?" if close else ""


# --- values ---------------------------------------------------------------------------------


def _load_file(value: str, option: str, read_file: FileReader) -> bytes:
    name = value.split("://", 1)[1]
    try:
        return read_file(name)
    except FileNotFoundError:
        raise CliUsageError(
            f"Error parsing parameter '{option}': Unable to load paramfile {value}: "
            f"[Errno 2] No such file or directory: '{name}'. Upload it under Files first."
        ) from None


def _top_level_value(option: str, values: list[str], shape: Shape, read_file: FileReader) -> Any:
    kind = shape.type_name
    if kind == "blob" and shape.serialization.get("streaming") and len(values) == 1:
        # A streaming body (s3api put-object --body) is a file name, as in the AWS CLI.
        name = values[0].split("://", 1)[-1]
        return base64.b64encode(_load_file("fileb://" + name, option, read_file)).decode()
    if kind == "list":
        if not values:
            raise CliUsageError(f"aws: error: argument {option}: expected at least one argument")
        if len(values) == 1 and values[0].startswith(("file://", "fileb://")):
            values = [_load_file(values[0], option, read_file).decode("utf-8", "replace")]
        if len(values) == 1 and values[0].lstrip().startswith("["):
            return _from_json(_json_value(option, values[0]), shape)
        member = shape.member
        items: list[str] = values
        if member.type_name not in ("structure", "map", "list") and len(values) == 1:
            items = [item for item in values[0].split(",") if item != ""]
        return [_scalar_or_shorthand(option, item, member, read_file) for item in items]
    if len(values) != 1:
        raise CliUsageError(f"aws: error: argument {option}: expected one argument")
    return _scalar_or_shorthand(option, values[0], shape, read_file)


def _scalar_or_shorthand(option: str, value: str, shape: Shape, read_file: FileReader) -> Any:
    kind = shape.type_name
    if value.startswith(("file://", "fileb://")):
        content = _load_file(value, option, read_file)
        if kind == "blob":
            return base64.b64encode(content).decode("ascii")
        value = content.decode("utf-8", "replace")
        if kind == "string":
            return value
    if kind in ("structure", "map"):
        if value.lstrip().startswith("{"):
            return _from_json(_json_value(option, value), shape)
        return _from_json(_shorthand(option, value), shape, from_shorthand=True)
    if kind == "list":
        if value.lstrip().startswith("["):
            return _from_json(_json_value(option, value), shape)
        return [_scalar(option, item, shape.member) for item in value.split(",")]
    return _scalar(option, value, shape)


def _scalar(option: str, value: str, shape: Shape) -> Any:
    kind = shape.type_name
    if kind == "blob":
        try:
            raw = base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise CliUsageError(
                f'Invalid base64: "{value[:60]}"\nBlob values are base64 text (AWS CLI v2); '
                f"for a file use fileb://name."
            ) from None
        return base64.b64encode(raw).decode("ascii")
    if kind in ("integer", "long"):
        try:
            return int(value)
        except ValueError:
            raise CliUsageError(
                f"aws: error: argument {option}: invalid int value: '{value}'"
            ) from None
    if kind in ("float", "double"):
        try:
            return float(value)
        except ValueError:
            raise CliUsageError(
                f"aws: error: argument {option}: invalid float value: '{value}'"
            ) from None
    if kind == "boolean":
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise CliUsageError(
                f"Error parsing parameter '{option}': expected true or false, got '{value}'"
            )
        return lowered == "true"
    if kind == "timestamp":
        return _timestamp(option, value)
    if shape.enum and value not in shape.enum:
        raise CliUsageError(
            f"Parameter validation failed:\nValue '{value}' for {option} is not valid. "
            f"Valid values: {', '.join(shape.enum)}"
        )
    return value


def _timestamp(option: str, value: str | float) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CliUsageError(
            f"Error parsing parameter '{option}': invalid timestamp '{value}'"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def _json_value(option: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CliUsageError(
            f"Error parsing parameter '{option}': Invalid JSON: {error.msg}\nJSON received: {text}"
        ) from None


def _from_json(value: Any, shape: Shape, *, from_shorthand: bool = False) -> Any:
    """Coerce a JSON or shorthand value to the wire shape (shorthand scalars are strings)."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise CliUsageError(f"Expected a structure for {shape.name}, got {value!r}")
        members = shape.members
        unknown = [key for key in value if key not in members]
        if unknown:
            raise CliUsageError(
                f'Parameter validation failed:\nUnknown parameter "{unknown[0]}", '
                f"must be one of: {', '.join(members)}"
            )
        return {
            key: _from_json(item, members[key], from_shorthand=from_shorthand)
            for key, item in value.items()
        }
    if kind == "map":
        if not isinstance(value, dict):
            raise CliUsageError(f"Expected a map for {shape.name}, got {value!r}")
        return {
            str(key): _from_json(item, shape.value, from_shorthand=from_shorthand)
            for key, item in value.items()
        }
    if kind == "list":
        items = value if isinstance(value, list) else [value]
        return [_from_json(item, shape.member, from_shorthand=from_shorthand) for item in items]
    if kind == "timestamp":
        return _timestamp(shape.name, value)
    if from_shorthand and isinstance(value, str):
        return _scalar(shape.name, value, shape)
    return value


# --- shorthand: Key=Value,Other={Nested=1},List=[a,b] -----------------------------------------


def _shorthand(option: str, text: str) -> dict[str, Any]:
    parser = _ShorthandParser(text)
    try:
        result = parser.parse_struct(top_level=True)
    except ValueError as error:
        raise CliUsageError(
            f"Error parsing parameter '{option}': Expected: '=', received: '{error}' for input:\n"
            f"{text}"
        ) from None
    return result


class _ShorthandParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse_struct(self, *, top_level: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = {}
        closing = "" if top_level else "}"
        while self.pos < len(self.text) and self._peek() != closing:
            key = self._word("=")
            if self._peek() != "=":
                raise ValueError(self._peek() or "EOF")
            self.pos += 1
            result[key.strip()] = self._value(closing)
            if self._peek() == ",":
                self.pos += 1
        if not top_level:
            if self._peek() != "}":
                raise ValueError("EOF")
            self.pos += 1
        return result

    def _value(self, closing: str) -> Any:
        char = self._peek()
        if char == "{":
            self.pos += 1
            return self.parse_struct()
        if char == "[":
            self.pos += 1
            items: list[Any] = []
            while self._peek() not in ("]", ""):
                items.append(self._value("]"))
                if self._peek() == ",":
                    self.pos += 1
            if self._peek() != "]":
                raise ValueError("EOF")
            self.pos += 1
            return items
        if char in ("'", '"'):
            end = self.text.find(char, self.pos + 1)
            if end < 0:
                raise ValueError("EOF")
            value = self.text[self.pos + 1 : end]
            self.pos = end + 1
            return value
        return self._word("," + closing + ("]" if closing == "]" else ""))

    def _word(self, stops: str) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in stops + "=" + "}]":
            self.pos += 1
        if "=" not in stops and self._peek() == "=":
            # '=' inside a value (base64 padding): keep reading until a separator.
            while self.pos < len(self.text) and self.text[self.pos] not in ",}]":
                self.pos += 1
        return self.text[start : self.pos]


# --- help -----------------------------------------------------------------------------------

_TAGS = re.compile(r"<[^>]+>")


def _plain(doc: str | None, limit: int = 400) -> str:
    text = " ".join(_TAGS.sub(" ", doc or "").split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"


def top_level_help() -> str:
    return (
        "usage: aws <service> <command> [options]\n\n"
        "Services in this sandbox:\n"
        "  kms         AWS Key Management Service (try: aws kms help)\n"
        "  cloudhsmv2  AWS CloudHSM control plane (try: aws cloudhsmv2 help)\n"
        "  s3api       Amazon S3 buckets and objects, SSE-S3 and SSE-KMS (try: aws s3api help)\n"
        "  iam         inline policies of the sandbox's users and role (try: aws iam help)\n\n"
        "Global options: --output json|text, --query <JMESPath>, --profile default|analyst"
    )


def service_help(service: str) -> str:
    commands = sorted(command_map(service))
    lines = [f"usage: aws {service} <command> [options]", "", "Available commands:"]
    lines += [f"  {name}" for name in commands]
    lines += ["", f"Run 'aws {service} <command> help' for a command's options."]
    return "\n".join(lines)


def operation_help(service: str, operation_name: str) -> str:
    operation = service_model(service).operation_model(operation_name)
    command = xform_name(operation_name, "-")
    lines = [f"aws {service} {command}", "", _plain(operation.documentation), "", "Options:"]
    shape = operation.input_shape
    if shape is None:
        lines.append("  (none)")
        return "\n".join(lines)
    required = set(shape.required_members)
    for name, member in shape.members.items():
        kind = member.type_name
        hint = {
            "blob": "base64 text or fileb://<file>",
            "map": "k=v,k2=v2 or JSON",
            "structure": "shorthand or JSON",
            "list": "value [value ...] or JSON",
            "boolean": "flag (--no-... to negate)",
        }.get(kind, kind)
        flag = " (required)" if name in required else ""
        lines.append(f"  --{xform_name(name, '-')}  <{hint}>{flag}")
    return "\n".join(lines)
