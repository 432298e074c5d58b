"""Lab 10: S3's native integration with KMS, graded from the KMS audit log (what S3 asked KMS
for on the learner's behalf) and the HSM audit log."""

from __future__ import annotations

import json

import pytest

from sandbox.services import file_save

from .conftest import build_active_cluster, run
from .test_labs import KMSUSER_PASSWORD, add_kmsuser, all_pass, check, create_store

pytestmark = pytest.mark.django_db

PUT = "aws s3api put-object --bucket reports --key {key} --body q3.csv --server-side-encryption aws:kms --ssekms-key-id {kms}"


def connected_store_key(account) -> str:
    """Lab 8's state: a CONNECTED custom key store and a KMS key in it; its key id."""
    cluster_id = build_active_cluster(account)
    add_kmsuser(account)
    store_id = json.loads(create_store(account, cluster_id).output)["CustomKeyStoreId"]
    run(account, f"aws kms connect-custom-key-store --custom-key-store-id {store_id}")
    key = json.loads(
        run(
            account, f"aws kms create-key --origin AWS_CLOUDHSM --custom-key-store-id {store_id}"
        ).output
    )
    return key["KeyMetadata"]["KeyId"]


def test_lab10_passes_from_sse_kms_to_the_key_in_the_hsm(account):
    hsm_backed = connected_store_key(account)
    file_save(account=account, name="q3.csv", content=b"revenue,42\n")
    plain_key = json.loads(run(account, "aws kms create-key").output)["KeyMetadata"]["Arn"]
    run(account, "aws s3api create-bucket --bucket reports")
    run(account, PUT.format(key="q3.csv", kms=plain_key))
    run(account, "aws s3api get-object --bucket reports --key q3.csv copy.csv")
    refused = run(account, PUT.format(key="hsm.csv", kms="lab5-key"), ok=False)
    assert "(KMS.NotFoundException)" in refused.output
    assert not check(account, "s3-native-integration")["key-store"]
    run(account, PUT.format(key="hsm.csv", kms=hsm_backed))
    run(account, f"login --username kmsuser --role crypto-user --password {KMSUSER_PASSWORD}")
    run(account, f"key list --filter attr.label={hsm_backed}")
    run(account, "logout")
    assert all_pass(check(account, "s3-native-integration"))


def test_lab10_fails_when_objects_use_sse_s3_and_no_hsm_key_is_involved(account):
    file_save(account=account, name="q3.csv", content=b"revenue,42\n")
    run(account, "aws s3api create-bucket --bucket reports")
    run(account, "aws s3api put-object --bucket reports --key q3.csv --body q3.csv")
    run(account, "aws s3api get-object --bucket reports --key q3.csv copy.csv")
    # The learner's own KMS calls are not S3's: they do not count for the S3 steps.
    key_id = json.loads(run(account, "aws kms create-key").output)["KeyMetadata"]["KeyId"]
    run(account, f"aws kms generate-data-key --key-id {key_id} --key-spec AES_256")
    results = check(account, "s3-native-integration")
    assert results == {
        "sse-kms": False,
        "read-back": False,
        "hsm-key": False,
        "key-store": False,
        "in-the-hsm": False,
    }
