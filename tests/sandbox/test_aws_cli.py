"""The real AWS CLI (``.venv/bin/aws``) against the live test server, as a learner runs it."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

AWS = str(Path(sys.executable).parent / "aws")


def cli_for(live_server, credentials, tmp_path, endpoint_path: str, service: str):
    """The real AWS CLI for ``service`` against the sandbox endpoint at ``endpoint_path``."""
    access_key_id, secret = credentials
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": access_key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_PAGER": "",
    }
    endpoint = live_server.url + endpoint_path

    def run(*args: str, ok: bool = True, **overrides: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [AWS, "--endpoint-url", endpoint, service, *args],
            env={**env, **overrides},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (done.returncode == 0) is ok, done.stderr
        return done

    return run


@pytest.fixture
def aws(live_server, credentials, tmp_path):
    return cli_for(live_server, credentials, tmp_path, "/sandbox/kms/", "kms")


@pytest.fixture
def s3api(live_server, credentials, tmp_path):
    return cli_for(live_server, credentials, tmp_path, "/sandbox/s3", "s3api")


def test_create_encrypt_and_decrypt_with_context(aws, tmp_path, account):
    key = json.loads(aws("create-key", "--description", "from the CLI").stdout)["KeyMetadata"]
    assert key["Arn"].startswith(f"arn:aws:kms:us-east-1:{account.account_id}:key/")
    (tmp_path / "plain.txt").write_bytes(b"secret notes\n")
    blob = aws(
        "encrypt",
        "--key-id",
        key["KeyId"],
        "--plaintext",
        "fileb://plain.txt",
        "--encryption-context",
        "dept=hr,app=notes",
        "--output",
        "text",
        "--query",
        "CiphertextBlob",
    ).stdout
    (tmp_path / "notes.enc").write_bytes(base64.b64decode(blob))
    plain = aws(
        "decrypt",
        "--ciphertext-blob",
        "fileb://notes.enc",
        "--encryption-context",
        '{"app": "notes", "dept": "hr"}',
        "--output",
        "text",
        "--query",
        "Plaintext",
    ).stdout
    assert base64.b64decode(plain) == b"secret notes\n"
    wrong = aws(
        "decrypt",
        "--ciphertext-blob",
        "fileb://notes.enc",
        "--encryption-context",
        "dept=finance",
        ok=False,
    )
    assert "An error occurred (InvalidCiphertextException) when calling the Decrypt operation" in (
        wrong.stderr
    )


def test_data_keys_from_the_cli(aws):
    key_id = json.loads(aws("create-key").stdout)["KeyMetadata"]["KeyId"]
    data_key = json.loads(
        aws("generate-data-key", "--key-id", key_id, "--key-spec", "AES_256").stdout
    )
    assert len(base64.b64decode(data_key["Plaintext"])) == 32
    assert data_key["KeyId"].endswith(key_id)


def test_signing_and_verifying_from_the_cli(aws, tmp_path):
    key_id = json.loads(
        aws("create-key", "--key-spec", "ECC_NIST_P256", "--key-usage", "SIGN_VERIFY").stdout
    )["KeyMetadata"]["KeyId"]
    (tmp_path / "release.txt").write_bytes(b"v1.0.0")
    signature = aws(
        "sign",
        "--key-id",
        key_id,
        "--message",
        "fileb://release.txt",
        "--signing-algorithm",
        "ECDSA_SHA_256",
        "--output",
        "text",
        "--query",
        "Signature",
    ).stdout
    (tmp_path / "release.sig").write_bytes(base64.b64decode(signature))
    verified = json.loads(
        aws(
            "verify",
            "--key-id",
            key_id,
            "--message",
            "fileb://release.txt",
            "--signature",
            "fileb://release.sig",
            "--signing-algorithm",
            "ECDSA_SHA_256",
        ).stdout
    )
    assert verified["SignatureValid"] is True


def test_cli_errors_name_the_aws_exception(aws, account):
    missing = aws("describe-key", "--key-id", "alias/nothing-here", ok=False)
    assert "(NotFoundException) when calling the DescribeKey operation" in missing.stderr
    unknown = aws("list-keys", ok=False, AWS_ACCESS_KEY_ID="AKIA0000000000000000")
    assert "UnrecognizedClientException" in unknown.stderr
    bad = aws("list-keys", ok=False, AWS_SECRET_ACCESS_KEY="x" * 40)
    assert "InvalidSignatureException" in bad.stderr


def test_import_key_material_the_way_the_aws_docs_show_with_openssl(aws, tmp_path):
    """GetParametersForImport, wrap with `openssl pkeyutl` (RSAES_OAEP_SHA_256), import."""
    key_id = json.loads(aws("create-key", "--origin", "EXTERNAL").stdout)["KeyMetadata"]["KeyId"]
    parameters = json.loads(
        aws(
            "get-parameters-for-import",
            "--key-id",
            key_id,
            "--wrapping-algorithm",
            "RSAES_OAEP_SHA_256",
            "--wrapping-key-spec",
            "RSA_2048",
        ).stdout
    )
    (tmp_path / "token.bin").write_bytes(base64.b64decode(parameters["ImportToken"]))
    (tmp_path / "public.der").write_bytes(base64.b64decode(parameters["PublicKey"]))
    subprocess.run(["openssl", "rand", "-out", "material.bin", "32"], cwd=tmp_path, check=True)
    subprocess.run(
        [
            "openssl", "pkeyutl", "-encrypt", "-in", "material.bin", "-out", "wrapped.bin",
            "-inkey", "public.der", "-keyform", "DER", "-pubin",
            "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256",
            "-pkeyopt", "rsa_mgf1_md:sha256",
        ],
        cwd=tmp_path,
        check=True,
    )  # fmt: skip
    aws(
        "import-key-material",
        "--key-id",
        key_id,
        "--import-token",
        "fileb://token.bin",
        "--encrypted-key-material",
        "fileb://wrapped.bin",
        "--expiration-model",
        "KEY_MATERIAL_DOES_NOT_EXPIRE",
    )
    state = json.loads(aws("describe-key", "--key-id", key_id).stdout)["KeyMetadata"]
    assert (state["Origin"], state["KeyState"]) == ("EXTERNAL", "Enabled")
    (tmp_path / "plain.txt").write_bytes(b"brought my own key\n")
    blob = aws(
        "encrypt", "--key-id", key_id, "--plaintext", "fileb://plain.txt",
        "--output", "text", "--query", "CiphertextBlob",
    ).stdout.strip()  # fmt: skip
    (tmp_path / "blob.bin").write_bytes(base64.b64decode(blob))
    shown = aws(
        "decrypt", "--ciphertext-blob", "fileb://blob.bin",
        "--output", "text", "--query", "Plaintext",
    ).stdout.strip()  # fmt: skip
    assert base64.b64decode(shown) == b"brought my own key\n"
    refused = aws("import-key-material", "--key-id", key_id, "--import-token",
                  "fileb://token.bin", "--encrypted-key-material", "fileb://token.bin",
                  "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE", ok=False)  # fmt: skip
    assert "InvalidCiphertextException" in refused.stderr


def test_s3api_with_sse_kms_from_the_real_aws_cli(aws, s3api, tmp_path):
    key_arn = json.loads(aws("create-key").stdout)["KeyMetadata"]["Arn"]

    def answer(*args: str) -> dict:
        done = s3api(*args)
        return json.loads(done.stdout) if done.stdout.strip() else {}

    (tmp_path / "q3.csv").write_bytes(b"revenue,42\n")
    answer("create-bucket", "--bucket", "reports")
    put = answer(
        "put-object", "--bucket", "reports", "--key", "q3.csv", "--body", "q3.csv",
        "--server-side-encryption", "aws:kms", "--ssekms-key-id", key_arn,
    )  # fmt: skip
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == key_arn
    got = answer("get-object", "--bucket", "reports", "--key", "q3.csv", "copy.csv")
    assert got["ServerSideEncryption"] == "aws:kms"
    assert (tmp_path / "copy.csv").read_bytes() == b"revenue,42\n"
    head = answer("head-object", "--bucket", "reports", "--key", "q3.csv")
    assert head["ContentLength"] == 11


def test_s3api_bucket_keys_and_sse_c_from_the_real_aws_cli(aws, s3api, tmp_path):
    key_arn = json.loads(aws("create-key").stdout)["KeyMetadata"]["Arn"]
    (tmp_path / "log.txt").write_bytes(b"line\n")
    s3api("create-bucket", "--bucket", "logs")
    put = json.loads(
        s3api(
            "put-object", "--bucket", "logs", "--key", "a.txt", "--body", "log.txt",
            "--server-side-encryption", "aws:kms", "--ssekms-key-id", key_arn,
            "--bucket-key-enabled",
        ).stdout
    )  # fmt: skip
    assert put["BucketKeyEnabled"] is True
    customer_key = "k" * 32  # the AWS CLI base64-encodes it and adds its MD5
    s3api(
        "put-object", "--bucket", "logs", "--key", "c.txt", "--body", "log.txt",
        "--sse-customer-algorithm", "AES256", "--sse-customer-key", customer_key,
    )  # fmt: skip
    s3api(
        "get-object", "--bucket", "logs", "--key", "c.txt",
        "--sse-customer-algorithm", "AES256", "--sse-customer-key", customer_key, "back.txt",
    )  # fmt: skip
    assert (tmp_path / "back.txt").read_bytes() == b"line\n"
    refused = s3api("get-object", "--bucket", "logs", "--key", "c.txt", "x.txt", ok=False)
    assert "InvalidRequest" in refused.stderr
