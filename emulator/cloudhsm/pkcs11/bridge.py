"""The program p11-kit's exec transport spawns: a p11-kit RPC server on stdin and stdout whose
HSMs are a sandbox's cluster, reached over HTTP with the sandbox's access key.

    P11_KIT_SERVER_ADDRESS="|python manage.py hsm_client --cluster cluster-..." \\
        pkcs11-tool --module /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so -L

Credentials and Region come from the environment, as for the AWS CLI (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION or AWS_DEFAULT_REGION). Messages go to stderr: stdout
carries only the protocol.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from .http_link import HttpLink
from .library import Pkcs11Library
from .server import serve

DEFAULT_ENDPOINT = "http://127.0.0.1:8000/sandbox/cloudhsm/client/"


def parser() -> argparse.ArgumentParser:
    arguments = argparse.ArgumentParser(
        description="Serve a sandbox CloudHSM cluster to p11-kit-client.so on stdin/stdout."
    )
    arguments.add_argument("--cluster", required=True, help="the cluster id (cluster-...)")
    arguments.add_argument("--endpoint", default=DEFAULT_ENDPOINT, help="the sandbox's HSM URL")
    arguments.add_argument("--region", help="overrides AWS_REGION / AWS_DEFAULT_REGION")
    return arguments


def library_from(
    cluster: str, endpoint: str, region: str | None, environ: Mapping[str, str]
) -> Pkcs11Library:
    access_key = environ.get("AWS_ACCESS_KEY_ID", "")
    secret_key = environ.get("AWS_SECRET_ACCESS_KEY", "")
    region = region or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or ""
    missing = [
        name
        for name, value in (
            ("AWS_ACCESS_KEY_ID", access_key),
            ("AWS_SECRET_ACCESS_KEY", secret_key),
            ("AWS_REGION", region),
        )
        if not value
    ]
    if missing:
        raise SystemExit(f"hsm_client: set {', '.join(missing)} (your sandbox access key)")
    link = HttpLink(endpoint, access_key=access_key, secret_key=secret_key, region=region)
    return Pkcs11Library(link, cluster)


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="hsm_client: %(message)s")
    library = library_from(options.cluster, options.endpoint, options.region, os.environ)
    serve(library, sys.stdin.buffer, sys.stdout.buffer)
    return 0
