"""Every lab's grader, with an attempt that passes and one that does not.

Attempts go through the same console and lab panels a learner uses; graders read only the
engine's records and the audit logs.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from emulator.cloudhsm import CloudHsmInvalidRequestException
from emulator.cloudhsm.pki import create_ca, sign_csr
from sandbox.engine import sandbox_subnets
from sandbox.labs import LABS, grade, lab_by_slug, lab_state, pki_tools, tools
from sandbox.services import file_save

from .conftest import ADMIN_PASSWORD, ALICE_PASSWORD, advance, build_active_cluster, run

pytestmark = pytest.mark.django_db


def check(account, slug: str) -> dict[str, bool]:
    graded = grade(lab_by_slug(slug), lab_state(account=account))
    return {result.step.slug: result.passed for result in graded.results}


def all_pass(results: dict[str, bool]) -> bool:
    return all(results.values())


def test_there_are_eight_labs_with_unique_slugs_and_steps():
    assert len(LABS) >= 8
    assert len({lab.slug for lab in LABS}) == len(LABS)
    for lab in LABS:
        assert lab.steps and len({step.slug for step in lab.steps}) == len(lab.steps)
        assert lab.introduction_html and all(step.instructions_html for step in lab.steps)


def test_a_fresh_sandbox_passes_no_step(account):
    for lab in LABS:
        assert not any(check(account, lab.slug).values()), lab.slug


# --- lab 1 ------------------------------------------------------------------------------------


def new_key(account, description="k") -> str:
    made = run(account, f"aws kms create-key --description {description}")
    return json.loads(made.output)["KeyMetadata"]["KeyId"]


def test_lab1_passes_when_every_step_shows_in_the_audit_log(account):
    key_id = new_key(account)
    run(account, f"aws kms create-alias --alias-name alias/lab1 --target-key-id {key_id}")
    run(
        account,
        "aws kms encrypt --key-id alias/lab1 --plaintext SGVsbG8= --encryption-context "
        "purpose=lab1 --output text --query CiphertextBlob | base64 --decode > hello.enc",
    )
    run(
        account,
        "aws kms decrypt --ciphertext-blob fileb://hello.enc --encryption-context purpose=lab1",
    )
    run(
        account,
        "aws kms decrypt --ciphertext-blob fileb://hello.enc --encryption-context purpose=other",
        ok=False,
    )
    assert all_pass(check(account, "kms-basics"))


def test_lab1_is_not_passed_by_typing_the_right_words(account):
    key_id = new_key(account)
    run(account, f"aws kms create-alias --alias-name alias/lab1 --target-key-id {key_id}")
    # Encrypting by key id without a context does not show the alias + context step.
    run(account, f"aws kms encrypt --key-id {key_id} --plaintext SGVsbG8=")
    run(
        account,
        "aws kms decrypt --ciphertext-blob bm90IGEgY2lwaGVydGV4dA== --encryption-context a=b",
        ok=False,
    )
    results = check(account, "kms-basics")
    assert results["create-key"] and results["alias"]
    assert not results["encrypt"] and not results["decrypt"] and not results["wrong-context"]


# --- lab 2 ------------------------------------------------------------------------------------


def test_lab2_passes_with_the_envelope_workbench(account):
    file_save(account=account, name="report.txt", content=b"quarterly numbers\n" * 100)
    key_id = new_key(account)
    sealed = tools.envelope_encrypt(
        account=account, file_name="report.txt", key_id=key_id, context={"bucket": "reports"}
    )
    assert len(base64.b64decode(sealed.plaintext_data_key_b64)) == 32
    opened = tools.envelope_decrypt(account=account, package_name=sealed.package_name)
    assert opened.identical
    assert all_pass(check(account, "envelope-encryption"))


def test_lab2_fails_when_the_package_was_tampered_with(account):
    file_save(account=account, name="report.txt", content=b"quarterly numbers")
    key_id = new_key(account)
    sealed = tools.envelope_encrypt(
        account=account, file_name="report.txt", key_id=key_id, context={}
    )
    package = json.loads(bytes(account.files.get(name=sealed.package_name).content))
    ciphertext = bytearray(base64.b64decode(package["ciphertext"]))
    ciphertext[0] ^= 1
    package["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()
    file_save(account=account, name=sealed.package_name, content=json.dumps(package).encode())
    with pytest.raises(tools.LabToolError, match="modified"):
        tools.envelope_decrypt(account=account, package_name=sealed.package_name)
    results = check(account, "envelope-encryption")
    assert results["upload"] and results["data-key"] and results["package"] and results["unwrap"]
    assert not results["round-trip"]


# --- lab 3 ------------------------------------------------------------------------------------

EXPLICIT_DENY = """{{"Version": "2012-10-17", "Statement": [
 {{"Sid": "Root", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{a}:root"}},
   "Action": "kms:*", "Resource": "*"}},
 {{"Sid": "AllowAnalyst", "Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{a}:user/analyst"}},
   "Action": "kms:Encrypt", "Resource": "*"}},
 {{"Sid": "DenyAnalyst", "Effect": "Deny", "Principal": {{"AWS": "arn:aws:iam::{a}:user/analyst"}},
   "Action": "kms:Encrypt", "Resource": "*"}}]}}"""


def test_lab3_passes_denied_granted_retired_and_explicitly_denied(account):
    key_id = new_key(account)
    analyst = f"arn:aws:iam::{account.account_id}:user/analyst"
    denied = tools.analyst_attempt(account=account, key_id=key_id, operation="Encrypt", context={})
    assert not denied.ok and denied.trace[-2] == "4. Implicit deny → DENY."
    grant = json.loads(
        run(
            account,
            f"aws kms create-grant --key-id {key_id} --grantee-principal {analyst} "
            f"--operations Encrypt --retiring-principal {analyst}",
        ).output
    )
    allowed = tools.analyst_attempt(account=account, key_id=key_id, operation="Encrypt", context={})
    assert allowed.ok and allowed.decision.grant_id == grant["GrantId"]
    run(
        account,
        f"aws kms retire-grant --profile analyst --key-id {key_id} --grant-id {grant['GrantId']}",
    )
    file_save(
        account=account,
        name="policy.json",
        content=EXPLICIT_DENY.format(a=account.account_id).encode(),
    )
    run(
        account,
        f"aws kms put-key-policy --key-id {key_id} --policy-name default --policy file://policy.json",
    )
    explicit = tools.analyst_attempt(
        account=account, key_id=key_id, operation="Encrypt", context={}
    )
    assert not explicit.ok and explicit.decision.explicit_deny
    assert "DenyAnalyst" in " ".join(explicit.trace)
    assert all_pass(check(account, "policies-and-grants"))


def test_lab3_without_a_grant_stops_at_the_first_step(account):
    key_id = new_key(account)
    run(account, f"aws kms encrypt --profile analyst --key-id {key_id} --plaintext SGk=", ok=False)
    results = check(account, "policies-and-grants")
    assert results == {
        "denied": True,
        "grant": False,
        "grant-used": False,
        "grant-retired": False,
        "explicit-deny": False,
    }


# --- lab 4 ------------------------------------------------------------------------------------


def test_lab4_passes_through_the_whole_lifecycle_on_the_simulated_clock(account):
    key_id = new_key(account)
    run(account, f"aws kms disable-key --key-id {key_id}")
    run(account, f"aws kms encrypt --key-id {key_id} --plaintext SGk=", ok=False)
    run(account, f"aws kms enable-key --key-id {key_id}")
    old = run(
        account,
        f"aws kms encrypt --key-id {key_id} --plaintext SGk= --output text --query CiphertextBlob",
    ).output
    run(account, f"aws kms rotate-key-on-demand --key-id {key_id}")
    run(account, f"aws kms decrypt --ciphertext-blob {old}")
    run(account, f"aws kms schedule-key-deletion --key-id {key_id} --pending-window-in-days 7")
    run(account, f"aws kms encrypt --key-id {key_id} --plaintext SGk=", ok=False)
    cancelled = run(account, f"aws kms cancel-key-deletion --key-id {key_id}")
    assert json.loads(cancelled.output)["KeyId"].endswith(key_id)
    state = json.loads(run(account, f"aws kms describe-key --key-id {key_id}").output)
    assert state["KeyMetadata"]["KeyState"] == "Disabled"
    run(account, f"aws kms enable-key --key-id {key_id}")
    doomed = new_key(account, "doomed")
    run(account, f"aws kms schedule-key-deletion --key-id {doomed} --pending-window-in-days 7")
    advance(account, days=7, minutes=1)
    gone = run(account, f"aws kms describe-key --key-id {doomed}", ok=False)
    assert "NotFoundException" in gone.output
    assert all_pass(check(account, "key-lifecycle"))


def test_lab4_is_incomplete_while_a_deletion_is_only_scheduled(account):
    key_id = new_key(account)
    run(account, f"aws kms schedule-key-deletion --key-id {key_id} --pending-window-in-days 7")
    advance(account, days=3)
    results = check(account, "key-lifecycle")
    assert not results["cancel"] and not results["deleted"] and not results["schedule"]


# --- lab 5 ------------------------------------------------------------------------------------


def hsm_ids(account, cluster_id: str) -> list[str]:
    described = json.loads(
        run(account, f"aws cloudhsmv2 describe-clusters --filters clusterIds={cluster_id}").output
    )
    return [hsm["HsmId"] for hsm in described["Clusters"][0]["Hsms"]]


def test_lab5_passes_a_cluster_that_survives_a_failed_hsm(account):
    cluster_id = build_active_cluster(account)
    assert check(account, "cloudhsm-cluster")["token-key"]
    failed = hsm_ids(account, cluster_id)[1]
    tools.hsm_fail(account=account, hsm_id=failed)
    cluster = json.loads(run(account, "aws cloudhsmv2 describe-clusters").output)["Clusters"][0]
    assert cluster["State"] == "DEGRADED"
    used = tools.hsm_use_key(
        account=account,
        cluster_id=cluster_id,
        username="alice",
        password=ALICE_PASSWORD,
        label="lab5-key",
    )
    assert used.ok, used.lines
    tools.hsm_replace(account=account, hsm_id=failed)
    results = check(account, "cloudhsm-cluster")
    assert not results["restored"]  # the new HSM is still being created
    advance(account, minutes=11)
    assert all_pass(check(account, "cloudhsm-cluster"))


def test_lab5_with_one_zone_and_no_activation_is_incomplete(account):
    subnets = " ".join(sandbox_subnets(account))
    created = run(
        account, f"aws cloudhsmv2 create-cluster --hsm-type hsm2m.medium --subnet-ids {subnets}"
    )
    cluster_id = json.loads(created.output)["Cluster"]["ClusterId"]
    advance(account, minutes=6)
    run(
        account,
        f"aws cloudhsmv2 create-hsm --cluster-id {cluster_id} --availability-zone us-east-1a",
    )
    advance(account, minutes=11)
    results = check(account, "cloudhsm-cluster")
    assert results["cluster"]
    assert not any(v for k, v in results.items() if k != "cluster")


def test_lab5_accepts_a_learner_supplied_certificate_and_trust_anchor(account):
    subnets = " ".join(sandbox_subnets(account))
    created = run(
        account, f"aws cloudhsmv2 create-cluster --hsm-type hsm2m.medium --subnet-ids {subnets}"
    )
    cluster_id = json.loads(created.output)["Cluster"]["ClusterId"]
    advance(account, minutes=6)
    run(
        account,
        f"aws cloudhsmv2 create-hsm --cluster-id {cluster_id} --availability-zone us-east-1b",
    )
    advance(account, minutes=11)
    csr = json.loads(run(account, "aws cloudhsmv2 describe-clusters").output)["Clusters"][0][
        "Certificates"
    ]["ClusterCsr"]
    now = tools.account_now(account)
    ca_key, anchor = create_ca("My Org Root CA", now)
    signed = sign_csr(csr, ca_key, anchor, now)
    _, other_anchor = create_ca("Someone else", now)
    with pytest.raises(CloudHsmInvalidRequestException, match="trust anchor"):
        tools.cluster_initialize(
            account=account,
            cluster_id=cluster_id,
            signed_certificate=signed,
            trust_anchor=other_anchor,
        )
    tools.cluster_initialize(
        account=account, cluster_id=cluster_id, signed_certificate=signed, trust_anchor=anchor
    )
    assert check(account, "cloudhsm-cluster")["initialize"]
    assert account.files.filter(name="customerCA.crt").exists()


# --- lab 6 ------------------------------------------------------------------------------------


def as_alice(account) -> None:
    run(account, f"login --username alice --role crypto-user --password {ALICE_PASSWORD}")


def test_lab6_passes_attributes_sharing_lockout_and_no_recovery(account):
    cluster_id = build_active_cluster(account)
    as_alice(account)
    run(
        account,
        "key generate-symmetric aes --label locked-in --key-length-bytes 32 --attributes extractable=false",
    )
    run(
        account,
        "key generate-symmetric aes --label wrapper --key-length-bytes 32 --attributes wrap=true unwrap=true",
    )
    run(account, "key generate-symmetric aes --label movable --key-length-bytes 32")
    run(
        account,
        "key wrap aes-gcm --payload-filter attr.label=locked-in --wrapping-filter attr.label=wrapper",
        ok=False,
    )
    wrapped = json.loads(
        run(
            account,
            "key wrap aes-gcm --payload-filter attr.label=movable --wrapping-filter attr.label=wrapper",
        ).output
    )["data"]["wrapped_key_data"]
    run(
        account,
        f"key unwrap aes-gcm --filter attr.label=wrapper --data {wrapped} --key-type-class aes "
        "--label movable-copy",
    )
    run(account, "logout")
    read = tools.hsm_read_value(
        account=account,
        cluster_id=cluster_id,
        username="alice",
        password=ALICE_PASSWORD,
        label="locked-in",
    )
    assert not read.ok and "CKR_ATTRIBUTE_SENSITIVE" in read.lines[0]
    run(account, f"login --username admin --role admin --password {ADMIN_PASSWORD}")
    run(account, "user create --username bob --role crypto-user --password bob-pass-1")
    run(account, "logout")
    as_alice(account)
    run(account, "key share --filter attr.label=movable --username bob --role crypto-user")
    run(account, "logout")
    for attempt in range(5):
        run(
            account,
            f"login --username bob --role crypto-user --password wrong-pw{attempt}",
            ok=False,
        )
    locked = run(account, "login --username bob --role crypto-user --password bob-pass-1", ok=False)
    assert json.loads(locked.output)["code"] == "CKR_PIN_LOCKED"
    run(account, f"login --username admin --role admin --password {ADMIN_PASSWORD}")
    run(account, "user change-password --username bob --role crypto-user --password bob-pass-2")
    run(account, "logout")
    run(account, "login --username bob --role crypto-user --password bob-pass-2")
    run(account, "logout")
    run(account, "cluster activate --password anything-1", ok=False)
    assert all_pass(check(account, "pkcs11-attributes"))


def test_lab6_without_a_lockout_is_incomplete(account):
    build_active_cluster(account, hsms_in=("us-east-1a", "us-east-1b"))
    as_alice(account)
    run(
        account,
        "key generate-symmetric aes --label locked-in --key-length-bytes 32 --attributes extractable=false",
    )
    run(account, "logout")
    run(account, "login --username alice --role crypto-user --password wrong-pw1", ok=False)
    results = check(account, "pkcs11-attributes")
    assert results["non-extractable"]
    assert not results["locked"] and not results["admin-reset"] and not results["share"]


# --- lab 7 ------------------------------------------------------------------------------------


def test_lab7_passes_an_hsm_signed_chain_and_a_tde_master_key(account):
    cluster_id = build_active_cluster(account)
    as_alice(account)
    run(
        account,
        "key generate-asymmetric-pair ec --public-label lab-ca-pub --private-label lab-ca "
        "--curve secp256r1 --private-attributes sign=true --public-attributes verify=true",
    )
    run(account, "logout")
    issued = pki_tools.pki_issue(
        account=account,
        cluster_id=cluster_id,
        username="alice",
        password=ALICE_PASSWORD,
        ca_label="lab-ca",
    )
    leaf = x509.load_pem_x509_certificate(bytes(account.files.get(name=issued.leaf_file).content))
    ca = x509.load_pem_x509_certificate(bytes(account.files.get(name="lab-ca.crt").content))
    leaf.verify_directly_issued_by(ca)
    lines = pki_tools.pki_verify(account=account, leaf_file=issued.leaf_file)
    assert lines[-1].startswith("The CA's public key matches")
    as_alice(account)
    run(
        account,
        "key generate-symmetric aes --label tde-master --key-length-bytes 32 --attributes wrap=true unwrap=true extractable=false",
    )
    run(account, "key generate-symmetric aes --label table-key --key-length-bytes 32")
    wrapped = json.loads(
        run(
            account,
            "key wrap aes-gcm --payload-filter attr.label=table-key --wrapping-filter attr.label=tde-master",
        ).output
    )["data"]["wrapped_key_data"]
    run(
        account,
        f"key unwrap aes-gcm --filter attr.label=tde-master --data {wrapped} "
        "--key-type-class aes --label table-key-open --session",
    )
    run(account, "logout")
    assert all_pass(check(account, "tls-offload-private-ca"))


def test_lab7_refuses_a_chain_whose_ca_key_is_not_in_the_hsm(account):
    build_active_cluster(account, hsms_in=("us-east-1a", "us-east-1b"))
    now = dt.datetime.now(dt.UTC)
    ca_key, ca_pem = create_ca("Outside CA", now)
    server = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "www.example.test")])
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(x509.load_pem_x509_certificate(ca_pem.encode()).subject)
        .public_key(server.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    file_save(account=account, name="outside-ca.crt", content=ca_pem.encode())
    file_save(
        account=account, name="leaf.crt", content=leaf.public_bytes(serialization.Encoding.PEM)
    )
    with pytest.raises(tools.LabToolError, match="not in one of your HSMs"):
        pki_tools.pki_verify(account=account, leaf_file="leaf.crt", ca_file="outside-ca.crt")
    results = check(account, "tls-offload-private-ca")
    assert not results["chain"] and not results["issue"] and not results["ca-key"]


# --- lab 8 ------------------------------------------------------------------------------------

KMSUSER_PASSWORD = "kmsuser-pass-1"


def add_kmsuser(account) -> None:
    run(account, f"login --username admin --role admin --password {ADMIN_PASSWORD}")
    run(account, f"user create --username kmsuser --role crypto-user --password {KMSUSER_PASSWORD}")
    run(account, "logout")


def create_store(account, cluster_id: str, *, ok: bool = True):
    return run(
        account,
        f"aws kms create-custom-key-store --custom-key-store-name lab8 --cloud-hsm-cluster-id "
        f"{cluster_id} --trust-anchor-certificate file://customerCA.crt "
        f"--key-store-password {KMSUSER_PASSWORD}",
        ok=ok,
    )


def test_lab8_passes_a_custom_key_store_from_create_to_unavailable(account):
    cluster_id = build_active_cluster(account)
    add_kmsuser(account)
    store_id = json.loads(create_store(account, cluster_id).output)["CustomKeyStoreId"]
    run(account, f"aws kms connect-custom-key-store --custom-key-store-id {store_id}")
    stores = json.loads(run(account, "aws kms describe-custom-key-stores").output)
    assert stores["CustomKeyStores"][0]["ConnectionState"] == "CONNECTED"
    key = json.loads(
        run(
            account, f"aws kms create-key --origin AWS_CLOUDHSM --custom-key-store-id {store_id}"
        ).output
    )["KeyMetadata"]
    assert key["Origin"] == "AWS_CLOUDHSM"
    run(account, f"aws kms encrypt --key-id {key['KeyId']} --plaintext SGVsbG8gSFNNIQ==")
    run(account, f"login --username kmsuser --role crypto-user --password {KMSUSER_PASSWORD}")
    found = json.loads(
        run(account, f"key list --filter attr.label={key['KeyId']} --verbose").output
    )
    assert found["data"]["total_key_count"] == 1
    run(account, "logout")
    run(account, f"aws kms disconnect-custom-key-store --custom-key-store-id {store_id}")
    described = json.loads(run(account, f"aws kms describe-key --key-id {key['KeyId']}").output)
    assert described["KeyMetadata"]["KeyState"] == "Unavailable"
    run(account, f"aws kms encrypt --key-id {key['KeyId']} --plaintext SGk=", ok=False)
    assert all_pass(check(account, "custom-key-store"))


def test_lab8_fails_with_a_cluster_in_one_zone(account):
    cluster_id = build_active_cluster(account, hsms_in=("us-east-1a",))
    add_kmsuser(account)
    refused = create_store(account, cluster_id, ok=False)
    assert "CloudHsmClusterInvalidConfigurationException" in refused.output
    results = check(account, "custom-key-store")
    assert results["kmsuser"]
    assert not results["store"] and not results["key"] and not results["disconnect"]
