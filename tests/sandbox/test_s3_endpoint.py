"""The sandbox's S3, driven by the real boto3 against the live test server: buckets, objects,
SSE-S3, SSE-KMS through the learner's own KMS (with the audit trail S3 leaves there), S3
Bucket Keys, SSE-C, default bucket encryption, and S3's own errors."""

from __future__ import annotations

import base64
import hashlib
import os

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.engine import principal_arn
from sandbox.models import SandboxEvent
from sandbox.services import access_key_create

pytestmark = pytest.mark.django_db(transaction=True)


def make_s3_client(base_url: str, access_key_id: str, secret: str):
    return boto3.client(
        "s3",
        endpoint_url=base_url + "/sandbox/s3",
        region_name="us-east-1",
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


@pytest.fixture
def s3(live_server, credentials):
    client = make_s3_client(live_server.url, *credentials)
    yield client
    client.close()


def error_of(caught) -> tuple[str, int]:
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def kms_events(account, operation: str) -> list[dict]:
    return [
        event.data
        for event in SandboxEvent.objects.filter(account=account, log="kms").order_by("id")
        if event.data["operation"] == operation
    ]


def test_buckets_and_objects_round_trip_encrypted_with_sse_s3_by_default(s3):
    s3.create_bucket(Bucket="notes")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["notes"]
    put = s3.put_object(
        Bucket="notes", Key="2026/plan b.txt", Body=b"hello", ContentType="text/plain"
    )
    assert put["ServerSideEncryption"] == "AES256"  # S3 encrypts every new object
    got = s3.get_object(Bucket="notes", Key="2026/plan b.txt")
    assert got["Body"].read() == b"hello"
    assert got["ContentType"] == "text/plain" and got["ETag"] == put["ETag"]
    head = s3.head_object(Bucket="notes", Key="2026/plan b.txt")
    assert head["ContentLength"] == 5 and head["ServerSideEncryption"] == "AES256"
    listed = s3.list_objects_v2(Bucket="notes", Prefix="2026/")
    assert [item["Key"] for item in listed["Contents"]] == ["2026/plan b.txt"]
    assert s3.get_bucket_encryption(Bucket="notes")["ServerSideEncryptionConfiguration"]["Rules"][
        0
    ]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}

    with pytest.raises(ClientError) as caught:
        s3.delete_bucket(Bucket="notes")
    assert error_of(caught) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket="notes", Key="2026/plan b.txt")
    s3.delete_bucket(Bucket="notes")
    assert s3.list_buckets()["Buckets"] == []


def test_sse_kms_calls_kms_for_the_caller_with_the_s3_context_and_stops_when_disabled(
    s3, kms_client, account
):
    key_arn = kms_client.create_key(Description="for S3")["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket="reports")
    put = s3.put_object(
        Bucket="reports",
        Key="q3.csv",
        Body=b"revenue,42\n",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=key_arn,
    )
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == key_arn
    assert s3.get_object(Bucket="reports", Key="q3.csv")["Body"].read() == b"revenue,42\n"

    generated = kms_events(account, "GenerateDataKey")[-1]
    assert generated["invokedBy"] == "s3.amazonaws.com"
    assert generated["principal"] == principal_arn(account, "root")
    assert generated["detail"]["requestParameters"]["EncryptionContext"] == {
        "aws:s3:arn": "arn:aws:s3:::reports/q3.csv"
    }
    assert kms_events(account, "Decrypt")[-1]["invokedBy"] == "s3.amazonaws.com"

    kms_client.disable_key(KeyId=key_arn)
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="reports", Key="q3.csv")
    assert error_of(caught) == ("KMS.DisabledException", 400)
    kms_client.enable_key(KeyId=key_arn)
    assert s3.get_object(Bucket="reports", Key="q3.csv")["Body"].read() == b"revenue,42\n"


def test_a_bucket_key_makes_one_kms_call_for_many_writes(s3, kms_client, account):
    key_arn = kms_client.create_key()["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket="logs")
    s3.put_bucket_encryption(
        Bucket="logs",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_arn,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    before = len(kms_events(account, "GenerateDataKey"))
    for number in range(5):
        put = s3.put_object(Bucket="logs", Key=f"day-{number}.log", Body=b"line %d" % number)
        assert put["BucketKeyEnabled"] is True and put["SSEKMSKeyId"] == key_arn
    calls = kms_events(account, "GenerateDataKey")[before:]
    assert len(calls) == 1  # one bucket-level data key for five objects
    assert calls[0]["detail"]["requestParameters"]["EncryptionContext"] == {
        "aws:s3:arn": "arn:aws:s3:::logs"
    }
    assert s3.get_object(Bucket="logs", Key="day-3.log")["Body"].read() == b"line 3"

    # Without the bucket key, each object is one GenerateDataKey.
    before = len(kms_events(account, "GenerateDataKey"))
    for number in range(3):
        s3.put_object(
            Bucket="logs",
            Key=f"plain-{number}.log",
            Body=b"x",
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=key_arn,
            BucketKeyEnabled=False,
        )
    assert len(kms_events(account, "GenerateDataKey")) - before == 3


def test_sse_c_needs_the_same_customer_key_to_read(s3):
    s3.create_bucket(Bucket="private")
    key = os.urandom(32)
    s3.put_object(
        Bucket="private",
        Key="secret.bin",
        Body=b"mine alone",
        SSECustomerAlgorithm="AES256",
        SSECustomerKey=key,
    )
    got = s3.get_object(
        Bucket="private", Key="secret.bin", SSECustomerAlgorithm="AES256", SSECustomerKey=key
    )
    assert got["Body"].read() == b"mine alone"
    assert got["SSECustomerKeyMD5"] == base64.b64encode(hashlib.md5(key).digest()).decode()
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="private", Key="secret.bin")
    assert error_of(caught) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as caught:
        s3.get_object(
            Bucket="private",
            Key="secret.bin",
            SSECustomerAlgorithm="AES256",
            SSECustomerKey=os.urandom(32),
        )
    assert error_of(caught) == ("AccessDenied", 403)


def test_bad_input_gets_s3_errors_and_writes_nothing(s3, kms_client, account):
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="nowhere", Key="x")
    assert error_of(caught) == ("NoSuchBucket", 404)
    s3.create_bucket(Bucket="box")
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket="box")
    assert error_of(caught) == ("BucketAlreadyOwnedByYou", 409)
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="box", Key="missing")
    assert error_of(caught) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="box", Key="k", Body=b"x", ServerSideEncryption="aws:kms")
    assert error_of(caught) == ("InvalidArgument", 400)  # no aws/s3 managed key here
    with pytest.raises(ClientError) as caught:
        s3.put_object(
            Bucket="box",
            Key="k",
            Body=b"x",
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId="alias/none",
        )
    assert error_of(caught) == ("KMS.NotFoundException", 400)
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket="Bad_Name")
    assert error_of(caught) == ("InvalidBucketName", 400)
    assert s3.list_objects_v2(Bucket="box")["KeyCount"] == 0


def test_another_learners_keys_cannot_see_these_buckets(live_server, s3, other_account):
    s3.create_bucket(Bucket="mine")
    access_key, secret = access_key_create(account=other_account)
    theirs = make_s3_client(live_server.url, access_key.access_key_id, secret)
    assert theirs.list_buckets()["Buckets"] == []
    with pytest.raises(ClientError) as caught:
        theirs.get_object(Bucket="mine", Key="x")
    assert error_of(caught) == ("NoSuchBucket", 404)
    theirs.close()


def test_a_wrong_signature_is_refused_the_way_s3_refuses_it(live_server, credentials):
    access_key_id, _ = credentials
    forged = make_s3_client(live_server.url, access_key_id, "x" * 40)
    with pytest.raises(ClientError) as caught:
        forged.list_buckets()
    assert error_of(caught) == ("SignatureDoesNotMatch", 403)
    forged.close()


def test_an_iam_policy_with_kms_via_service_lets_s3_use_a_key_the_user_cannot_call_directly(
    live_server, s3, kms_client, account
):
    from sandbox.services import sandbox_call

    key_arn = kms_client.create_key()["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket="team")
    owner = f"arn:aws:iam::{account.account_id}:user/developer"
    document = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": '
        '["kms:GenerateDataKey", "kms:Decrypt"], "Resource": "*", "Condition": '
        '{"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}]}'
    )
    sandbox_call(account=account, action=lambda e: e.iam_put_policy(owner, "via-s3", document))
    access_key, secret = access_key_create(account=account, user_name="developer")
    developer_s3 = make_s3_client(live_server.url, access_key.access_key_id, secret)
    put = developer_s3.put_object(
        Bucket="team", Key="k", Body=b"data", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn
    )
    assert put["SSEKMSKeyId"] == key_arn
    assert developer_s3.get_object(Bucket="team", Key="k")["Body"].read() == b"data"
    generated = kms_events(account, "GenerateDataKey")[-1]
    assert generated["principal"].endswith(":user/developer")
    from .conftest import make_kms_client

    developer_kms = make_kms_client(live_server.url, access_key.access_key_id, secret)
    with pytest.raises(ClientError) as caught:
        developer_kms.generate_data_key(KeyId=key_arn, KeySpec="AES_256")
    assert error_of(caught) == ("AccessDeniedException", 400)
    developer_s3.close()
    developer_kms.close()
