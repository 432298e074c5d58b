"""The console: the AWS CLI's syntax parsed from botocore's model, CloudHSM CLI, helpers."""

from __future__ import annotations

import base64
import json
import re
import shlex

import pytest

from sandbox import aws_cli, aws_cli_output
from sandbox.console import SHOWN_ONCE, redact_command
from sandbox.models import SandboxFile
from sandbox.services import file_save

from .conftest import run

FILES = {"hello.txt": b"hello", "policy.json": b'{"Version": "2012-10-17"}'}


def read(name: str) -> bytes:
    if name not in FILES:
        raise FileNotFoundError(name)
    return FILES[name]


def parse(line: str) -> aws_cli.AwsCliCall:
    return aws_cli.parse(shlex.split(line), read_file=read)


# --- parsing, no database ---------------------------------------------------------------------


def test_kebab_case_commands_and_options_map_to_the_operation():
    call = parse("kms encrypt --key-id alias/x --plaintext fileb://hello.txt")
    assert call.operation == "Encrypt"
    assert call.params == {"KeyId": "alias/x", "Plaintext": base64.b64encode(b"hello").decode()}


def test_every_kms_operation_has_a_command():
    commands = aws_cli.command_map("kms")
    assert commands["generate-data-key-pair-without-plaintext"] == (
        "GenerateDataKeyPairWithoutPlaintext"
    )
    assert len(commands) == len(aws_cli.service_model("kms").operation_names)


def test_encryption_context_as_shorthand_or_json():
    short = parse("kms decrypt --ciphertext-blob aGk= --encryption-context a=1,b=2")
    as_json = parse(
        'kms decrypt --ciphertext-blob aGk= --encryption-context \'{"a": "1", "b": "2"}\''
    )
    assert (
        short.params["EncryptionContext"]
        == as_json.params["EncryptionContext"]
        == {
            "a": "1",
            "b": "2",
        }
    )


def test_lists_structures_integers_and_boolean_flags():
    grant = parse(
        "kms create-grant --key-id k --grantee-principal arn:aws:iam::111122223333:user/a "
        "--operations Encrypt Decrypt --constraints EncryptionContextSubset={dept=hr}"
    )
    assert grant.params["Operations"] == ["Encrypt", "Decrypt"]
    assert grant.params["Constraints"] == {"EncryptionContextSubset": {"dept": "hr"}}
    key = parse(
        "kms create-key --tags TagKey=team,TagValue=sec TagKey=env,TagValue=lab --no-multi-region"
    )
    assert key.params["Tags"] == [
        {"TagKey": "team", "TagValue": "sec"},
        {"TagKey": "env", "TagValue": "lab"},
    ]
    assert key.params["MultiRegion"] is False
    assert parse("kms list-keys --limit 5").params == {"Limit": 5}
    assert parse(
        "kms create-grant --key-id k --grantee-principal p --operations Sign,Verify --dry-run"
    ).params["DryRun"]


def test_file_reads_text_and_global_options_are_kept_apart():
    call = parse(
        "kms put-key-policy --key-id k --policy-name default --policy file://policy.json "
        "--output text --query Policy --region us-east-1 --profile analyst"
    )
    assert call.params["Policy"] == '{"Version": "2012-10-17"}'
    assert (call.output, call.query, call.region, call.profile) == (
        "text",
        "Policy",
        "us-east-1",
        "analyst",
    )


def test_cloudhsmv2_commands_parse_from_their_own_model():
    call = parse("cloudhsmv2 create-cluster --hsm-type hsm2m.medium --subnet-ids subnet-1 subnet-2")
    assert call.operation == "CreateCluster"
    assert call.params == {"HsmType": "hsm2m.medium", "SubnetIds": ["subnet-1", "subnet-2"]}
    filtered = parse("cloudhsmv2 describe-clusters --filters clusterIds=cluster-abc")
    assert filtered.params == {"Filters": {"clusterIds": ["cluster-abc"]}}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("kms encrpyt --key-id x", "Did you mean 'encrypt'?"),
        ("kms encrypt --key-id x", "the following arguments are required: --plaintext"),
        ("kms encrypt --key-id x --plaintext aGk= --bogus 1", "Unknown options: --bogus"),
        ("kms encrypt --key-id x --plaintext not-base64!", "Invalid base64"),
        ("kms encrypt --key-id x --plaintext fileb://missing.bin", "No such file or directory"),
        ("kms list-keys --limit many", "invalid int value"),
        ("kms decrypt --ciphertext-blob aGk= --encryption-context '{bad'", "Invalid JSON"),
        ("s3 ls", "Invalid choice 's3'"),
        ("kms create-key --key-usage SIGN_ONLY", "Valid values"),
        ("kms list-keys --output yaml-ish", "--output: Invalid choice"),
    ],
)
def test_bad_command_lines_get_the_cli_s_own_kind_of_message(line, message):
    with pytest.raises(aws_cli.CliUsageError, match=None) as caught:
        parse(line)
    assert message in str(caught.value)


def test_help_lists_commands_and_options():
    with pytest.raises(aws_cli.CliUsageError) as caught:
        parse("kms help")
    assert "generate-data-key" in str(caught.value)
    assert parse("kms encrypt help").help_requested
    assert "--plaintext" in aws_cli.operation_help("kms", "Encrypt")


def test_text_output_follows_the_cli_layout():
    text = aws_cli_output.format_text(
        {"Keys": [{"KeyId": "a", "KeyArn": "arn-a"}], "Truncated": False}
    )
    assert text.splitlines() == ["False", "KEYS\tarn-a\ta"]


def test_passwords_are_redacted_from_history():
    assert redact_command("login --username a --role admin --password 's3cret pw'") == (
        "login --username a --role admin --password ********"
    )
    assert "hunter22" not in redact_command(
        "aws kms create-custom-key-store --key-store-password=hunter22 --custom-key-store-name x"
    )


# --- running commands against the engine -------------------------------------------------------

uses_db = pytest.mark.django_db


@uses_db
def test_kms_commands_answer_like_the_cli(account):
    created = json.loads(run(account, "aws kms create-key --description demo").output)
    key_id = created["KeyMetadata"]["KeyId"]
    assert created["KeyMetadata"]["CreationDate"].startswith("20")  # ISO 8601, as CLI v2 prints
    run(account, f"aws kms create-alias --alias-name alias/demo --target-key-id {key_id}")
    blob = run(
        account,
        "aws kms encrypt --key-id alias/demo --plaintext aGVsbG8= --encryption-context a=b "
        "--output text --query CiphertextBlob",
    ).output
    plain = run(
        account,
        f"aws kms decrypt --ciphertext-blob {blob} --encryption-context a=b "
        "--output text --query Plaintext",
    ).output
    assert base64.b64decode(plain) == b"hello"
    failed = run(account, f"aws kms decrypt --ciphertext-blob {blob}", ok=False)
    assert failed.output.startswith(
        "An error occurred (InvalidCiphertextException) when calling the Decrypt operation: "
    )


@uses_db
def test_pipes_and_redirects_from_the_aws_documentation(account):
    file_save(account=account, name="hello.txt", content=b"hello, sandbox")
    run(account, "aws kms create-key --description pipes")
    run(
        account,
        "aws kms create-alias --alias-name alias/p --target-key-id "
        + json.loads(run(account, "aws kms list-keys").output)["Keys"][0]["KeyId"],
    )
    wrote = run(
        account,
        "aws kms encrypt --key-id alias/p --plaintext fileb://hello.txt --output text "
        "--query CiphertextBlob | base64 --decode > hello.enc",
    )
    assert "Wrote" in wrote.output
    assert SandboxFile.objects.filter(account=account, name="hello.enc").exists()
    shown = run(
        account,
        "aws kms decrypt --ciphertext-blob fileb://hello.enc --output text --query Plaintext "
        "| base64 --decode",
    )
    assert shown.output == "hello, sandbox"
    assert run(account, "ls").output.count("hello") == 2
    assert "Only" in run(account, "aws kms list-keys | grep x", ok=False).output


@uses_db
def test_plaintext_data_keys_are_shown_once_and_not_kept(account):
    key_id = json.loads(run(account, "aws kms create-key").output)["KeyMetadata"]["KeyId"]
    result = run(account, f"aws kms generate-data-key --key-id {key_id} --key-spec AES_256")
    assert len(base64.b64decode(json.loads(result.output)["Plaintext"])) == 32
    assert SHOWN_ONCE in result.stored_output
    assert json.loads(result.stored_output)["Plaintext"] == SHOWN_ONCE
    assert json.loads(result.stored_output)["CiphertextBlob"]


@uses_db
def test_profiles_regions_and_unknown_commands(account):
    key_id = json.loads(run(account, "aws kms create-key").output)["KeyMetadata"]["KeyId"]
    denied = run(account, f"aws kms describe-key --key-id {key_id} --profile analyst", ok=False)
    assert "AccessDeniedException" in denied.output
    assert "could not be found" in run(account, "aws kms list-keys --profile bob", ok=False).output
    assert (
        "lives in us-east-1"
        in run(account, "aws kms list-keys --region eu-west-1", ok=False).output
    )
    assert "command not found" in run(account, "sudo rm -rf /", ok=False).output
    assert "Could not parse" in run(account, "aws kms encrypt --plaintext 'oops", ok=False).output
    assert "help" in run(account, "help").output


@uses_db
def test_an_unimplemented_operation_answers_with_an_aws_error(account):
    answer = run(
        account,
        "aws kms derive-shared-secret --key-id x --key-agreement-algorithm ECDH --public-key AA==",
        ok=False,
    )
    assert answer.output.startswith("An error occurred (UnknownOperationException)")
    backup = run(account, "aws cloudhsmv2 delete-backup --backup-id b-1", ok=False)
    assert "does not emulate DeleteBackup" in backup.output


@uses_db
def test_cloudhsm_cli_without_a_cluster_explains_what_to_do(account):
    answer = run(account, "login --username admin --role admin --password x", ok=False)
    assert "create-cluster" in answer.output
    assert "cluster activate" in run(account, "cloudhsm-cli help").output


@uses_db
def test_cloudhsm_cli_remembers_its_session_between_commands(account):
    from .conftest import ADMIN_PASSWORD, build_active_cluster

    build_active_cluster(account, hsms_in=("us-east-1a", "us-east-1b"))
    run(account, f"login --username admin --role admin --password {ADMIN_PASSWORD}")
    users = json.loads(run(account, "user list").output)["data"]["users"]
    assert {u["username"] for u in users} >= {"admin", "alice"}
    refused = json.loads(run(account, "key list --filter attr.nope=1", ok=False).output)
    assert refused["error_code"] == 1
    run(account, "logout")
    assert json.loads(run(account, "logout", ok=False).output)["code"] == "CKR_USER_NOT_LOGGED_IN"


@uses_db
def test_history_keeps_commands_without_passwords(client, learner, account):
    client.force_login(learner)
    client.post(
        "/sandbox/console/", {"command": "login --username a --role admin --password pw123456"}
    )
    client.post("/sandbox/console/", {"command": "aws kms list-keys"})
    history = run(account, "history").output
    assert "pw123456" not in history
    assert "--password ********" in history
    assert "aws kms list-keys" in history


@uses_db
def test_quotas_answer_with_the_services_own_errors(account):
    from django.core.exceptions import ValidationError

    from sandbox.engine import sandbox_subnets

    account.max_kms_keys, account.max_clusters, account.max_files = 1, 1, 1
    account.save()
    run(account, "aws kms create-key")
    over = run(account, "aws kms create-key", ok=False)
    assert "(LimitExceededException)" in over.output and "limit of 1 KMS keys" in over.output
    subnets = " ".join(sandbox_subnets(account))
    run(account, f"aws cloudhsmv2 create-cluster --hsm-type hsm2m.medium --subnet-ids {subnets}")
    second = run(
        account,
        f"aws cloudhsmv2 create-cluster --hsm-type hsm2m.medium --subnet-ids {subnets}",
        ok=False,
    )
    assert "(CloudHsmResourceLimitExceededException)" in second.output
    file_save(account=account, name="one.txt", content=b"1")
    with pytest.raises(ValidationError, match="at most 1 files"):
        file_save(account=account, name="two.txt", content=b"2")


@uses_db
def test_a_redirect_to_a_bad_file_name_is_refused(account):
    refused = run(account, "aws kms list-keys > ../escape", ok=False)
    assert refused.output.startswith("../escape:") and "letters, digits" in refused.output
    assert not SandboxFile.objects.filter(account=account).exists()
    assert "needs a file name" in run(account, "aws kms list-keys >", ok=False).output


@pytest.mark.django_db
def test_an_external_key_and_its_import_parameters_from_the_console(account):
    created = json.loads(run(account, "aws kms create-key --origin EXTERNAL").output)
    key_id = created["KeyMetadata"]["KeyId"]
    assert created["KeyMetadata"]["KeyState"] == "PendingImport"
    parameters = json.loads(
        run(
            account,
            f"aws kms get-parameters-for-import --key-id {key_id} "
            "--wrapping-algorithm RSAES_OAEP_SHA_256 --wrapping-key-spec RSA_2048",
        ).output
    )
    assert base64.b64decode(parameters["PublicKey"])[:2] == b"\x30\x82"  # DER SubjectPublicKeyInfo
    refused = run(account, f"aws kms encrypt --key-id {key_id} --plaintext aGk=", ok=False)
    assert "(KMSInvalidStateException)" in refused.output and "pending import" in refused.output


@pytest.mark.django_db
def test_s3api_in_the_console_puts_and_gets_an_object_under_sse_kms(account):
    key_arn = json.loads(run(account, "aws kms create-key").output)["KeyMetadata"]["Arn"]
    file_save(account=account, name="q3.csv", content=b"revenue,42\n")
    run(account, "aws s3api create-bucket --bucket reports")
    put = json.loads(
        run(
            account,
            "aws s3api put-object --bucket reports --key q3.csv --body q3.csv "
            f"--server-side-encryption aws:kms --ssekms-key-id {key_arn}",
        ).output
    )
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == key_arn
    got = json.loads(
        run(account, "aws s3api get-object --bucket reports --key q3.csv copy.csv").output
    )
    assert got["ContentLength"] == 11 and got["LastModified"].startswith("20")
    assert SandboxFile.objects.get(account=account, name="copy.csv").content == b"revenue,42\n"
    listed = run(
        account, "aws s3api list-objects-v2 --bucket reports --query 'Contents[].Key' --output text"
    )
    assert listed.output.strip() == "q3.csv"
    run(
        account,
        "aws s3api put-bucket-encryption --bucket reports --server-side-encryption-configuration "
        + shlex.quote(
            json.dumps(
                {
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": key_arn,
                            },
                            "BucketKeyEnabled": True,
                        }
                    ]
                }
            )
        ),
    )
    rule = json.loads(run(account, "aws s3api get-bucket-encryption --bucket reports").output)
    assert rule["ServerSideEncryptionConfiguration"]["Rules"][0]["BucketKeyEnabled"] is True
    missing = run(account, "aws s3api get-object --bucket nowhere --key x out.bin", ok=False)
    assert "(NoSuchBucket)" in missing.output
    no_outfile = run(account, "aws s3api get-object --bucket reports --key q3.csv", ok=False)
    assert "required: outfile" in no_outfile.output


def test_s3api_get_object_without_outfile_is_a_usage_error():
    with pytest.raises(aws_cli.CliUsageError, match="outfile"):
        parse("s3api get-object --bucket b --key k")
    assert parse("s3api get-object --bucket b --key k out.txt").extras == {"outfile": "out.txt"}


@pytest.mark.django_db
def test_iam_policies_from_the_console_decide_a_users_kms_access_and_explain_access_says_why(
    account,
):
    key_id = json.loads(run(account, "aws kms create-key").output)["KeyMetadata"]["KeyId"]
    refused = run(
        account, f"aws kms encrypt --key-id {key_id} --plaintext aGk= --profile developer", ok=False
    )
    assert "(AccessDeniedException)" in refused.output
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
            }
        ],
    }
    file_save(account=account, name="via-s3.json", content=json.dumps(document).encode())
    run(
        account,
        "aws iam put-user-policy --user-name developer --policy-name via-s3 "
        "--policy-document file://via-s3.json",
    )
    listed = json.loads(run(account, "aws iam list-user-policies --user-name developer").output)
    assert listed["PolicyNames"] == ["via-s3"]

    direct = run(
        account, f"explain-access --profile developer --action kms:Decrypt --key-id {key_id}"
    )
    assert "Verdict: DENIED" in direct.output
    via_s3 = run(
        account,
        f"explain-access --profile developer --action kms:Decrypt --key-id {key_id} --via-service s3",
    )
    assert "allows the account, so the caller's IAM policies count" in via_s3.output
    assert "Verdict: ALLOWED (via S3)" in via_s3.output
    # The same rule, for real: direct use is refused, S3 on the developer's behalf may.
    run(
        account, f"aws kms encrypt --key-id {key_id} --plaintext aGk= --profile developer", ok=False
    )
    assert (
        "(NoSuchEntity)"
        in run(account, "aws iam list-user-policies --user-name mallory", ok=False).output
    )
    assert (
        "(AccessDenied)"
        in run(
            account, "aws iam list-user-policies --user-name developer --profile analyst", ok=False
        ).output
    )
    assert "usage: explain-access" in run(account, "explain-access --key-id x", ok=False).output


@pytest.mark.django_db
def test_a_multi_region_key_from_the_console_is_used_in_the_second_region(account):
    key_id = json.loads(run(account, "aws kms create-key --multi-region").output)["KeyMetadata"][
        "KeyId"
    ]
    run(account, f"aws kms replicate-key --key-id {key_id} --replica-region us-west-2")
    blob = run(
        account,
        f"aws kms encrypt --key-id {key_id} --plaintext aGk= --output text --query CiphertextBlob",
    ).output.strip()
    shown = run(
        account,
        f"aws kms decrypt --ciphertext-blob {blob} --region us-west-2 --output text --query Plaintext",
    )
    assert shown.output.strip() == "aGk="
    elsewhere = run(account, "aws kms list-keys --region eu-west-1", ok=False)
    assert "Could not connect" in elsewhere.output


@pytest.mark.django_db
def test_an_external_key_store_from_the_console_and_the_bank_s_off_switch(account):
    credentials = run(account, "xks-proxy credentials")
    shown = credentials.output
    access_key_id = re.search(r"AccessKeyId: (\S+)", shown).group(1)
    secret = re.search(r"RawSecretAccessKey: (\S+)", shown).group(1)
    run(account, "xks-proxy create-key --key-id bank-1")
    assert "bank-1  ENABLED" in run(account, "xks-proxy list-keys").output
    created = run(
        account,
        "aws kms create-custom-key-store --custom-key-store-name ext "
        "--custom-key-store-type EXTERNAL_KEY_STORE --xks-proxy-connectivity PUBLIC_ENDPOINT "
        "--xks-proxy-uri-endpoint https://xks.sandbox.internal --xks-proxy-uri-path /kms/xks/v1 "
        f"--xks-proxy-authentication-credential AccessKeyId={access_key_id},RawSecretAccessKey={secret}",
    )
    store_id = json.loads(created.output)["CustomKeyStoreId"]
    run(account, f"aws kms connect-custom-key-store --custom-key-store-id {store_id}")
    key_id = json.loads(
        run(
            account,
            f"aws kms create-key --origin EXTERNAL_KEY_STORE --custom-key-store-id {store_id} "
            "--xks-key-id bank-1",
        ).output
    )["KeyMetadata"]["KeyId"]
    blob = run(
        account,
        f"aws kms encrypt --key-id {key_id} --plaintext aGk= --output text --query CiphertextBlob",
    ).output.strip()
    run(account, f"aws kms decrypt --ciphertext-blob {blob}")
    run(account, "xks-proxy disable-key --key-id bank-1")
    refused = run(account, f"aws kms decrypt --ciphertext-blob {blob}", ok=False)
    assert "(KMSInvalidStateException)" in refused.output
    # Neither the proxy secret nor the credential option stays in the console history.
    for result in (credentials, created):
        assert secret not in result.stored_command + result.stored_output
