"""Lab 10: the seed's first decision row made visible. S3 encrypts through KMS natively; it
cannot use a CloudHSM key directly; a KMS key in a custom key store (lab 8) brings the key
material into your HSMs while S3 keeps talking to KMS. Graded from the KMS audit log, where
every call S3 makes for the learner carries ``invokedBy`` s3.amazonaws.com."""

from __future__ import annotations

from ..engine import KmsKey
from .base import Check, Event, Lab, LabState, Step, missing, passed

S3_SERVICE = "s3.amazonaws.com"


def _by_s3(state: LabState, operation: str, *, ok: bool | None = None) -> list[Event]:
    """KMS events that S3 caused on the learner's behalf."""
    return [
        event
        for event in state.kms(operation)
        if event.data.get("invokedBy") == S3_SERVICE and (ok is None or event.ok == ok)
    ]


def _keys_with_origin(state: LabState, origin: str) -> dict[str, KmsKey]:
    return {
        state.key_arn(key.key_id): key for key in state.inventory.kms_keys if key.origin == origin
    }


def _sse_kms(state: LabState) -> Check:
    keys = _keys_with_origin(state, "AWS_KMS")
    for event in _by_s3(state, "GenerateDataKey", ok=True):
        if event.target in keys:
            return passed("S3 called KMS GenerateDataKey for you: the object is under SSE-KMS.")
    return missing("Put an object with --server-side-encryption aws:kms and a KMS key of yours.")


def _read_back(state: LabState) -> Check:
    if _by_s3(state, "Decrypt", ok=True):
        return passed("Reading the object made S3 ask KMS to decrypt its data key.")
    return missing("Get the object back with aws s3api get-object (S3 calls KMS Decrypt).")


def _hsm_key_refused(state: LabState) -> Check:
    for event in _by_s3(state, "GenerateDataKey", ok=False):
        return passed(
            f"S3 asked KMS, and KMS answered {event.result}: S3 talks only to KMS, never to "
            "your HSMs."
        )
    return missing(
        "Try put-object with --ssekms-key-id set to your HSM key's label or handle: S3 can "
        "only name KMS keys."
    )


def _through_key_store(state: LabState) -> Check:
    keys = _keys_with_origin(state, "AWS_CLOUDHSM")
    for event in _by_s3(state, "GenerateDataKey", ok=True):
        if event.target in keys:
            return passed("SSE-KMS with a KMS key whose material lives in your cluster.")
    return missing("Put an object under SSE-KMS with your AWS_CLOUDHSM key (lab 8's store).")


def _found_in_hsm(state: LabState) -> Check:
    keys = _keys_with_origin(state, "AWS_CLOUDHSM")
    used = {
        keys[e.target].key_id for e in _by_s3(state, "GenerateDataKey", ok=True) if e.target in keys
    }
    for event in state.hsm("KeyList", result="ok"):
        filters = event.detail.get("filters") or {}
        if filters.get("label") in used and event.detail.get("found", 0) >= 1:
            return passed("Found the HSM key behind the object's KMS key, labelled with its id.")
    return missing("In the CloudHSM CLI: key list --filter attr.label=<the KMS key id>.")


LAB10 = Lab(
    number=10,
    slug="s3-native-integration",
    title="S3 encrypts through KMS: native integration, and the way to your HSMs",
    service="KMS + CloudHSM",
    summary="Store an object with SSE-KMS, watch S3 call KMS for you, try a CloudHSM key and "
    "see why S3 cannot use it, then do it through a custom key store and find the key in the "
    "HSM.",
    introduction="""\
"Needs AWS integration (RDS, S3) → KMS" is the first row of the decision table. With
**SSE-KMS**, S3 calls KMS *as you* (`GenerateDataKey` to write, `Decrypt` to read, with the
encryption context `aws:s3:arn`) and CloudTrail shows each call with `invokedBy:
s3.amazonaws.com`. S3 has no way to reach a CloudHSM cluster: the only route to key material
in your HSMs is a KMS key in a **custom key store**, which S3 uses like any other KMS key.

This lab needs lab 8's custom key store, **CONNECTED**, and a file to upload (the Files panel
below, for example `q3.csv`).
""",
    steps=(
        Step(
            "sse-kms",
            "Store an object with SSE-KMS",
            "```\naws kms create-key --description s3-lab\naws s3api create-bucket --bucket "
            "reports\naws s3api put-object --bucket reports --key q3.csv --body q3.csv \\\n"
            "    --server-side-encryption aws:kms --ssekms-key-id <key arn>\n```",
            "Then look at the audit log: the GenerateDataKey is yours, invoked by S3.",
            _sse_kms,
        ),
        Step(
            "read-back",
            "Read it back",
            "```\naws s3api get-object --bucket reports --key q3.csv copy.csv\n```",
            "No decryption option: S3 finds the encrypted data key with the object.",
            _read_back,
        ),
        Step(
            "hsm-key",
            "Try a CloudHSM key",
            "```\naws s3api put-object --bucket reports --key hsm.csv --body q3.csv \\\n"
            "    --server-side-encryption aws:kms --ssekms-key-id <your HSM key's label>\n```",
            "S3 passes whatever you name to KMS, and KMS knows only KMS keys.",
            _hsm_key_refused,
        ),
        Step(
            "key-store",
            "Do it through the custom key store",
            "```\naws kms create-key --origin AWS_CLOUDHSM --custom-key-store-id <cks id>\n"
            "aws s3api put-object --bucket reports --key hsm.csv --body q3.csv \\\n"
            "    --server-side-encryption aws:kms --ssekms-key-id <that key's arn>\n```",
            "The store must be CONNECTED (aws kms connect-custom-key-store).",
            _through_key_store,
        ),
        Step(
            "in-the-hsm",
            "Find the key in your HSMs",
            "```\nlogin --username kmsuser --role crypto-user --password <kmsuser password>\n"
            "key list --filter attr.label=<KMS key id>\nlogout\n```",
            "KMS labels the HSM key with the KMS key id.",
            _found_in_hsm,
        ),
    ),
    helpers=("files",),
    exam_tip="S3, EBS and RDS encrypt through **KMS**. To keep such keys in CloudHSM, the "
    "answer is a KMS key in a **CloudHSM key store**, never a direct integration.",
)
