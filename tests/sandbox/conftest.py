from __future__ import annotations

import datetime as dt
import json
from unittest import mock

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from sandbox.console import console_run
from sandbox.engine import sandbox_subnets
from sandbox.services import (
    ANALYST_USER,
    access_key_create,
    sandbox_advance_clock,
    sandbox_for,
)

ADMIN_PASSWORD = "admin-pass-1"
ALICE_PASSWORD = "alice-pass-1"


@pytest.fixture
def account(learner):
    return sandbox_for(learner)


@pytest.fixture
def other_account(other_learner):
    return sandbox_for(other_learner)


@pytest.fixture
def credentials(account):
    key, secret = access_key_create(account=account)
    return key.access_key_id, secret


@pytest.fixture
def analyst_credentials(account):
    key, secret = access_key_create(account=account, user_name=ANALYST_USER)
    return key.access_key_id, secret


def make_kms_client(base_url, access_key_id, secret, *, region="us-east-1", slash=True):
    return boto3.client(
        "kms",
        endpoint_url=base_url + ("/sandbox/kms/" if slash else "/sandbox/kms"),
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture
def kms_client(live_server, credentials):
    client = make_kms_client(live_server.url, *credentials)
    yield client
    # Close kept-alive connections so no server thread outlives the test's database.
    client.close()


@pytest.fixture
def analyst_client(live_server, analyst_credentials):
    client = make_kms_client(live_server.url, *analyst_credentials)
    yield client
    client.close()


def signed_post(
    client,
    operation: str,
    body,
    *,
    access_key_id: str,
    secret: str,
    region: str = "us-east-1",
    service: str = "kms",
    path: str = "/sandbox/kms/",
    when: dt.datetime | None = None,
    raw: bytes | None = None,
    target: str | None = None,
):
    """POST a SigV4-signed KMS request through Django's test client (no live server)."""
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    headers["X-Amz-Target"] = target if target is not None else f"TrentService.{operation}"
    request = AWSRequest(method="POST", url=f"http://testserver{path}", data=data, headers=headers)
    signer = SigV4Auth(Credentials(access_key_id, secret), service, region)
    with mock.patch(
        "botocore.auth.get_current_datetime",
        return_value=when or dt.datetime.now(dt.UTC).replace(tzinfo=None),
    ):
        signer.add_auth(request)
    meta = {
        "HTTP_" + name.upper().replace("-", "_"): value
        for name, value in request.headers.items()
        if name.lower() != "content-type"
    }
    meta["HTTP_HOST"] = "testserver"
    # Django's test client leaves an empty body without a Content-Type; a real client does not.
    meta["CONTENT_TYPE"] = "application/x-amz-json-1.1"
    return client.post(path, data=data, content_type="application/x-amz-json-1.1", **meta)


def run(account, line: str, *, ok: bool = True):
    """Run a console line and insist on the outcome; return the result."""
    result = console_run(account=account, line=line)
    assert result.ok is ok, f"{line!r} → {result.output}"
    return result


def advance(account, minutes: float = 0, days: float = 0) -> None:
    sandbox_advance_clock(account=account, seconds=int(minutes * 60 + days * 86400))
    account.refresh_from_db()


def build_active_cluster(account, *, hsms_in=("us-east-1a", "us-east-1b", "us-east-1c")):
    """Lab 5's first six steps: an ACTIVE cluster with HSMs in the given zones, the admin
    activated, crypto user alice with the token AES key ``lab5-key``. Returns the cluster id."""
    from sandbox.labs import tools

    subnets = " ".join(sandbox_subnets(account))
    created = run(
        account, f"aws cloudhsmv2 create-cluster --hsm-type hsm2m.medium --subnet-ids {subnets}"
    )
    cluster_id = json.loads(created.output)["Cluster"]["ClusterId"]
    advance(account, minutes=6)
    run(
        account,
        f"aws cloudhsmv2 create-hsm --cluster-id {cluster_id} --availability-zone {hsms_in[0]}",
    )
    advance(account, minutes=11)
    tools.cluster_initialize(
        account=account, cluster_id=cluster_id, session_ca=tools.session_ca_create(account=account)
    )
    advance(account, minutes=3)
    run(account, f"cluster activate --password {ADMIN_PASSWORD}")
    for zone in hsms_in[1:]:
        run(
            account,
            f"aws cloudhsmv2 create-hsm --cluster-id {cluster_id} --availability-zone {zone}",
        )
    advance(account, minutes=11)
    run(account, f"login --username admin --role admin --password {ADMIN_PASSWORD}")
    run(account, f"user create --username alice --role crypto-user --password {ALICE_PASSWORD}")
    run(account, "logout")
    run(account, f"login --username alice --role crypto-user --password {ALICE_PASSWORD}")
    run(
        account,
        "key generate-symmetric aes --label lab5-key --key-length-bytes 32 "
        "--attributes encrypt=true decrypt=true",
    )
    run(account, "logout")
    return cluster_id
