"""Labs 7 and 8 on the cluster of lab 5: TLS offload with a private CA whose key stays in
the HSM, and a KMS custom key store backed by the cluster."""

from __future__ import annotations

from ..engine import HsmKey, KmsKey
from .base import (
    Check,
    Lab,
    LabState,
    Step,
    first,
    missing,
    passed,
)
from .hsm_labs import NEEDS_CLUSTER

# --- lab 7: TLS offload and a private CA -------------------------------------------------------------


def _ca_key(state: LabState) -> Check:
    for key in state.inventory.token_keys(key_class="private-key"):
        if key.attributes.get("sign"):
            return passed(f"Private key {key.label} can sign, and never leaves the HSM.")
    return missing("Generate a token key pair whose private key can sign.")


def _issued(state: LabState) -> Check:
    records = [r for r in state.snapshot.lab("lab.pki") if r.get("issued")]
    if records and state.hsm("Sign", result="ok"):
        return passed(f"Issued {records[-1]['subject']} with a signature made in the HSM.")
    return missing("Issue a certificate with the Private CA panel.")


def _chain_verified(state: LabState) -> Check:
    for record in state.snapshot.lab("lab.pki"):
        if record.get("verified"):
            return passed("The chain verifies: leaf ← CA, CA self-signed, CA key in the HSM.")
    return missing("Verify the chain with the Private CA panel.")


def _key_by_reference(state: LabState, cluster_id: str, reference: str) -> HsmKey | None:
    for key in state.inventory.hsm_keys:
        if key.cluster_id == cluster_id and key.reference == reference:
            return key
    return None


def _tde_wrap(state: LabState) -> Check:
    for event in state.hsm("KeyWrap", result="ok"):
        cluster_id, _, payload_ref = event.target.rpartition("/")
        wrapping = _key_by_reference(state, cluster_id, str(event.detail.get("wrapping_key")))
        payload = _key_by_reference(state, cluster_id, payload_ref)
        if (
            wrapping is not None
            and wrapping.key_type == "aes"
            and wrapping.token
            and (payload is None or payload.key_type == "aes")
        ):
            return passed("A token AES master key in the HSM wrapped a table key.")
    return missing("Wrap a table key with a token AES master key (key wrap aes-gcm).")


def _tde_unwrap(state: LabState) -> Check:
    wrapped = first(state.hsm("KeyWrap", result="ok"))
    if wrapped is not None and state.hsm("KeyUnwrap", result="ok", after=wrapped.seq):
        return passed("The wrapped table key was unwrapped inside the HSM for use.")
    return missing("Unwrap the wrapped table key (key unwrap aes-gcm).")


LAB7 = Lab(
    number=7,
    slug="tls-offload-private-ca",
    title="TLS offload, a private CA and TDE-style master keys",
    service="CloudHSM",
    summary="Keep a CA's private key in the HSM, issue a certificate signed inside the HSM, "
    "verify the chain, then wrap a database table key with an HSM master key.",
    introduction=f"""\
Two classic CloudHSM use cases. **TLS offload / PKI**: the web server's or CA's private key
stays in the HSM and every signature is made there (PKCS#11, OpenSSL Dynamic Engine, JCE).
**Transparent Data Encryption** (Oracle TDE, SQL Server EKM): the database encrypts tables
with table keys and keeps them wrapped by a **master key** that never leaves the HSM.

KMS cannot do either: it has no PKCS#11 interface, and you cannot hold or use an arbitrary
TDE master key there. That is why these workloads pick CloudHSM.

{NEEDS_CLUSTER}
""",
    steps=(
        Step(
            "ca-key",
            "Generate the CA key pair in the HSM",
            "```\nkey generate-asymmetric-pair ec --public-label lab-ca-pub --private-label "
            "lab-ca --curve secp256r1 \\\n    --private-attributes sign=true "
            "--public-attributes verify=true\n```",
            "RSA works too: `rsa --modulus-size-bits 2048 --public-exponent 65537`.",
            _ca_key,
        ),
        Step(
            "issue",
            "Issue a certificate for a CSR, signed by the HSM",
            "In the *Private CA* panel give the private key's label and your crypto user's "
            "credentials, and either paste a CSR or let the sandbox make one for "
            "`www.example.test`.",
            "The sandbox builds the certificate; only the signature comes from the HSM (C_Sign).",
            _issued,
        ),
        Step(
            "chain",
            "Verify the chain",
            "Press **Verify chain**: the leaf must be signed by the CA, the CA self-signed, "
            "and the CA's public key must be the HSM key's.",
            "Download `lab-ca.crt` and check it yourself: "
            "`openssl verify -CAfile lab-ca.crt www.example.test.crt`.",
            _chain_verified,
        ),
        Step(
            "tde-wrap",
            "Wrap a table key with an HSM master key",
            "```\nkey generate-symmetric aes --label tde-master --key-length-bytes 32 "
            "--attributes wrap=true unwrap=true extractable=false\nkey generate-symmetric aes "
            "--label table-key --key-length-bytes 32\nkey wrap aes-gcm --payload-filter "
            "attr.label=table-key --wrapping-filter attr.label=tde-master\n```",
            "The database stores the wrapped table key; the master key never leaves the HSM.",
            _tde_wrap,
        ),
        Step(
            "tde-unwrap",
            "Unwrap the table key when the database opens",
            "```\nkey unwrap aes-gcm --filter attr.label=tde-master --data <wrapped_key_data> "
            "--key-type-class aes --label table-key-open --session\n```",
            "A session key disappears at logout, like a table key in memory.",
            _tde_unwrap,
        ),
    ),
    helpers=("pki",),
    exam_tip="SSL/TLS offload, private CA keys, Oracle TDE and SQL Server EKM are CloudHSM "
    "answers; KMS has no PKCS#11/JCE/CNG interface.",
)


# --- lab 8: custom key store ----------------------------------------------------------------------------

AWS_CLOUDHSM = "AWS_CLOUDHSM"


def _cloudhsm_keys(state: LabState) -> list[KmsKey]:
    return [key for key in state.inventory.kms_keys if key.origin == AWS_CLOUDHSM]


def _kmsuser(state: LabState) -> Check:
    for user in state.inventory.users:
        if user.username == "kmsuser" and user.role == "crypto-user":
            return passed("Crypto user kmsuser exists for KMS to log in as.")
    return missing("As admin, create the crypto user kmsuser.")


def _store_created(state: LabState) -> Check:
    for event in state.kms("CreateCustomKeyStore", result="ok"):
        if "CloudHsmClusterId" in (event.detail.get("requestParameters") or {}):
            return passed(f"Custom key store {event.target}.")
    return missing("Create a custom key store for your cluster.")


def _connected(state: LabState) -> Check:
    stores = [s for s in state.inventory.key_stores if s.store_type == "AWS_CLOUDHSM"]
    if any(store.state == "CONNECTED" for store in stores) or _cloudhsm_keys(state):
        return passed("KMS logged in to the cluster as kmsuser: the store is CONNECTED.")
    failed = [store for store in stores if store.state == "FAILED"]
    if failed:
        return missing(f"Connection FAILED ({failed[0].error_code}). Fix it and reconnect.")
    return missing("Connect the store, then run describe-custom-key-stores.")


def _cloudhsm_key(state: LabState) -> Check:
    keys = _cloudhsm_keys(state)
    if keys:
        return passed(f"KMS key {keys[0].key_id} has origin AWS_CLOUDHSM.")
    return missing("Create a KMS key with --origin AWS_CLOUDHSM in the store.")


def _encrypted(state: LabState) -> Check:
    arns = {state.key_arn(key.key_id) for key in _cloudhsm_keys(state)}
    if any(e.target in arns for e in state.kms("Encrypt", result="ok")):
        return passed("KMS encrypted with key material that lives in your HSMs.")
    return missing("Encrypt with the AWS_CLOUDHSM key.")


def _found_in_hsm(state: LabState) -> Check:
    key_ids = {key.key_id for key in _cloudhsm_keys(state)}
    for event in state.hsm("KeyList", result="ok"):
        filters = event.detail.get("filters") or {}
        if filters.get("label") in key_ids and event.detail.get("found", 0) >= 1:
            return passed("Found the backing key in the HSM, labelled with the KMS key id.")
    return missing("Log in as kmsuser (or admin) and key list --filter attr.label=<KMS key id>.")


def _unavailable(state: LabState) -> Check:
    arns = {state.key_arn(key.key_id) for key in _cloudhsm_keys(state)}
    disconnected = first(state.kms("DisconnectCustomKeyStore", result="ok"))
    if disconnected is None:
        return missing("Disconnect the custom key store.")
    for event in state.kms(after=disconnected.seq):
        if event.target in arns and (event.operation == "DescribeKey" or not event.ok):
            return passed("With the store disconnected, the key is Unavailable.")
    return missing("Describe the key (or try to use it) after disconnecting.")


LAB8 = Lab(
    number=8,
    slug="custom-key-store",
    title="KMS custom key store backed by your cluster",
    service="KMS + CloudHSM",
    summary="Connect KMS to your cluster through kmsuser, create a KMS key with origin "
    "AWS_CLOUDHSM, encrypt through KMS, find the key in the HSM, disconnect and see it "
    "Unavailable.",
    introduction=f"""\
A **custom key store** keeps KMS's API and integrations (S3, EBS, ...) but puts the key
material in **your** CloudHSM cluster: KMS logs in as the crypto user `kmsuser` and does
the cryptography in your HSMs. You can disconnect the store at any time, and every key in
it becomes **Unavailable** at once. KMS needs an ACTIVE cluster with at least two active HSMs
in different Availability Zones, and your cluster's trust anchor certificate.

{NEEDS_CLUSTER}
""",
    steps=(
        Step(
            "kmsuser",
            "Create the kmsuser crypto user",
            "```\nlogin --username admin --role admin --password <admin password>\nuser create "
            "--username kmsuser --role crypto-user --password <kmsuser password>\nlogout\n```",
            "KMS logs in as kmsuser with the password you give the key store.",
            _kmsuser,
        ),
        Step(
            "store",
            "Create the custom key store",
            "```\naws kms create-custom-key-store --custom-key-store-name lab8 "
            "--cloud-hsm-cluster-id <cluster id> \\\n    --trust-anchor-certificate "
            "file://customerCA.crt --key-store-password <kmsuser password>\n```",
            "The CA panel of lab 5 saved your trust anchor as `customerCA.crt`.",
            _store_created,
        ),
        Step(
            "connect",
            "Connect it",
            "```\naws kms connect-custom-key-store --custom-key-store-id <cks id>\naws kms "
            "describe-custom-key-stores\n```",
            "CONNECTING becomes CONNECTED (or FAILED with a ConnectionErrorCode).",
            _connected,
        ),
        Step(
            "key",
            "Create a KMS key in the store",
            "```\naws kms create-key --origin AWS_CLOUDHSM --custom-key-store-id <cks id>\n```",
            "KMS creates a non-extractable AES-256 key in your HSMs, owned by kmsuser.",
            _cloudhsm_key,
        ),
        Step(
            "encrypt",
            "Encrypt through KMS",
            "```\naws kms encrypt --key-id <KeyId> --plaintext SGVsbG8gSFNNIQ==\n```",
            "Same API, same ciphertext format; the cryptography ran in your cluster.",
            _encrypted,
        ),
        Step(
            "find",
            "Find the key in the HSM",
            "```\nlogin --username kmsuser --role crypto-user --password <kmsuser password>\n"
            "key list --filter attr.label=<KMS key id> --verbose\nlogout\n```",
            "The HSM key's label is the KMS key id.",
            _found_in_hsm,
        ),
        Step(
            "disconnect",
            "Disconnect: the key becomes Unavailable",
            "```\naws kms disconnect-custom-key-store --custom-key-store-id <cks id>\naws kms "
            "describe-key --key-id <KeyId>\n```",
            "`KeyState` is `Unavailable`; Encrypt fails until you connect again.",
            _unavailable,
        ),
    ),
    exam_tip="Custom key store = KMS API + your CloudHSM cluster (FIPS level 3, your control, "
    "disconnect at will); needs 2 active HSMs in different AZs and kmsuser.",
)
