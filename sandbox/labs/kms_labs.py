"""Labs 1-4: KMS basics, envelope encryption, key policies and grants, key lifecycle."""

from __future__ import annotations

from .base import (
    Check,
    Event,
    Lab,
    LabState,
    Step,
    first,
    key_id_of_target,
    missing,
    passed,
)

CRYPTO_OPERATIONS = (
    "Encrypt",
    "Decrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncrypt",
    "Sign",
    "Verify",
    "GenerateMac",
    "VerifyMac",
)


# --- lab 1: KMS basics --------------------------------------------------------------------------


def _symmetric_key_created(state: LabState) -> Check:
    for event in state.kms("CreateKey", result="ok"):
        key_id = key_id_of_target(event.target)
        key = state.inventory.kms_key(key_id)
        if key and key.spec == "SYMMETRIC_DEFAULT" and key.origin == "AWS_KMS":
            return passed(f"Key {key_id} exists (symmetric, origin AWS_KMS).")
    return missing("No symmetric KMS key you created exists yet.")


def _alias_on_symmetric_key(state: LabState) -> Check:
    for alias in state.inventory.aliases:
        key = state.inventory.kms_key(alias.target_key_id)
        if key and key.spec == "SYMMETRIC_DEFAULT":
            return passed(f"{alias.name} points at {key.key_id}.")
    return missing("No alias points at a symmetric key.")


def _encrypt_via_alias_with_context(state: LabState) -> Check:
    for event in state.kms("Encrypt", result="ok"):
        if str(event.params.get("KeyId", "")).startswith("alias/") and event.params.get(
            "EncryptionContext"
        ):
            return passed(f"Encrypt through {event.params['KeyId']} with an encryption context.")
    if state.kms("Encrypt", result="ok"):
        return missing(
            "You encrypted, but not through an alias with an encryption context "
            "(--key-id alias/... --encryption-context k=v)."
        )
    return missing("No successful Encrypt yet.")


def _first_context_encrypt(state: LabState) -> Event | None:
    return first(
        [e for e in state.kms("Encrypt", result="ok") if e.params.get("EncryptionContext")]
    )


def _decrypt_with_context(state: LabState) -> Check:
    encrypted = _first_context_encrypt(state)
    if encrypted is None:
        return missing("Encrypt with an encryption context first.")
    for event in state.kms("Decrypt", result="ok", after=encrypted.seq):
        if event.params.get("EncryptionContext"):
            return passed("Decrypt with the same encryption context returned your plaintext.")
    return missing("No successful Decrypt with an encryption context after your Encrypt.")


def _wrong_context_fails(state: LabState) -> Check:
    encrypted = _first_context_encrypt(state)
    if encrypted is None:
        return missing("Encrypt with an encryption context first.")
    failures = state.kms("Decrypt", result="InvalidCiphertextException", after=encrypted.seq)
    if failures:
        return passed("Decrypt with a different context failed with InvalidCiphertextException.")
    return missing("No Decrypt has failed with InvalidCiphertextException yet.")


LAB1 = Lab(
    number=1,
    slug="kms-basics",
    title="KMS basics: keys, aliases, encryption context",
    service="KMS",
    summary="Create a key and an alias, encrypt and decrypt, and watch a wrong encryption "
    "context fail.",
    introduction="""\
A KMS key never leaves KMS: you send data (up to 4 KB) and KMS encrypts it under the key.
The **encryption context** is a set of key/value pairs bound to the ciphertext as
authenticated data: decrypting needs exactly the same pairs, in any order. It is not secret;
it appears in CloudTrail, which is what makes it useful for auditing.

Use the console on this page (it speaks the AWS CLI), or your own code with the access keys on the
[sandbox page](/sandbox/). Upload small files under *Files* to use `fileb://name`.
""",
    steps=(
        Step(
            "create-key",
            "Create a symmetric encryption key",
            '```\naws kms create-key --description "lab 1"\n```\nNote the `KeyId` in the answer.',
            "The default key spec is `SYMMETRIC_DEFAULT` (AES-256-GCM inside KMS).",
            _symmetric_key_created,
        ),
        Step(
            "alias",
            "Give it an alias",
            "```\naws kms create-alias --alias-name alias/lab1 --target-key-id <KeyId>\n```",
            "Alias names start with `alias/`; `alias/aws/` is reserved for AWS managed keys.",
            _alias_on_symmetric_key,
        ),
        Step(
            "encrypt",
            "Encrypt through the alias with an encryption context",
            "```\naws kms encrypt --key-id alias/lab1 --plaintext SGVsbG8sIEtNUyE= "
            "--encryption-context purpose=lab1 \\\n    --output text --query CiphertextBlob "
            "| base64 --decode > hello.enc\n```\n"
            "`--plaintext` takes base64 text, or `fileb://<file>` for an uploaded file.",
            "Check `ls`: `hello.enc` now holds the ciphertext blob.",
            _encrypt_via_alias_with_context,
        ),
        Step(
            "decrypt",
            "Decrypt it with the same context",
            "```\naws kms decrypt --ciphertext-blob fileb://hello.enc "
            "--encryption-context purpose=lab1 \\\n    --output text --query Plaintext "
            "| base64 --decode\n```",
            "No `--key-id` is needed: a symmetric ciphertext names its key.",
            _decrypt_with_context,
        ),
        Step(
            "wrong-context",
            "See a wrong encryption context fail",
            "```\naws kms decrypt --ciphertext-blob fileb://hello.enc "
            "--encryption-context purpose=other\n```",
            "Expect `InvalidCiphertextException`: KMS never says *which* pair was wrong.",
            _wrong_context_fails,
        ),
    ),
    exam_tip="Encryption context = additional authenticated data; it is logged in CloudTrail, "
    "so never put secrets in it. Mismatch → InvalidCiphertextException.",
)


# --- lab 2: envelope encryption -----------------------------------------------------------------

PACKAGE_SUFFIX = ".envelope.json"


def _uploaded_file(state: LabState) -> Check:
    names = [n for n in state.files if not n.endswith((PACKAGE_SUFFIX, ".decrypted"))]
    if names:
        return passed(f"{len(names)} file(s) uploaded, e.g. {names[0]}.")
    return missing("Upload a file (any file up to 1 MiB) under Files.")


def _data_key_generated(state: LabState) -> Check:
    event = first(state.kms("GenerateDataKey", result="ok"))
    if event is None:
        return missing("No successful GenerateDataKey yet.")
    return passed(f"GenerateDataKey under {event.target}.")


def _package_kept(state: LabState) -> Check:
    for name, package in state.packages.items():
        if package.get("encryptedDataKey") and package.get("ciphertext"):
            return passed(f"{name} keeps the encrypted data key next to the ciphertext.")
    return missing(f"No envelope package (a file ending in {PACKAGE_SUFFIX}) yet.")


def _data_key_decrypted(state: LabState) -> Check:
    generated = first(state.kms("GenerateDataKey", result="ok"))
    if generated is None:
        return missing("Generate a data key first.")
    if state.kms("Decrypt", result="ok", after=generated.seq):
        return passed("KMS decrypted the encrypted data key.")
    return missing("Ask KMS to Decrypt the encrypted data key from your package.")


def _round_trip(state: LabState) -> Check:
    for record in state.snapshot.lab("lab.envelope"):
        if record.get("identical"):
            return passed(
                f"{record['package']} decrypted back to {record['original_name']}, "
                "byte for byte (SHA-256 match)."
            )
    if state.snapshot.lab("lab.envelope"):
        return missing("A package decrypted, but not to bytes identical to the original.")
    return missing("Decrypt a package with the workbench and compare it with the original.")


LAB2 = Lab(
    number=2,
    slug="envelope-encryption",
    title="Envelope encryption before an S3 upload",
    service="KMS",
    summary="GenerateDataKey, encrypt a file locally with AES-GCM, keep the encrypted data key "
    "with it, and decrypt it back byte for byte.",
    introduction="""\
KMS encrypts at most 4 KB. For anything larger (an S3 object, a backup, a video) you use
**envelope encryption**: `GenerateDataKey` returns a fresh AES key twice, once in plaintext
and once encrypted under your KMS key. You encrypt the data locally with the plaintext key,
throw that key away, and store the *encrypted* data key next to the ciphertext. To read the
data, you ask KMS to decrypt the data key, then decrypt locally.

This lab **deliberately shows you the plaintext data key** once, so you can see what your
application holds in memory. Real code never logs or stores it.

The workbench below plays your application (client-side encryption before an S3 upload).
You may also do it in your own code and upload the package; see *Do it with boto3*.
""",
    steps=(
        Step(
            "upload",
            "Upload a file",
            "Use *Files* on this page. Any file up to 1 MiB works.",
            "A text file is easiest to check by eye.",
            _uploaded_file,
        ),
        Step(
            "data-key",
            "Generate a data key",
            "In the workbench pick the file and a symmetric key and press **Generate data key "
            "and encrypt**, or run\n```\naws kms generate-data-key --key-id alias/lab1 "
            "--key-spec AES_256\n```",
            "`Plaintext` is the data key itself; `CiphertextBlob` is the same key encrypted "
            "under your KMS key.",
            _data_key_generated,
        ),
        Step(
            "package",
            "Encrypt the file locally and keep the encrypted data key with it",
            "The workbench encrypts the file with AES-256-GCM using the plaintext data key and "
            f"saves `<file>{PACKAGE_SUFFIX}`: ciphertext, IV and the encrypted data key. "
            "Download it: that is what you would upload to S3.",
            "The package holds no plaintext key: only KMS can open the data key.",
            _package_kept,
        ),
        Step(
            "unwrap",
            "Ask KMS to decrypt the data key",
            "Press **Decrypt package** in the workbench (it calls KMS `Decrypt` on the "
            "encrypted data key), or `aws kms decrypt --ciphertext-blob <encryptedDataKey>`.",
            "Decrypt needs no key id: the encrypted data key names its KMS key.",
            _data_key_decrypted,
        ),
        Step(
            "round-trip",
            "Get the original bytes back",
            "The workbench decrypts the file with the recovered key and compares SHA-256 "
            "digests with the original.",
            "AES-GCM also authenticates: a single flipped bit in the package fails to decrypt.",
            _round_trip,
        ),
    ),
    helpers=("files", "envelope"),
    exam_tip="Envelope encryption: GenerateDataKey (or ...WithoutPlaintext for later use), "
    "encrypt locally, store the encrypted data key with the data; S3 SSE-KMS does this for you.",
    appendix="""\
### Do it with boto3

With [access keys](/sandbox/credentials/) for the account root, this builds the same package
on your machine; upload it under *Files* and decrypt it with the workbench.

```python
import base64, hashlib, json, os
import boto3
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

kms = boto3.client("kms", endpoint_url=ENDPOINT, region_name="us-east-1",
                   aws_access_key_id=AKID, aws_secret_access_key=SECRET)
data = open("report.pdf", "rb").read()
key = kms.generate_data_key(KeyId="alias/lab1", KeySpec="AES_256")
iv = os.urandom(12)
package = {
    "format": "sandbox-envelope/1",
    "keyId": key["KeyId"],
    "encryptionContext": {},
    "encryptedDataKey": base64.b64encode(key["CiphertextBlob"]).decode(),
    "iv": base64.b64encode(iv).decode(),
    "ciphertext": base64.b64encode(AESGCM(key["Plaintext"]).encrypt(iv, data, None)).decode(),
    "originalName": "report.pdf",
    "originalSha256": hashlib.sha256(data).hexdigest(),
}
del key  # drop the plaintext data key as soon as you are done with it
json.dump(package, open("report.pdf.envelope.json", "w"))
```
""",
)


# --- lab 3: key policies and grants -------------------------------------------------------------


def _analyst_denied(state: LabState) -> Check:
    event = first(state.kms(result="AccessDeniedException", principal=state.analyst_arn))
    if event is None:
        return missing("The analyst has not been denied yet: try a call as the analyst.")
    return passed(f"{event.operation} by analyst: AccessDeniedException.")


def _analyst_grants(state: LabState) -> list[Event]:
    return [
        e
        for e in state.kms("CreateGrant", result="ok")
        if e.params.get("GranteePrincipal") == state.analyst_arn
        and "Encrypt" in (e.params.get("Operations") or [])
    ]


def _grant_created(state: LabState) -> Check:
    grants = _analyst_grants(state)
    if not grants:
        return missing("No grant for the analyst that allows Encrypt.")
    return passed(f"Grant {grants[0].detail.get('grantId', '')} lets the analyst encrypt.")


def _grant_used(state: LabState) -> Check:
    for event in state.kms("Encrypt", result="ok", principal=state.analyst_arn):
        if event.detail.get("grantId"):
            return passed(f"The analyst encrypted thanks to grant {event.detail['grantId']}.")
    return missing("The analyst has not encrypted through a grant yet.")


def _grant_retired(state: LabState) -> Check:
    grant_ids = {e.detail.get("grantId") for e in _analyst_grants(state)}
    for event in state.kms(("RetireGrant", "RevokeGrant"), result="ok"):
        if event.params.get("GrantId") in grant_ids or event.detail.get("grantId") in grant_ids:
            return passed(f"{event.operation} removed the analyst's grant.")
    if state.kms(("RetireGrant", "RevokeGrant"), result="ok"):
        return passed("A grant was retired or revoked.")
    return missing("Retire (or revoke) the analyst's grant.")


def _explicit_deny(state: LabState) -> Check:
    for event in state.kms(result="AccessDeniedException", principal=state.analyst_arn):
        if "explicit deny" in event.message:
            return passed(f"{event.operation} by analyst: denied by an explicit Deny.")
    return missing("No call has been refused by an explicit Deny statement yet.")


LAB3 = Lab(
    number=3,
    slug="policies-and-grants",
    title="Key policies and grants",
    service="KMS",
    summary="A second principal is denied, a grant lets it encrypt, the grant is retired, and "
    "an explicit Deny wins, with the policy trace of every decision.",
    introduction="""\
Every KMS key has exactly one **key policy** (named `default`). In AWS a statement naming
the account root delegates to IAM; this sandbox has no IAM policies, so a root statement
allows the root only. You act as the account **root**; the second principal is the IAM user
**analyst** of your account (`arn:aws:iam::<account>:user/analyst`).

**Grants** delegate a subset of operations on one key to one principal, without editing the
policy, and can be retired by the grantee or revoked by an administrator. An **explicit
Deny** in the key policy beats every Allow and every grant.

Act as the analyst with the *Try as the analyst* panel (it shows the policy trace), with
`--profile analyst` in the console, or with analyst access keys from the sandbox page.
""",
    steps=(
        Step(
            "denied",
            "The analyst is denied",
            "Pick one of your keys and try **Encrypt** as the analyst, or\n```\naws kms encrypt "
            "--profile analyst --key-id <KeyId> --plaintext SGk=\n```",
            "The default key policy names only the account root.",
            _analyst_denied,
        ),
        Step(
            "grant",
            "Grant the analyst Encrypt",
            "```\naws kms create-grant --key-id <KeyId> --grantee-principal "
            "arn:aws:iam::<account>:user/analyst \\\n    --operations Encrypt "
            "--retiring-principal arn:aws:iam::<account>:user/analyst\n```",
            "The answer holds a `GrantId` and a `GrantToken`.",
            _grant_created,
        ),
        Step(
            "grant-used",
            "The analyst encrypts through the grant",
            "Try Encrypt as the analyst again: the trace now names the grant.",
            "Grants are evaluated after the key policy found no explicit Deny.",
            _grant_used,
        ),
        Step(
            "grant-retired",
            "Retire the grant",
            "```\naws kms retire-grant --profile analyst --key-id <KeyId> --grant-id <GrantId>\n"
            "```\n(or `aws kms revoke-grant --key-id <KeyId> --grant-id <GrantId>` as root).",
            "The retiring principal (or the grantee) retires; key administrators revoke.",
            _grant_retired,
        ),
        Step(
            "explicit-deny",
            "An explicit Deny wins",
            "Upload a policy that keeps root's access, allows the analyst `kms:Encrypt` and "
            "denies it `kms:Encrypt` too (see the example below), apply it with\n```\naws kms "
            "put-key-policy --key-id <KeyId> --policy-name default --policy "
            "file://policy.json\n```\nthen try Encrypt as the analyst.",
            "Evaluation order: explicit Deny → Allow (policy) → grants → implicit deny.",
            _explicit_deny,
        ),
    ),
    helpers=("files", "analyst"),
    exam_tip="Deny beats Allow; grants are for temporary, programmatic delegation (AWS "
    "services use them); a key policy must let someone administer the key (lockout check).",
    appendix="""\
### An example policy with an explicit Deny

Save it under *Files* as `policy.json` (replace `111122223333` with your account id). The
first statement keeps the root in control: without it the policy lockout safety check
refuses the change.

```json
{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "RootAdmin", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
     "Action": "kms:*", "Resource": "*"},
    {"Sid": "AnalystMayEncrypt", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:user/analyst"},
     "Action": "kms:Encrypt", "Resource": "*"},
    {"Sid": "ButNotReally", "Effect": "Deny",
     "Principal": {"AWS": "arn:aws:iam::111122223333:user/analyst"},
     "Action": "kms:Encrypt", "Resource": "*"}
  ]
}
```
""",
)


# --- lab 4: key lifecycle -----------------------------------------------------------------------


def _disabled_refused(state: LabState) -> Check:
    for disabled in state.kms("DisableKey", result="ok"):
        for event in state.kms(result="DisabledException", after=disabled.seq):
            if event.target == disabled.target:
                return passed(f"{event.operation} on a disabled key: DisabledException.")
    if state.kms("DisableKey", result="ok"):
        return missing("Now try to encrypt with the disabled key.")
    return missing("Disable a key first.")


def _enabled_again(state: LabState) -> Check:
    for disabled in state.kms("DisableKey", result="ok"):
        for event in state.kms("EnableKey", result="ok", after=disabled.seq):
            if event.target == disabled.target:
                return passed("The key was enabled again.")
    return missing("Enable the disabled key again.")


def _rotation_keeps_old_ciphertexts(state: LabState) -> Check:
    rotations = state.kms("RotateKeyOnDemand", result="ok") + state.kms(
        "RotateKey", result="Success", principal="kms.amazonaws.com"
    )
    if not rotations:
        return missing("Rotate a key (rotate-key-on-demand, or enable rotation and fast-forward).")
    for rotation in rotations:
        before = [
            e
            for e in state.kms("Encrypt", result="ok")
            if e.seq < rotation.seq and e.target == rotation.target
        ]
        after = [
            e
            for e in state.kms("Decrypt", result="ok", after=rotation.seq)
            if e.target == rotation.target
        ]
        if before and after:
            return passed("A ciphertext from before the rotation still decrypted after it.")
    return missing(
        "Encrypt before rotating, rotate, then decrypt the old ciphertext with the same key."
    )


def _pending_deletion_refused(state: LabState) -> Check:
    for scheduled in state.kms("ScheduleKeyDeletion", result="ok"):
        for event in state.kms(result="KMSInvalidStateException", after=scheduled.seq):
            if event.target == scheduled.target:
                return passed("A key pending deletion refused to work (KMSInvalidStateException).")
    if state.kms("ScheduleKeyDeletion", result="ok"):
        return missing("Try to use the key while it is pending deletion.")
    return missing("Schedule a key for deletion.")


def _cancelled(state: LabState) -> Check:
    for cancelled in state.kms("CancelKeyDeletion", result="ok"):
        for event in state.kms("EnableKey", result="ok", after=cancelled.seq):
            if event.target == cancelled.target:
                return passed("Deletion cancelled; the key came back Disabled and you enabled it.")
        return missing("CancelKeyDeletion leaves the key Disabled: enable it again.")
    return missing("Cancel a scheduled deletion.")


def _deleted_by_clock(state: LabState) -> Check:
    event = first(state.kms("DeleteKey", principal="kms.amazonaws.com"))
    if event is None:
        return missing(
            "Schedule a key for deletion with a 7-day window and fast-forward the clock 7 days."
        )
    return passed(f"The waiting period ended and KMS deleted {event.target}.")


LAB4 = Lab(
    number=4,
    slug="key-lifecycle",
    title="Key lifecycle: disable, rotate, delete",
    service="KMS",
    summary="Disable and enable a key, rotate it while old ciphertexts still decrypt, schedule "
    "deletion on the simulated clock and cancel it.",
    introduction="""\
KMS keys move through states: **Enabled**, **Disabled**, **PendingDeletion** (7 to 30 days,
default 30), and gone. Rotation gives a key new key material but keeps the old versions, so
ciphertexts made before the rotation still decrypt; the key id never changes.

Your sandbox has its own clock. Use the **clock** buttons at the top of the sandbox to
fast-forward days: scheduled deletions complete and automatic rotations happen.
""",
    steps=(
        Step(
            "disable",
            "Disable a key and see it refuse to encrypt",
            "```\naws kms disable-key --key-id <KeyId>\naws kms encrypt --key-id <KeyId> "
            "--plaintext SGk=\n```",
            "Expect `DisabledException`.",
            _disabled_refused,
        ),
        Step(
            "enable",
            "Enable it again",
            "```\naws kms enable-key --key-id <KeyId>\n```",
            "Disabling is reversible; deleting is not.",
            _enabled_again,
        ),
        Step(
            "rotate",
            "Rotate and decrypt an old ciphertext",
            "Encrypt something, then\n```\naws kms rotate-key-on-demand --key-id <KeyId>\n```\n"
            "(or `enable-key-rotation` and fast-forward a year), then decrypt the old "
            "ciphertext.",
            "`aws kms list-key-rotations --key-id <KeyId>` shows the material versions.",
            _rotation_keeps_old_ciphertexts,
        ),
        Step(
            "schedule",
            "Schedule deletion and see the key refuse work",
            "```\naws kms schedule-key-deletion --key-id <KeyId> --pending-window-in-days 7\n```\n"
            "then try to encrypt with it.",
            "A key pending deletion answers `KMSInvalidStateException`.",
            _pending_deletion_refused,
        ),
        Step(
            "cancel",
            "Cancel the deletion",
            "```\naws kms cancel-key-deletion --key-id <KeyId>\naws kms enable-key --key-id "
            "<KeyId>\n```",
            "After cancelling, the key is **Disabled**, not Enabled.",
            _cancelled,
        ),
        Step(
            "deleted",
            "Let the clock delete a key",
            "Schedule another key for deletion with `--pending-window-in-days 7`, then press "
            "**+7 days** on the sandbox clock and run any command.",
            "When the window ends, KMS deletes the key and its material for good.",
            _deleted_by_clock,
        ),
    ),
    exam_tip="Deletion waits 7–30 days and is irreversible; prefer disabling. Automatic "
    "rotation keeps old material, so old ciphertexts still decrypt.",
)
