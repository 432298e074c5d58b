"""Alias operations: CreateAlias, UpdateAlias, DeleteAlias, ListAliases."""

from __future__ import annotations

from emulator.kms import authorization
from emulator.kms.errors import (
    AlreadyExistsException,
    InvalidAliasNameException,
    NotAuthorizedException,
    NotFoundException,
    ValidationException,
)
from emulator.kms.records import ALIAS, AliasRecord
from emulator.kms.state import JSON, Call, KmsState, listing, page_of


def _check_alias_name(name: str) -> None:
    """``alias/<name>``; the ``alias/aws/`` namespace belongs to AWS managed keys."""
    if not name.startswith("alias/") or name == "alias/" or ":" in name:
        raise InvalidAliasNameException(
            f"Alias name {name} is not valid: it must begin with 'alias/' followed by a name "
            "of letters, digits, '/', '_' and '-'."
        )
    if name.startswith("alias/aws/"):
        # What AWS answers for the reserved prefix: not a validation error but a refusal.
        raise NotAuthorizedException(
            f"{name}: alias names beginning with 'alias/aws/' are reserved for AWS managed keys."
        )


def _alias(kms: KmsState, name: str) -> AliasRecord:
    data = kms._get(ALIAS, name)
    if data is None:
        raise NotFoundException(f"Alias {kms.alias_arn(name)} is not found.")
    return AliasRecord.from_dict(data)


def create_alias(kms: KmsState, call: Call, request: JSON) -> JSON:
    """CreateAlias: a new alias for a key of this account and Region."""
    name = request["AliasName"]
    _check_alias_name(name)
    target = request["TargetKeyId"]
    if target.startswith("alias/") or ":alias/" in target:
        raise ValidationException("Aliases must refer to keys. Not aliases")
    key = kms._resolve(call, target, allow_alias=False)
    authorization.authorize(kms, call, key, "kms:CreateAlias")
    kms._reject_pending_deletion(key)
    if kms._get(ALIAS, name) is not None:
        raise AlreadyExistsException(f"An alias with the name {kms.alias_arn(name)} already exists")
    now = kms._now()
    kms._put(ALIAS, name, AliasRecord(name, key.key_id, now, now).to_dict())
    return {}


def update_alias(kms: KmsState, call: Call, request: JSON) -> JSON:
    """UpdateAlias: point an alias at another key of the same type and key usage."""
    name = request["AliasName"]
    _check_alias_name(name)
    alias = _alias(kms, name)
    new_key = kms._resolve(call, request["TargetKeyId"], allow_alias=False)
    old_key = kms._get_key(alias.target_key_id)
    if old_key is not None:
        authorization.authorize(kms, call, old_key, "kms:UpdateAlias")
    authorization.authorize(kms, call, new_key, "kms:UpdateAlias")
    kms._reject_pending_deletion(new_key)
    if old_key is not None and (
        old_key.key_usage != new_key.key_usage or old_key.is_symmetric != new_key.is_symmetric
    ):
        raise ValidationException(
            "The current and the new KMS key of an alias must be the same type (both "
            "symmetric or both asymmetric or both HMAC) and have the same key usage."
        )
    alias.target_key_id = new_key.key_id
    alias.updated = kms._now()
    kms._put(ALIAS, name, alias.to_dict())
    return {}


def delete_alias(kms: KmsState, call: Call, request: JSON) -> JSON:
    """DeleteAlias (the key is not affected)."""
    name = request["AliasName"]
    _check_alias_name(name)
    alias = _alias(kms, name)
    key = kms._get_key(alias.target_key_id)
    if key is not None:
        call.target = kms.key_arn(key.key_id)
        authorization.authorize(kms, call, key, "kms:DeleteAlias")
    kms._delete(ALIAS, name)
    return {}


def list_aliases(kms: KmsState, call: Call, request: JSON) -> JSON:
    """ListAliases: all aliases, or those of one key (KeyId); Limit 1..100, default 50."""
    authorization.authorize_account(kms, call, "kms:ListAliases")
    only: str | None = None
    if request.get("KeyId") is not None:
        only = kms._resolve(call, request["KeyId"], allow_alias=False).key_id
    entries: list[JSON] = []
    for _, data in kms._scan(ALIAS):
        alias = AliasRecord.from_dict(data)
        if only is not None and alias.target_key_id != only:
            continue
        entries.append(
            {
                "AliasName": alias.alias_name,
                "AliasArn": kms.alias_arn(alias.alias_name),
                "TargetKeyId": alias.target_key_id,
                "CreationDate": alias.created,
                "LastUpdatedDate": alias.updated,
            }
        )
    page, marker = page_of(
        entries,
        lambda entry: entry["AliasName"],
        request.get("Limit", 50),
        request.get("Marker"),
    )
    return listing("Aliases", page, marker)
