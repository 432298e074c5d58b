"""Print a working sandbox access key pair as JSON, for scripts and benchmarks.

    python manage.py sandbox_credentials alice
    {"AccessKeyId": "AKIA...", "SecretAccessKey": "...", "Region": "us-east-1", ...}

Creates the learner's sandbox account on first use and a new key pair on every run (revoke
old ones on the Access keys page, or pass --revoke-others).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from sandbox.models import SandboxAccessKey
from sandbox.services import (
    ANALYST_USER,
    ROOT_USER,
    access_key_create,
    access_key_revoke,
    sandbox_for,
)


class Command(BaseCommand):
    help = "Create a sandbox access key pair for USERNAME and print it as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--as",
            dest="user_name",
            choices=[ROOT_USER, ANALYST_USER],
            default=ROOT_USER,
            help="Sign as the account root (default) or as the lab 3 IAM user analyst.",
        )
        parser.add_argument(
            "--revoke-others",
            action="store_true",
            help="Revoke the learner's other active keys first.",
        )

    def handle(
        self, *args: Any, username: str, user_name: str, revoke_others: bool, **options: Any
    ) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        account = sandbox_for(user)
        if revoke_others:
            for key in account.access_keys.filter(status=SandboxAccessKey.Status.ACTIVE):
                access_key_revoke(key=key)
        try:
            key, secret = access_key_create(account=account, user_name=user_name)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(
            json.dumps(
                {
                    "AccessKeyId": key.access_key_id,
                    "SecretAccessKey": secret,
                    "Region": account.region,
                    "AccountId": account.account_id,
                    "Principal": key.principal_arn,
                    "EndpointPath": reverse("sandbox_kms"),
                }
            )
        )
