"""The KMS endpoint driven by the real boto3 client against the live test server."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from sandbox.architecture import architecture_for
from sandbox.console import console_run
from sandbox.models import SandboxAccessKey
from sandbox.selectors import engine_snapshot
from sandbox.services import access_key_revoke

from .conftest import make_kms_client

pytestmark = pytest.mark.django_db(transaction=True)


def error_code(caught) -> str:
    return caught.value.response["Error"]["Code"]


def test_create_key_encrypt_and_decrypt_with_context(kms_client, account):
    key = kms_client.create_key(Description="lab")["KeyMetadata"]
    assert key["Arn"] == f"arn:aws:kms:us-east-1:{account.account_id}:key/{key['KeyId']}"
    blob = kms_client.encrypt(
        KeyId=key["KeyId"], Plaintext=b"hello", EncryptionContext={"dept": "hr", "app": "x"}
    )
    assert blob["KeyId"] == key["Arn"]
    plain = kms_client.decrypt(
        CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"app": "x", "dept": "hr"}
    )
    assert plain["Plaintext"] == b"hello"
    assert plain["KeyId"] == key["Arn"]
    with pytest.raises(ClientError) as caught:
        kms_client.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"dept": "x"})
    assert error_code(caught) == "InvalidCiphertextException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_aliases_and_describe_and_list(kms_client):
    key_id = kms_client.create_key()["KeyMetadata"]["KeyId"]
    kms_client.create_alias(AliasName="alias/app", TargetKeyId=key_id)
    described = kms_client.describe_key(KeyId="alias/app")["KeyMetadata"]
    assert described["KeyId"] == key_id
    assert described["KeyState"] == "Enabled"
    assert any(k["KeyId"] == key_id for k in kms_client.list_keys()["Keys"])
    aliases = kms_client.list_aliases()["Aliases"]
    assert any(a["AliasName"] == "alias/app" and a.get("TargetKeyId") == key_id for a in aliases)


def test_data_keys_and_data_key_pairs(kms_client):
    key_id = kms_client.create_key()["KeyMetadata"]["KeyId"]
    data_key = kms_client.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert len(data_key["Plaintext"]) == 32
    opened = kms_client.decrypt(CiphertextBlob=data_key["CiphertextBlob"])
    assert opened["Plaintext"] == data_key["Plaintext"]
    sixteen = kms_client.generate_data_key(KeyId=key_id, NumberOfBytes=16)
    assert len(sixteen["Plaintext"]) == 16
    without = kms_client.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_128")
    assert "Plaintext" not in without
    assert len(kms_client.decrypt(CiphertextBlob=without["CiphertextBlob"])["Plaintext"]) == 16
    pair = kms_client.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_P256")
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
    public = serialization.load_der_public_key(pair["PublicKey"])
    signature = private.sign(b"m", ec.ECDSA(hashes.SHA256()))
    public.verify(signature, b"m", ec.ECDSA(hashes.SHA256()))


def test_both_key_spec_and_number_of_bytes_is_refused(kms_client):
    key_id = kms_client.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as caught:
        kms_client.generate_data_key(KeyId=key_id, KeySpec="AES_256", NumberOfBytes=32)
    assert error_code(caught) == "ValidationException"


def test_signing_raw_and_digest_and_a_failed_verify(kms_client):
    key = kms_client.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    signed = kms_client.sign(
        KeyId=key["KeyId"], Message=b"release v1", SigningAlgorithm="ECDSA_SHA_256"
    )
    assert signed["KeyId"] == key["Arn"]
    assert kms_client.verify(
        KeyId=key["KeyId"],
        Message=b"release v1",
        Signature=signed["Signature"],
        SigningAlgorithm="ECDSA_SHA_256",
    )["SignatureValid"]
    digest = hashlib.sha256(b"release v1").digest()
    by_digest = kms_client.sign(
        KeyId=key["KeyId"], Message=digest, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256"
    )
    public = serialization.load_der_public_key(
        kms_client.get_public_key(KeyId=key["KeyId"])["PublicKey"]
    )
    public.verify(by_digest["Signature"], b"release v1", ec.ECDSA(hashes.SHA256()))
    with pytest.raises(ClientError) as caught:
        kms_client.verify(
            KeyId=key["KeyId"],
            Message=b"release v2",
            Signature=signed["Signature"],
            SigningAlgorithm="ECDSA_SHA_256",
        )
    assert error_code(caught) == "KMSInvalidSignatureException"


def test_rsa_public_key_encryption_made_offline_decrypts(kms_client):
    key_id = kms_client.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"][
        "KeyId"
    ]
    public = serialization.load_der_public_key(kms_client.get_public_key(KeyId=key_id)["PublicKey"])
    blob = public.encrypt(
        b"offline",
        padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
    )
    opened = kms_client.decrypt(
        KeyId=key_id, CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_256"
    )
    assert opened["Plaintext"] == b"offline"


def test_service_errors_arrive_as_aws_sends_them(kms_client, account):
    missing = f"arn:aws:kms:us-east-1:{account.account_id}:key/00000000-0000-4000-8000-000000000000"
    with pytest.raises(ClientError) as caught:
        kms_client.encrypt(KeyId=missing, Plaintext=b"x")
    assert error_code(caught) == "NotFoundException"
    key_id = kms_client.create_key()["KeyMetadata"]["KeyId"]
    kms_client.disable_key(KeyId=key_id)
    with pytest.raises(ClientError) as caught:
        kms_client.encrypt(KeyId=key_id, Plaintext=b"x")
    assert error_code(caught) == "DisabledException"
    with pytest.raises(ClientError) as caught:
        kms_client.decrypt(CiphertextBlob=b"\x01" * 64)
    assert error_code(caught) == "InvalidCiphertextException"
    with pytest.raises(ClientError) as caught:
        kms_client.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=31)
    assert error_code(caught) == "ValidationException"


def test_bad_signature_unknown_and_revoked_keys(live_server, credentials, account):
    access_key_id, secret = credentials
    wrong = make_kms_client(live_server.url, access_key_id, "x" * 40)
    with pytest.raises(ClientError) as caught:
        wrong.list_keys()
    assert error_code(caught) == "InvalidSignatureException"
    unknown = make_kms_client(live_server.url, "AKIAUNKNOWNUNKNOWN00", secret)
    with pytest.raises(ClientError) as caught:
        unknown.list_keys()
    assert error_code(caught) == "UnrecognizedClientException"
    access_key_revoke(key=SandboxAccessKey.objects.get(access_key_id=access_key_id))
    revoked = make_kms_client(live_server.url, access_key_id, secret)
    with pytest.raises(ClientError) as caught:
        revoked.list_keys()
    assert error_code(caught) == "UnrecognizedClientException"


def test_a_client_scoped_to_another_region_is_refused(live_server, credentials):
    client = make_kms_client(live_server.url, *credentials, region="eu-west-1")
    with pytest.raises(ClientError) as caught:
        client.list_keys()
    assert error_code(caught) == "InvalidSignatureException"


def test_the_endpoint_url_works_without_its_trailing_slash(live_server, credentials):
    client = make_kms_client(live_server.url, *credentials, slash=False)
    assert client.create_key()["KeyMetadata"]["KeyState"] == "Enabled"


def test_boto3_and_the_console_share_one_engine_state(kms_client, account):
    key_id = kms_client.create_key(Description="from boto3")["KeyMetadata"]["KeyId"]
    listed = console_run(account=account, line="aws kms list-keys --output text")
    assert key_id in listed.output
    made = console_run(account=account, line="aws kms create-key --query KeyMetadata.KeyId")
    console_key = made.output.strip().strip('"')
    assert kms_client.describe_key(KeyId=console_key)["KeyMetadata"]["KeyId"] == console_key
    picture = architecture_for(account=account, snapshot=engine_snapshot(account=account))
    assert {row.key_id for row in picture.keys} >= {key_id, console_key}


def test_analyst_keys_sign_as_the_analyst(kms_client, analyst_client, account):
    key_id = kms_client.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as caught:
        analyst_client.encrypt(KeyId=key_id, Plaintext=b"x")
    assert error_code(caught) == "AccessDeniedException"
    assert f"arn:aws:iam::{account.account_id}:user/analyst" in str(caught.value)
    kms_client.create_grant(
        KeyId=key_id,
        GranteePrincipal=f"arn:aws:iam::{account.account_id}:user/analyst",
        Operations=["Encrypt"],
    )
    assert analyst_client.encrypt(KeyId=key_id, Plaintext=b"x")["KeyId"].endswith(key_id)


def test_blobs_travel_as_base64_on_the_wire(kms_client):
    key_id = kms_client.create_key()["KeyMetadata"]["KeyId"]
    random_bytes = kms_client.generate_random(NumberOfBytes=24)["Plaintext"]
    assert len(random_bytes) == 24
    blob = kms_client.encrypt(KeyId=key_id, Plaintext=random_bytes)["CiphertextBlob"]
    assert base64.b64encode(blob)
    assert kms_client.decrypt(CiphertextBlob=blob)["Plaintext"] == random_bytes


def test_a_boto3_loop_of_keys_fits_the_default_quota_and_a_staff_quota_still_answers(
    kms_client, account
):
    assert account.max_kms_keys == 500  # "in the hundreds": a learner's loop hits no wall at 25
    for number in range(30):
        kms_client.create_key(Description=f"loop {number}")
    assert len(kms_client.list_keys(Limit=1000)["Keys"]) == 30
    account.max_kms_keys = 30  # staff lowered it in the admin
    account.save(update_fields=["max_kms_keys"])
    with pytest.raises(ClientError) as caught:
        kms_client.create_key(Description="one too many")
    assert error_code(caught) == "LimitExceededException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_bring_your_own_key_material_through_boto3(kms_client):
    import os

    from cryptography.hazmat.primitives import keywrap

    key_id = kms_client.create_key(Origin="EXTERNAL", Description="byok")["KeyMetadata"]["KeyId"]
    assert kms_client.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    parameters = kms_client.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256", WrappingKeySpec="RSA_3072"
    )
    public = serialization.load_der_public_key(parameters["PublicKey"])
    material, aes_key = os.urandom(32), os.urandom(32)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    wrapped = public.encrypt(aes_key, oaep) + keywrap.aes_key_wrap_with_padding(aes_key, material)
    kms_client.import_key_material(
        KeyId=key_id,
        ImportToken=parameters["ImportToken"],
        EncryptedKeyMaterial=wrapped,
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    blob = kms_client.encrypt(KeyId=key_id, Plaintext=b"mine")["CiphertextBlob"]
    kms_client.delete_imported_key_material(KeyId=key_id)
    with pytest.raises(ClientError) as caught:
        kms_client.decrypt(CiphertextBlob=blob)
    assert error_code(caught) == "KMSInvalidStateException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409

    again = kms_client.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )
    with pytest.raises(ClientError) as caught:  # a token for the wrong key
        kms_client.import_key_material(
            KeyId=key_id,
            ImportToken=parameters["ImportToken"] + b"x",
            EncryptedKeyMaterial=wrapped,
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )
    assert error_code(caught) == "InvalidImportTokenException"
    rewrapped = serialization.load_der_public_key(again["PublicKey"]).encrypt(material, oaep)
    kms_client.import_key_material(
        KeyId=key_id,
        ImportToken=again["ImportToken"],
        EncryptedKeyMaterial=rewrapped,
        ValidTo=dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
    )
    assert kms_client.decrypt(CiphertextBlob=blob)["Plaintext"] == b"mine"
    metadata = kms_client.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert metadata["ValidTo"] > dt.datetime.now(dt.UTC) + dt.timedelta(days=29)


def test_a_multi_region_key_replicated_to_the_second_region_decrypts_there(
    live_server, kms_client, credentials, account
):
    key = kms_client.create_key(MultiRegion=True, Description="global")["KeyMetadata"]
    assert key["KeyId"].startswith("mrk-") and key["MultiRegion"] is True
    blob = kms_client.encrypt(KeyId=key["KeyId"], Plaintext=b"one key, two Regions")[
        "CiphertextBlob"
    ]
    replica = kms_client.replicate_key(KeyId=key["KeyId"], ReplicaRegion="us-west-2")
    assert replica["ReplicaKeyMetadata"]["Arn"].startswith("arn:aws:kms:us-west-2:")
    west = make_kms_client(live_server.url, *credentials, region="us-west-2")
    assert west.decrypt(CiphertextBlob=blob)["Plaintext"] == b"one key, two Regions"
    with pytest.raises(ClientError) as caught:
        kms_client.replicate_key(KeyId=key["KeyId"], ReplicaRegion="us-east-1")
    assert error_code(caught) == "ValidationException"
    with pytest.raises(ClientError) as caught:
        kms_client.replicate_key(KeyId=key["KeyId"], ReplicaRegion="eu-west-1")
    assert error_code(caught) == "UnsupportedOperationException"
    kms_client.update_primary_region(KeyId=key["KeyId"], PrimaryRegion="us-west-2")
    described = west.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert described["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    # The architecture view draws the second Region with its copy.
    architecture = architecture_for(account=account, snapshot=engine_snapshot(account=account))
    assert [(row.region, row.multi_region) for row in architecture.replicas] == [
        ("us-west-2", "PRIMARY")
    ]
    assert architecture.keys[-1].multi_region == "REPLICA"
    with pytest.raises(ClientError) as caught:
        make_kms_client(live_server.url, *credentials, region="eu-west-1").list_keys()
    assert error_code(caught) == "InvalidSignatureException"
    west.close()


@pytest.mark.logs_errors  # KeyUnavailableException is a 500, as in AWS: Django logs it
def test_an_external_key_store_through_boto3_double_encrypts(kms_client, account):
    from sandbox.services import sandbox_call

    def prepare(engine):
        engine.xks.create_key("bank-key")
        return engine.xks.credential()

    access_key_id, secret = sandbox_call(account=account, action=prepare)
    store_id = kms_client.create_custom_key_store(
        CustomKeyStoreName="bank",
        CustomKeyStoreType="EXTERNAL_KEY_STORE",
        XksProxyUriEndpoint="https://xks.sandbox.internal",
        XksProxyUriPath="/kms/xks/v1",
        XksProxyConnectivity="PUBLIC_ENDPOINT",
        XksProxyAuthenticationCredential={
            "AccessKeyId": access_key_id,
            "RawSecretAccessKey": secret,
        },
    )["CustomKeyStoreId"]
    kms_client.connect_custom_key_store(CustomKeyStoreId=store_id)
    store = kms_client.describe_custom_key_stores(CustomKeyStoreId=store_id)["CustomKeyStores"][0]
    assert store["ConnectionState"] == "CONNECTED"
    assert store["XksProxyConfiguration"]["AccessKeyId"] == access_key_id
    key = kms_client.create_key(
        Origin="EXTERNAL_KEY_STORE", CustomKeyStoreId=store_id, XksKeyId="bank-key"
    )["KeyMetadata"]
    assert key["XksKeyConfiguration"] == {"Id": "bank-key"}
    blob = kms_client.encrypt(KeyId=key["KeyId"], Plaintext=b"both keys")["CiphertextBlob"]
    assert kms_client.decrypt(CiphertextBlob=blob)["Plaintext"] == b"both keys"
    sandbox_call(account=account, action=lambda engine: engine.xks.set_mode("unreachable"))
    with pytest.raises(ClientError) as caught:
        kms_client.decrypt(CiphertextBlob=blob)
    assert error_code(caught) == "KeyUnavailableException"
    with pytest.raises(ClientError) as caught:
        kms_client.create_custom_key_store(
            CustomKeyStoreName="other",
            CustomKeyStoreType="EXTERNAL_KEY_STORE",
            XksProxyUriEndpoint="https://xks.sandbox.internal",
            XksProxyUriPath="/other/kms/xks/v1",
            XksProxyConnectivity="PUBLIC_ENDPOINT",
            XksProxyAuthenticationCredential={
                "AccessKeyId": access_key_id,
                "RawSecretAccessKey": secret,
            },
        )
    assert error_code(caught) == "XksProxyUriUnreachableException"
