"""A CloudHSM CLI look-alike over :class:`~emulator.cloudhsm.engine.CloudHsm`.

:func:`run_command` parses one command line (``shlex``) such as
``login --username alice --role crypto-user --password ...`` and returns what CloudHSM CLI
prints: ``{"error_code": 0, "data": ...}`` on success, ``{"error_code": 1, "data": message,
"code": "CKR_..."}`` on failure. The console keeps a small :class:`CliContext` (cluster id and
session id) between commands; store ``context.to_dict()`` between HTTP requests.

Differences from the real tool, on purpose: passwords are given with ``--password`` (the real
CLI prompts), data and signatures are base64 text instead of files, quorum approval is
``quorum token-sign approve --token`` by a logged-in admin instead of signing a token file,
and ``key generate-file`` returns the PEM instead of writing a file.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import shlex
from typing import Any

from .cli_commands import TABLE, CliContext, CliError, Handler, Options
from .engine import CloudHsm, KeyHandle, key_reference, parse_key_reference
from .errors import HsmError

__all__ = ["COMMANDS", "CliContext", "CliError", "run_command"]

JSON = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Command:
    summary: str
    usage: str
    options: tuple[str, ...]  # options taking values ("--label")
    flags: tuple[str, ...]  # options without values ("--session")
    required: tuple[str, ...]
    handler: Handler


def command_from_usage(
    summary: str, usage: str, handler: Handler
) -> tuple[tuple[str, ...], Command]:
    """A table row from its usage line: the words before the first option are the command's
    path; ``--x VALUE`` takes a value, ``[--x]`` is a flag, anything in brackets optional."""
    tokens = re.findall(r"\[|\]|[^\s\[\]]+", usage)
    path = tuple(
        itertools.takewhile(lambda word: word != "[" and not word.startswith("--"), tokens)
    )
    options: list[str] = []
    flags: list[str] = []
    required: list[str] = []
    depth = 0
    for index, token in enumerate(tokens):
        depth += (token == "[") - (token == "]")
        if not token.startswith("--"):
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else "]"
        if following == "]" or following.startswith("--"):
            flags.append(token)
        else:
            options.append(token)
            if depth == 0:
                required.append(token)
    return path, Command(summary, usage, tuple(options), tuple(flags), tuple(required), handler)


COMMANDS = dict(command_from_usage(*row) for row in TABLE)


def _help(words: list[str]) -> JSON:
    if words:
        matches = {k: v for k, v in COMMANDS.items() if k[: len(words)] == tuple(words)}
        if not matches:
            return {"error_code": 1, "data": f"no command {' '.join(words)!r}; try help"}
        return {
            "error_code": 0,
            "data": {
                " ".join(k): {"summary": v.summary, "usage": v.usage} for k, v in matches.items()
            },
        }
    return {
        "error_code": 0,
        "data": {" ".join(k): v.summary for k, v in sorted(COMMANDS.items())},
    }


def _parse(words: list[str]) -> tuple[tuple[str, ...], Command, Options]:
    for length in (3, 2, 1):
        path = tuple(words[:length])
        if path in COMMANDS:
            command = COMMANDS[path]
            break
    else:
        raise CliError(f"unknown command {' '.join(words[:3])!r}; try help")
    options: Options = {}
    current: str | None = None
    for word in words[len(path) :]:
        if word.startswith("--"):
            if word in command.flags:
                options[word] = []
                current = None
            elif word in command.options:
                options.setdefault(word, [])
                current = word
            else:
                raise CliError(f"unknown option {word} for {' '.join(path)}")
        elif current is None:
            raise CliError(f"unexpected argument {word!r}")
        else:
            options[current].append(word)
    for name in command.required:
        if not options.get(name):
            raise CliError(f"missing {name}; usage: {command.usage}")
    return path, command, options


def run_command(engine: CloudHsm, context: CliContext, line: str) -> JSON:
    """Run one CloudHSM CLI command line; returns the CLI's JSON as a dict.

    ``context`` is updated in place (``login`` stores the session id, ``logout`` clears it).
    """
    try:
        words = shlex.split(line)
    except ValueError as exc:
        return {"error_code": 1, "data": f"cannot parse the command: {exc}", "code": "CliError"}
    if not words:
        return {"error_code": 1, "data": "empty command; try help", "code": "CliError"}
    if words[0] == "help" or words[-1] in ("-h", "--help"):
        return _help([w for w in words if w not in ("help", "-h", "--help")])
    try:
        _path, command, options = _parse(words)
        return {"error_code": 0, "data": command.handler(engine, context, options)}
    except CliError as exc:
        return {"error_code": 1, "data": str(exc), "code": "CliError"}
    except HsmError as exc:
        return {"error_code": 1, "data": exc.message, "code": exc.code}


def handle_to_reference(handle: KeyHandle) -> str:
    """The CLI spelling of a handle (``0x...``)."""
    return key_reference(handle)


def reference_to_handle(text: str) -> KeyHandle:
    """Parse a CLI key reference."""
    return parse_key_reference(text)
