"""The CloudHSM client for PKCS #11 applications: the program p11-kit spawns.

    export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... AWS_REGION=us-east-1
    export P11_KIT_SERVER_ADDRESS="|$PWD/.venv/bin/python $PWD/manage.py hsm_client \\
        --cluster cluster-... --endpoint http://127.0.0.1:8000/sandbox/cloudhsm/client/"
    pkcs11-tool --module /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so -L

It speaks p11-kit's RPC protocol on stdin/stdout and reaches the cluster through the
sandbox's HSM endpoint with your sandbox access key; the PIN is ``username:password`` of
a crypto user, as with the real CloudHSM PKCS #11 library.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sandbox.engine import hsm_client_main


class Command(BaseCommand):
    help = "Serve a sandbox CloudHSM cluster to p11-kit-client.so over stdin and stdout."
    requires_system_checks: list[str] = []  # stdout is the protocol: print nothing else

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cluster", required=True)
        parser.add_argument("--endpoint")
        parser.add_argument("--region")

    def handle(self, *args: Any, **options: Any) -> None:
        argv = ["--cluster", options["cluster"]]
        for name in ("endpoint", "region"):
            if options[name]:
                argv += [f"--{name}", options[name]]
        hsm_client_main(argv)
