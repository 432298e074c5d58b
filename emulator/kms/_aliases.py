"""Alias operations: CreateAlias, UpdateAlias, DeleteAlias, ListAliases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.kms._base import JSON, Call
from emulator.kms._hsm import HsmBridge
from emulator.kms.errors import (
    AlreadyExistsException,
    InvalidAliasNameException,
    NotAuthorizedException,
    NotFoundException,
    ValidationException,
)
from emulator.kms.records import ALIAS, AliasRecord


class AliasOps(HsmBridge):
    def _check_alias_name(self, name: str) -> None:
        """``alias/<name>``; the ``alias/aws/`` namespace belongs to AWS managed keys."""
        if not name.startswith("alias/") or name == "alias/" or ":" in name:
            raise InvalidAliasNameException(
                f"Alias name {name} is not valid: it must begin with 'alias/' followed by a name "
                "of letters, digits, '/', '_' and '-'."
            )
        if name.startswith("alias/aws/"):
            # What AWS answers for the reserved prefix: not a validation error but a refusal.
            raise NotAuthorizedException(
                f"{name}: alias names beginning with 'alias/aws/' are reserved for AWS managed "
                "keys."
            )

    def _alias(self, name: str) -> AliasRecord:
        data = self._get(ALIAS, name)
        if data is None:
            raise NotFoundException(f"Alias {self.alias_arn(name)} is not found.")
        return AliasRecord.from_dict(data)

    def create_alias(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """CreateAlias: a new alias for a key of this account and Region."""
        return self._run("CreateAlias", principal, params, self._create_alias)

    def _create_alias(self, call: Call, request: JSON) -> JSON:
        name = request["AliasName"]
        self._check_alias_name(name)
        target = request["TargetKeyId"]
        if target.startswith("alias/") or ":alias/" in target:
            raise ValidationException("Aliases must refer to keys. Not aliases")
        key = self._resolve(call, target, allow_alias=False)
        self._authorize(call, key, "kms:CreateAlias")
        self._reject_pending_deletion(key)
        if self._get(ALIAS, name) is not None:
            raise AlreadyExistsException(
                f"An alias with the name {self.alias_arn(name)} already exists"
            )
        now = self._now()
        self._put(ALIAS, name, AliasRecord(name, key.key_id, now, now).to_dict())
        return {}

    def update_alias(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """UpdateAlias: point an alias at another key of the same type and key usage."""
        return self._run("UpdateAlias", principal, params, self._update_alias)

    def _update_alias(self, call: Call, request: JSON) -> JSON:
        name = request["AliasName"]
        self._check_alias_name(name)
        alias = self._alias(name)
        new_key = self._resolve(call, request["TargetKeyId"], allow_alias=False)
        old_key = self._get_key(alias.target_key_id)
        if old_key is not None:
            self._authorize(call, old_key, "kms:UpdateAlias")
        self._authorize(call, new_key, "kms:UpdateAlias")
        self._reject_pending_deletion(new_key)
        if old_key is not None and (
            old_key.key_usage != new_key.key_usage or old_key.is_symmetric != new_key.is_symmetric
        ):
            raise ValidationException(
                "The current and the new KMS key of an alias must be the same type (both "
                "symmetric or both asymmetric or both HMAC) and have the same key usage."
            )
        alias.target_key_id = new_key.key_id
        alias.updated = self._now()
        self._put(ALIAS, name, alias.to_dict())
        return {}

    def delete_alias(self, principal: str, params: Mapping[str, Any]) -> JSON:
        """DeleteAlias (the key is not affected)."""
        return self._run("DeleteAlias", principal, params, self._delete_alias)

    def _delete_alias(self, call: Call, request: JSON) -> JSON:
        name = request["AliasName"]
        self._check_alias_name(name)
        alias = self._alias(name)
        key = self._get_key(alias.target_key_id)
        if key is not None:
            call.target = self.key_arn(key.key_id)
            self._authorize(call, key, "kms:DeleteAlias")
        self._delete(ALIAS, name)
        return {}

    def list_aliases(self, principal: str, params: Mapping[str, Any] | None = None) -> JSON:
        """ListAliases: all aliases, or those of one key (KeyId); Limit 1..100, default 50."""
        return self._run("ListAliases", principal, params or {}, self._list_aliases)

    def _list_aliases(self, call: Call, request: JSON) -> JSON:
        self._authorize_account(call, "kms:ListAliases")
        only: str | None = None
        if request.get("KeyId") is not None:
            only = self._resolve(call, request["KeyId"], allow_alias=False).key_id
        entries: list[JSON] = []
        for _, data in self._scan(ALIAS):
            alias = AliasRecord.from_dict(data)
            if only is not None and alias.target_key_id != only:
                continue
            entries.append(
                {
                    "AliasName": alias.alias_name,
                    "AliasArn": self.alias_arn(alias.alias_name),
                    "TargetKeyId": alias.target_key_id,
                    "CreationDate": alias.created,
                    "LastUpdatedDate": alias.updated,
                }
            )
        page, marker = self._page(
            entries,
            lambda entry: entry["AliasName"],
            request.get("Limit", 50),
            request.get("Marker"),
        )
        return self._listing("Aliases", page, marker)
