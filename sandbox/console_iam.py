"""IAM in the console: the sandbox account's principals, their inline policies (``aws iam
put-user-policy`` / ``put-role-policy`` ...), and ``explain-access``, which answers "could
principal P call kms:Decrypt on key K (via S3)?" with the evaluation step by step.

Principals: the account root (profile ``default``), the IAM users ``analyst`` (lab 3) and
``developer``, and the role ``app``, whose console profile acts as one of its sessions.
"""

from __future__ import annotations

import json
from typing import Any

from .aws_cli import AwsCliCall
from .engine import EngineError, SandboxEngine, principal_arn
from .labs.tools import decision_trace
from .models import SandboxAccount
from .services import ROOT_USER, sandbox_call

JSON = dict[str, Any]

#: console profile -> the principal it acts as ("user name" as SandboxEngine takes it).
PROFILES = {"default": ROOT_USER, "analyst": "analyst", "developer": "developer", "app": "role/app"}
USERS = ("analyst", "developer")
ROLES = ("app",)


class IamError(EngineError):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _owner(account: SandboxAccount, params: JSON) -> str:
    if "UserName" in params:
        name = params["UserName"]
        if name not in USERS:
            raise IamError(
                "NoSuchEntity",
                f"The user with name {name} cannot be found. Users here: {', '.join(USERS)}.",
                404,
            )
        return f"arn:aws:iam::{account.account_id}:user/{name}"
    name = params["RoleName"]
    if name not in ROLES:
        raise IamError(
            "NoSuchEntity",
            f"The role with name {name} cannot be found. Roles here: {', '.join(ROLES)}.",
            404,
        )
    return f"arn:aws:iam::{account.account_id}:role/{name}"


def run_iam(account: SandboxAccount, call: AwsCliCall, user: str) -> JSON:
    if user != ROOT_USER:
        raise IamError(
            "AccessDenied",
            f"User: {principal_arn(account, user)} is not authorized to perform: "
            f"iam:{call.operation} (only the account root manages IAM in this sandbox).",
            403,
        )
    operation, params = call.operation, call.params
    if operation == "ListUsers":
        return {"Users": [_user(account, name) for name in USERS], "IsTruncated": False}
    if operation == "ListRoles":
        return {"Roles": [_role(account, name) for name in ROLES], "IsTruncated": False}
    if operation not in _POLICY_OPERATIONS:
        raise IamError(
            "NotImplemented",
            f"The sandbox emulates only inline policies and listings of IAM; not {operation}.",
        )
    owner = _owner(account, params)
    result: JSON = sandbox_call(
        account=account, action=lambda engine: _POLICY_OPERATIONS[operation](engine, owner, params)
    )
    return result


def _put(engine: SandboxEngine, owner: str, params: JSON) -> JSON:
    engine.iam_put_policy(owner, params["PolicyName"], params["PolicyDocument"])
    return {}


def _get(engine: SandboxEngine, owner: str, params: JSON) -> JSON:
    document = engine.iam_get_policy(owner, params["PolicyName"])
    shown: JSON = {key: params[key] for key in ("UserName", "RoleName") if key in params}
    shown.update({"PolicyName": params["PolicyName"], "PolicyDocument": json.loads(document)})
    return shown


def _list(engine: SandboxEngine, owner: str, params: JSON) -> JSON:
    return {"PolicyNames": engine.iam_list_policies(owner), "IsTruncated": False}


def _delete(engine: SandboxEngine, owner: str, params: JSON) -> JSON:
    engine.iam_delete_policy(owner, params["PolicyName"])
    return {}


_POLICY_OPERATIONS = {
    "PutUserPolicy": _put,
    "PutRolePolicy": _put,
    "GetUserPolicy": _get,
    "GetRolePolicy": _get,
    "ListUserPolicies": _list,
    "ListRolePolicies": _list,
    "DeleteUserPolicy": _delete,
    "DeleteRolePolicy": _delete,
}


def _user(account: SandboxAccount, name: str) -> JSON:
    arn = f"arn:aws:iam::{account.account_id}:user/{name}"
    return {"Path": "/", "UserName": name, "UserId": name.upper(), "Arn": arn}


def _role(account: SandboxAccount, name: str) -> JSON:
    arn = f"arn:aws:iam::{account.account_id}:role/{name}"
    return {"Path": "/", "RoleName": name, "RoleId": name.upper(), "Arn": arn}


EXPLAIN_USAGE = (
    "usage: explain-access --profile <default|analyst|developer|app> --action kms:<Action> "
    "--key-id <key> [--via-service s3] [--encryption-context k=v,...]"
)


def explain_access(account: SandboxAccount, words: list[str]) -> tuple[str, bool]:
    """The decision and its trace, as lines; and whether the call would be allowed."""
    options = _options(words)
    profile = options.get("--profile", "default")
    if profile not in PROFILES or "--action" not in options or "--key-id" not in options:
        return EXPLAIN_USAGE, False
    via = options.get("--via-service")
    if via not in (None, "s3"):
        return "Only --via-service s3 is emulated (S3 is the sandbox's one AWS service).", False
    context = dict(
        pair.split("=", 1)
        for pair in options.get("--encryption-context", "").split(",")
        if "=" in pair
    )
    principal = principal_arn(account, PROFILES[profile])

    def action(engine: SandboxEngine) -> Any:
        kms = engine.s3_kms if via == "s3" else engine.kms
        return kms.explain_access(principal, options["--action"], options["--key-id"], context)

    try:
        decision = sandbox_call(account=account, action=action)
    except EngineError as error:
        return f"({error.code}) {getattr(error, 'message', '') or error}", False
    verdict = "ALLOWED" if decision.allowed else "DENIED"
    lines = [*decision_trace(decision), f"Verdict: {verdict}" + (" (via S3)" if via else "")]
    return "\n".join(lines), True


def _options(words: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    index = 0
    while index < len(words):
        if words[index].startswith("--") and index + 1 < len(words):
            found[words[index]] = words[index + 1]
            index += 2
        else:
            index += 1
    return found
