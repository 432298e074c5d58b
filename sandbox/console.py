"""The sandbox console: one command line in, the answer the real tool would print out.

Three families of commands share the panel:

* ``aws kms ...`` and ``aws cloudhsmv2 ...``: the AWS CLI's syntax (``sandbox.aws_cli``), run
  against the learner's engine, printed like the CLI (JSON by default, ``--output text``,
  ``--query``) with its error lines (``An error occurred (NotFoundException) when ...``);
* CloudHSM CLI commands (``login``, ``user list``, ``key generate-symmetric aes`` ...; the
  ``cloudhsm-cli`` prefix is optional) through ``emulator.cloudhsm.cli``, with the cluster and
  session remembered per account;
* console helpers: ``help``, ``history``, ``ls``, ``clear`` and ``configure-cli``.

A small shell subset makes the AWS documentation's examples work as written:
``... --output text --query CiphertextBlob | base64 --decode > secret.bin``.

Nothing here raises for a bad command: every problem becomes a helpful line of output.
Secrets typed on the command line (passwords) and plaintext data keys in answers are
redacted from the stored history; the learner sees the full answer once.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from . import aws_cli, aws_cli_output
from .console_iam import PROFILES, explain_access, run_iam
from .console_s3 import run_s3api
from .console_xks import run_xks
from .engine import (
    HSM_COMMANDS,
    OPERATION_SCHEMAS,
    CliContext,
    CloudHsmInvalidRequestException,
    EngineError,
    SandboxEngine,
    UnknownOperationException,
    decode_request,
    encode_response,
    run_command,
    sandbox_regions,
)
from .models import SandboxAccount, SandboxFile
from .services import file_save, sandbox_call

HSM_WORDS = sorted({path[0] for path in HSM_COMMANDS})
HELPER_WORDS = (
    "help",
    "history",
    "ls",
    "clear",
    "configure-cli",
    "cloudhsm-cli",
    "aws",
    "explain-access",
    "xks-proxy",
)
SECRET_OPTIONS = (
    "--password",
    "--key-store-password",
    "--new-password",
    "--xks-proxy-authentication-credential",
)
REDACTED = "********"
SHOWN_ONCE = "(not kept in history: shown once when the command ran)"
# Answers whose plaintext is key material: redacted from the stored transcript.
KEY_MATERIAL_FIELDS = {
    "GenerateDataKey": ("Plaintext",),
    "GenerateDataKeyPair": ("PrivateKeyPlaintext",),
}
CLOUDHSM_OPERATIONS = {
    "CreateCluster": "create_cluster",
    "DescribeClusters": "describe_clusters",
    "CreateHsm": "create_hsm",
    "DeleteHsm": "delete_hsm",
    "InitializeCluster": "initialize_cluster",
    "DeleteCluster": "delete_cluster",
    "DescribeBackups": "describe_backups",
}

HELP_TEXT = """\
Sandbox console: the AWS CLI and CloudHSM CLI against your own sandbox account.

AWS KMS (every operation; run 'aws kms help' for the list):
  aws kms create-key --description "lab key"
  aws kms create-alias --alias-name alias/lab --target-key-id <key id>
  aws kms encrypt --key-id alias/lab --plaintext fileb://notes.txt --encryption-context dept=hr
  aws kms decrypt --ciphertext-blob fileb://notes.enc --encryption-context dept=hr
  aws kms encrypt --key-id alias/lab --plaintext SGVsbG8= --output text --query CiphertextBlob
  aws kms generate-data-key --key-id alias/lab --key-spec AES_256
  aws kms list-keys | describe-key | schedule-key-deletion | create-grant | sign | verify ...
  Blob options take base64 text or fileb://<file you uploaded>; add 'help' after a command
  for its options. --profile analyst acts as the IAM user analyst (lab 3).

AWS CloudHSM control plane (aws cloudhsmv2 help):
  aws cloudhsmv2 create-cluster --hsm-type hsm2m.medium --subnet-ids <subnet> <subnet>
  aws cloudhsmv2 create-hsm --cluster-id <id> --availability-zone us-east-1a
  aws cloudhsmv2 describe-clusters
  aws cloudhsmv2 initialize-cluster --cluster-id <id> --signed-cert file://cluster.crt \\
      --trust-anchor file://customerCA.crt

Amazon S3, with SSE-KMS through your KMS keys (aws s3api help):
  aws s3api create-bucket --bucket reports
  aws s3api put-object --bucket reports --key q3.csv --body q3.csv \\
      --server-side-encryption aws:kms --ssekms-key-id <key arn>
  aws s3api get-object --bucket reports --key q3.csv copy.csv
  aws s3api head-object | list-objects-v2 | put-bucket-encryption | delete-object ...

CloudHSM CLI (type 'cloudhsm-cli help' for every command):
  configure-cli --cluster-id <id>      choose the cluster (automatic when you have one)
  cluster activate --password <pw>     login --username <u> --role crypto-user --password <pw>
  user create|list|change-password     key generate-symmetric aes --label k --key-length-bytes 32
  key list --filter attr.label=k       key wrap|unwrap|share|unshare|delete|set-attribute
  crypto sign|verify ...               logout

External key store: xks-proxy help (the key manager outside AWS behind the XKS proxy).
IAM: aws iam put-user-policy ...; explain-access --profile developer --action kms:Decrypt --key-id <key>.

Console: help, history, ls (your files), clear. Pipes: '| base64 --decode', '> file'."""


@dataclass
class ConsoleResult:
    command: str  # what the learner typed
    output: str  # the full answer, shown now
    ok: bool = True
    stored_command: str = ""  # with secrets redacted
    stored_output: str = ""  # with plaintext key material redacted
    touched_engine: bool = False

    def __post_init__(self) -> None:
        self.stored_command = self.stored_command or redact_command(self.command)
        self.stored_output = self.stored_output or self.output


def redact_command(line: str) -> str:
    """Hide the value after any password option (``--password x`` and ``--password=x``)."""
    pattern = "|".join(re.escape(option) for option in SECRET_OPTIONS)
    line = re.sub(rf"({pattern})=(\"[^\"]*\"|'[^']*'|\S+)", rf"\1={REDACTED}", line)
    return re.sub(rf"({pattern})(\s+)(\"[^\"]*\"|'[^']*'|\S+)", rf"\1\2{REDACTED}", line)


class _ConsoleFiles:
    """``fileb://`` reads from the account's uploaded files."""

    def __init__(self, account: SandboxAccount) -> None:
        self.account = account

    def read(self, name: str) -> bytes:
        found = (
            SandboxFile.objects.filter(account=self.account, name=name)
            .values_list("content", flat=True)
            .first()
        )
        if found is None:
            raise FileNotFoundError(name)
        return bytes(found)


def console_run(*, account: SandboxAccount, line: str) -> ConsoleResult:
    """Run one console line for ``account`` and describe what to show and to keep."""
    line = line.strip()
    if not line:
        return ConsoleResult(line, "", True)
    try:
        words = shlex.split(line)
    except ValueError as error:
        return ConsoleResult(line, f"Could not parse the command line: {error}.", False)
    try:
        words, pipeline, redirect = _split_pipeline(words)
    except ValueError as error:
        return ConsoleResult(line, str(error), False)
    if not words:
        return ConsoleResult(line, "Nothing to run before the pipe. Type help.", False)
    result = _dispatch(account, line, words)
    if result.ok and (pipeline or redirect):
        return _apply_pipeline(account, result, pipeline, redirect)
    return result


def _split_pipeline(words: list[str]) -> tuple[list[str], list[list[str]], str | None]:
    command: list[str] = []
    stages: list[list[str]] = []
    redirect: str | None = None
    current = command
    index = 0
    while index < len(words):
        word = words[index]
        if word == "|":
            stages.append([])
            current = stages[-1]
        elif word == ">":
            if index + 1 >= len(words):
                raise ValueError("Redirect '>' needs a file name.")
            redirect = words[index + 1]
            index += 1
        else:
            current.append(word)
        index += 1
    for stage in stages:
        if not stage or stage[0] != "base64" or not set(stage[1:]) <= {"--decode", "-d"}:
            raise ValueError(
                "Only '| base64', '| base64 --decode' and '> file' are supported after a command."
            )
    return command, stages, redirect


def _apply_pipeline(
    account: SandboxAccount, result: ConsoleResult, stages: list[list[str]], redirect: str | None
) -> ConsoleResult:
    data: bytes = result.output.encode()
    for stage in stages:
        if "--decode" in stage or "-d" in stage:
            try:
                data = base64.b64decode(b"".join(data.split()), validate=True)
            except binascii.Error:
                return ConsoleResult(result.command, "base64: invalid input", False)
        else:
            data = base64.b64encode(data)
    if redirect is not None:
        if not stages:
            data += b"\n"
        try:
            file_save(account=account, name=redirect, content=data)
        except ValidationError as error:  # the name, the size or the files quota
            return ConsoleResult(result.command, f"{redirect}: {' '.join(error.messages)}", False)
        return ConsoleResult(
            result.command,
            f"Wrote {len(data)} bytes to {redirect} (see Files).",
            True,
            stored_command=result.stored_command,
            touched_engine=result.touched_engine,
        )
    shown = data.decode("utf-8", "replace")
    return ConsoleResult(
        result.command,
        shown,
        True,
        stored_command=result.stored_command,
        stored_output=SHOWN_ONCE if result.stored_output == SHOWN_ONCE else shown,
        touched_engine=result.touched_engine,
    )


def _dispatch(account: SandboxAccount, line: str, words: list[str]) -> ConsoleResult:
    first = words[0]
    if first == "help":
        return ConsoleResult(line, HELP_TEXT)
    if first == "history":
        return ConsoleResult(line, _history(account))
    if first == "ls":
        return ConsoleResult(line, _listing(account))
    if first == "aws":
        return _run_aws(account, line, words[1:])
    if first == "xks-proxy":
        shown, ok, kept = run_xks(account, words[1:])
        return ConsoleResult(line, shown, ok, stored_output=kept, touched_engine=ok)
    if first == "explain-access":
        output, ok = explain_access(account, words[1:])
        return ConsoleResult(line, output, ok, touched_engine=ok)
    if first == "configure-cli":
        return _configure_cli(account, line, words[1:])
    if first == "cloudhsm-cli":
        rest = words[1:]
        if rest[:1] == ["interactive"]:
            return ConsoleResult(
                line,
                "You are already in an interactive CloudHSM CLI here: type commands such as "
                "'login --username admin --role admin --password ...' directly.",
            )
        if not rest:
            rest = ["help"]
        return _run_hsm_cli(account, line, rest)
    if first in HSM_WORDS:
        return _run_hsm_cli(account, line, words)
    close = difflib.get_close_matches(first, [*HELPER_WORDS, *HSM_WORDS], n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return ConsoleResult(line, f"{first}: command not found.{hint} Type help for examples.", False)


def _history(account: SandboxAccount) -> str:
    commands = list(account.console_entries.order_by("-id").values_list("command", flat=True)[:50])
    commands.reverse()
    if not commands:
        return "No history yet."
    return "\n".join(f"{number:>4}  {command}" for number, command in enumerate(commands, 1))


def _listing(account: SandboxAccount) -> str:
    files = list(account.files.values_list("name", "size"))
    if not files:
        return "No files yet. Upload one under Files, or redirect output with '> name'."
    return "\n".join(f"{size:>9}  {name}" for name, size in files)


# --- the AWS CLI ----------------------------------------------------------------------------


def _principal_user(profile: str | None) -> str | None:
    return PROFILES.get(profile or "default")


def _run_aws(account: SandboxAccount, line: str, words: list[str]) -> ConsoleResult:
    files = _ConsoleFiles(account)
    try:
        call = aws_cli.parse(words, read_file=files.read)
    except aws_cli.CliUsageError as error:
        help_words = {"help"} & set(words)
        return ConsoleResult(line, str(error), bool(help_words))
    if call.help_requested:
        return ConsoleResult(line, aws_cli.operation_help(call.service, call.operation))
    second_region = call.service == "kms" and call.region in sandbox_regions(account)
    if call.region is not None and call.region != account.region and not second_region:
        return ConsoleResult(
            line,
            f"Could not connect to the endpoint URL: "
            f'"https://{call.service}.{call.region}.amazonaws.com/"\n'
            f"(This sandbox account lives in {account.region}.)",
            False,
        )
    user = _principal_user(call.profile)
    if user is None:
        return ConsoleResult(
            line,
            f"The config profile ({call.profile}) could not be found. "
            "Profiles here: default (the account root), analyst (lab 3), developer (a user) "
            "and app (a session of the role app).",
            False,
        )
    try:
        if call.service == "kms":
            wire = _run_kms(account, call, user)
        elif call.service == "s3api":
            wire = run_s3api(account, call, user)
        elif call.service == "iam":
            wire = run_iam(account, call, user)
        else:
            wire = _run_cloudhsm(account, call, user)
    except EngineError as error:
        message = getattr(error, "message", "") or str(error)
        return ConsoleResult(
            line,
            aws_cli_output.error_text(error.code, call.operation, message),
            False,
            touched_engine=True,
        )
    try:
        shown = aws_cli_output.format_output(aws_cli_output.cli_result(call, wire), call.output)
    except aws_cli.CliUsageError as error:
        return ConsoleResult(line, str(error), False, touched_engine=True)
    stored = shown
    hidden = KEY_MATERIAL_FIELDS.get(call.operation, ())
    if any(field in wire for field in hidden):
        redacted = {k: (SHOWN_ONCE if k in hidden else v) for k, v in wire.items()}
        stored = (
            SHOWN_ONCE
            if call.query
            else aws_cli_output.format_output(
                aws_cli_output.cli_result(call, redacted), call.output
            )
        )
    return ConsoleResult(line, shown, True, stored_output=stored, touched_engine=True)


def _run_kms(account: SandboxAccount, call: aws_cli.AwsCliCall, user: str) -> dict[str, Any]:
    if call.operation not in OPERATION_SCHEMAS:
        raise UnknownOperationException(
            f"The sandbox does not implement {call.operation}; see 'aws kms help'."
        )
    params = decode_request(call.operation, call.params)
    result = sandbox_call(
        account=account,
        action=lambda engine: engine.kms_call(call.operation, params, call.region),
        principal_user=user,
    )
    encoded: dict[str, Any] = encode_response(result)
    return encoded


def _run_cloudhsm(account: SandboxAccount, call: aws_cli.AwsCliCall, user: str) -> dict[str, Any]:
    method = CLOUDHSM_OPERATIONS.get(call.operation)
    if method is None:
        raise CloudHsmInvalidRequestException(
            f"The sandbox does not emulate {call.operation}. It supports: "
            + ", ".join(sorted(CLOUDHSM_OPERATIONS))
            + "."
        )

    def action(engine: SandboxEngine) -> dict[str, Any]:
        result: dict[str, Any] = getattr(engine.hsm, method)(call.params)
        return result

    encoded: dict[str, Any] = encode_response(
        sandbox_call(account=account, action=action, principal_user=user)
    )
    return encoded


# --- CloudHSM CLI -------------------------------------------------------------------------


def _live_clusters(engine: SandboxEngine) -> list[dict[str, Any]]:
    clusters = engine.hsm.describe_clusters({})["Clusters"]
    return [c for c in clusters if c["State"] not in ("DELETE_IN_PROGRESS", "DELETED")]


def _configure_cli(account: SandboxAccount, line: str, words: list[str]) -> ConsoleResult:
    wanted: str | None = None
    for index, word in enumerate(words):
        if word in ("--cluster-id", "-a", "--hsm-ip") and index + 1 < len(words):
            wanted = words[index + 1]
    if wanted is None:
        return ConsoleResult(
            line, "usage: configure-cli --cluster-id <cluster id>  (or -a <HSM ENI IP>)", False
        )

    def action(engine: SandboxEngine) -> str:
        for cluster in _live_clusters(engine):
            ips = {hsm["EniIp"] for hsm in cluster["Hsms"]}
            if wanted == cluster["ClusterId"] or wanted in ips:
                engine.account.console_state = {"cluster_id": cluster["ClusterId"]}
                engine.account.save(update_fields=["console_state"])
                return str(cluster["ClusterId"])
        return ""

    chosen = sandbox_call(account=account, action=action)
    if not chosen:
        return ConsoleResult(line, f"No cluster or HSM IP {wanted} in this account.", False)
    account.console_state = {"cluster_id": chosen}
    return ConsoleResult(line, f"CloudHSM CLI now talks to {chosen}.", touched_engine=True)


def _run_hsm_cli(account: SandboxAccount, line: str, words: list[str]) -> ConsoleResult:
    command_line = shlex.join(words)
    stored = redact_command(line)

    def action(engine: SandboxEngine) -> tuple[dict[str, Any] | None, str]:
        state = dict(engine.account.console_state or {})
        live = _live_clusters(engine)
        live_ids = [cluster["ClusterId"] for cluster in live]
        cluster_id = state.get("cluster_id")
        if cluster_id not in live_ids:
            state = {}
            if len(live_ids) == 1:
                state = {"cluster_id": live_ids[0]}
        if "cluster_id" not in state:
            if words[0] == "help":
                context = CliContext(cluster_id="")
                return run_command(engine.hsm, context, command_line), ""
            if not live_ids:
                return None, (
                    "No cluster to connect to. Create one first: aws cloudhsmv2 create-cluster "
                    "--hsm-type hsm2m.medium --subnet-ids <two subnets from the architecture view>"
                )
            return None, (
                "Several clusters exist: choose one with configure-cli --cluster-id <id> ("
                + ", ".join(live_ids)
                + ")."
            )
        context = CliContext.from_dict(state)
        answer = run_command(engine.hsm, context, command_line)
        engine.account.console_state = context.to_dict()
        engine.account.save(update_fields=["console_state"])
        return answer, ""

    answer, problem = sandbox_call(account=account, action=action)
    if answer is None:
        return ConsoleResult(line, problem, False, stored_command=stored)
    shown = json.dumps(answer, indent=2, ensure_ascii=False)
    return ConsoleResult(
        line,
        shown,
        answer.get("error_code") == 0,
        stored_command=stored,
        touched_engine=True,
    )
