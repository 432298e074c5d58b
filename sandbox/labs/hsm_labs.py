"""Labs 5-8: a CloudHSM cluster, PKCS#11 attributes, TLS offload with a private CA, and a
KMS custom key store."""

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

HSM_CRYPTO_OPERATIONS = ("Encrypt", "Decrypt", "Sign", "Verify", "KeyWrap", "KeyUnwrap", "Digest")
NEEDS_CLUSTER = (
    "This lab uses the ACTIVE cluster from lab 5 (two HSMs in two Availability Zones, a crypto "
    "user). Finish lab 5 first, or at least its first six steps."
)


# --- lab 5: a cluster across two AZs -------------------------------------------------------------


def _cluster_exists(state: LabState) -> Check:
    clusters = state.inventory.live_clusters()
    if not clusters:
        return missing("No cluster yet.")
    return passed(f"{clusters[0].cluster_id} is {clusters[0].state}.")


def _hsms_in_two_zones(state: LabState) -> Check:
    for cluster in state.inventory.live_clusters():
        zones = {
            hsm.zone
            for hsm in state.inventory.hsms_of(cluster.cluster_id)
            if hsm.state in ("ACTIVE", "DEGRADED")
        }
        if len(zones) >= 2:
            return passed(f"HSMs in {', '.join(sorted(zones))}.")
    return missing(
        "You need HSMs that finished creating in two Availability Zones (fast-forward the clock)."
    )


def _initialized(state: LabState) -> Check:
    for cluster in state.inventory.live_clusters():
        if cluster.certificate:
            return passed("The cluster certificate, signed by your CA, is installed.")
    return missing("Initialize the cluster with a certificate signed by your own CA.")


def _activated(state: LabState) -> Check:
    for cluster in state.inventory.live_clusters():
        if cluster.activated:
            return passed("The admin set its password; the cluster is activated.")
    return missing("Activate the cluster with CloudHSM CLI: cluster activate --password ...")


def _crypto_user(state: LabState) -> Check:
    users = [user for user in state.inventory.users if user.role == "crypto-user"]
    if users:
        return passed(f"Crypto user {users[0].username} exists.")
    return missing("Create a crypto user (log in as admin first).")


def _token_aes_key(state: LabState) -> Check:
    keys = state.inventory.token_keys("aes")
    if keys:
        return passed(f"Token AES key {keys[0].label or keys[0].reference}.")
    return missing("Generate a token AES key as the crypto user (without --session).")


def _first_failure(state: LabState):
    return first(state.hsm("FailHsm", result="ok"))


def _works_while_degraded(state: LabState) -> Check:
    failure = _first_failure(state)
    if failure is None:
        return missing("Fail one HSM with the lab panel.")
    repairs = state.hsm(("DeleteHsm", "CreateHsm"), result="ok", after=failure.seq)
    until = repairs[0].seq if repairs else None
    for event in state.hsm(HSM_CRYPTO_OPERATIONS, result="ok", after=failure.seq):
        if until is None or event.seq < until:
            return passed(f"{event.operation} succeeded while the cluster was DEGRADED.")
    return missing(
        "While the failed HSM is still in the cluster, use your key (Use a key panel) and "
        "see it still works."
    )


def _restored_from_backup(state: LabState) -> Check:
    failure = _first_failure(state)
    if failure is None:
        return missing("Fail an HSM first, then replace it.")
    created = {
        e.target.rsplit("/", 1)[-1] for e in state.hsm("CreateHsm", result="ok", after=failure.seq)
    }
    backups = {backup.cluster_id for backup in state.inventory.backups}
    for hsm in state.inventory.hsms:
        if hsm.hsm_id not in created or hsm.state != "ACTIVE":
            continue
        holding = [key for key in state.inventory.token_keys() if hsm.hsm_id in key.on_hsms]
        if holding and hsm.cluster_id in backups:
            return passed(f"{hsm.hsm_id} came from the backup and holds your token keys.")
    if created:
        return missing("The new HSM is still being created: fast-forward the clock.")
    return missing("Replace the failed HSM (or add one): it is restored from the latest backup.")


LAB5 = Lab(
    number=5,
    slug="cloudhsm-cluster",
    title="A CloudHSM cluster across two Availability Zones",
    service="CloudHSM",
    summary="Create a cluster, add HSMs in two AZs, sign the cluster CSR with your own CA, "
    "activate, create a crypto user and a key, survive an HSM failure and restore from backup.",
    introduction="""\
CloudHSM gives you single-tenant HSMs in **your VPC**: each HSM has an elastic network
interface (ENI) in one of your subnets. High availability is your job: put HSMs in at least
two Availability Zones. AWS runs the hardware, but **you** own the users and keys; AWS
cannot see them or reset them.

The sandbox creates things on its own clock: a new cluster takes 5 minutes, an HSM 10.
Press the **clock** buttons to fast-forward. Your subnets are listed in the architecture
view. Use the console for the AWS CLI (`aws cloudhsmv2 ...`) and CloudHSM CLI commands.
""",
    steps=(
        Step(
            "cluster",
            "Create a cluster",
            "```\naws cloudhsmv2 create-cluster --hsm-type hsm2m.medium "
            "--subnet-ids <subnet in a> <subnet in b> <subnet in c>\n```",
            "One subnet per Availability Zone; the subnets are on the sandbox page.",
            _cluster_exists,
        ),
        Step(
            "two-azs",
            "Add HSMs in two Availability Zones",
            "Fast-forward 5 minutes, then\n```\naws cloudhsmv2 create-hsm --cluster-id <id> "
            "--availability-zone us-east-1a\n```\nAn uninitialized cluster takes one HSM: "
            "add the others after initializing. Aim for three HSMs (two zones) so one can fail.",
            "`aws cloudhsmv2 describe-clusters` shows each HSM's state and ENI.",
            _hsms_in_two_zones,
        ),
        Step(
            "initialize",
            "Sign the cluster CSR with your own CA and initialize",
            "When the first HSM is ACTIVE the cluster has a CSR. Use the CA panel: let the "
            "sandbox generate a CA for you in this browser session, or sign the CSR with your "
            "own CA (OpenSSL) and paste the signed certificate and trust anchor.",
            "The trust anchor is your CA's self-signed certificate; keep it: KMS custom key "
            "stores (lab 8) ask for it.",
            _initialized,
        ),
        Step(
            "activate",
            "Activate the cluster",
            "Fast-forward 2 minutes, then in the console\n```\ncluster activate --password "
            "<new admin password>\n```",
            "The built-in admin is *unactivated* until it sets a password. Nobody, AWS "
            "included, can reset it later.",
            _activated,
        ),
        Step(
            "crypto-user",
            "Create a crypto user",
            "```\nlogin --username admin --role admin --password <admin password>\nuser create "
            "--username alice --role crypto-user --password <password>\nlogout\n```",
            "Admins manage users; crypto users manage keys and do cryptography.",
            _crypto_user,
        ),
        Step(
            "token-key",
            "Generate a token AES key",
            "```\nlogin --username alice --role crypto-user --password <password>\nkey "
            "generate-symmetric aes --label lab5-key --key-length-bytes 32 --attributes "
            "encrypt=true decrypt=true\n```",
            "Without `--session` the key is a token key: it is replicated to every HSM.",
            _token_aes_key,
        ),
        Step(
            "degraded",
            "Fail an HSM: the cluster is DEGRADED, the key still works",
            "With three HSMs, press **Fail** on one in the HSM panel, then use the key in the "
            "*Use a key* panel (AES-GCM encrypt and decrypt).",
            "A token key must sit on two ACTIVE HSMs to be used; two HSMs in one cluster "
            "leaves no margin.",
            _works_while_degraded,
        ),
        Step(
            "restored",
            "Replace the failed HSM from the backup",
            "Press **Replace** on the failed HSM (it is deleted after a backup, and a new HSM "
            "in the same zone is restored from that backup), then fast-forward 10 minutes.",
            "CloudHSM backs up at least every 24 hours and whenever an HSM is deleted.",
            _restored_from_backup,
        ),
    ),
    helpers=("ca", "hsm-ops", "hsm-use"),
    exam_tip="CloudHSM: single-tenant, FIPS 140-3 level 3, in your VPC; you manage users and "
    "keys and HA (≥2 AZs); AWS cannot recover lost credentials.",
)


# --- lab 6: PKCS#11 attributes --------------------------------------------------------------------


def _non_extractable(state: LabState) -> Check:
    for key in state.inventory.token_keys():
        if key.attributes.get("extractable") is False and key.key_class != "public-key":
            return passed(f"{key.label} is not extractable.")
    return missing("Generate a token key with --attributes extractable=false.")


def _sensitive_read_refused(state: LabState) -> Check:
    event = first(state.hsm("KeyGetAttribute", result="CKR_ATTRIBUTE_SENSITIVE"))
    if event is None:
        return missing("Try to read a key's value with the Read a key value panel.")
    return passed("Reading the value of a sensitive key: CKR_ATTRIBUTE_SENSITIVE.")


def _unextractable_wrap_refused(state: LabState) -> Check:
    if state.hsm("KeyWrap", result="CKR_KEY_UNEXTRACTABLE"):
        return passed("Wrapping a non-extractable key: CKR_KEY_UNEXTRACTABLE.")
    return missing("Try to wrap the non-extractable key.")


def _wrap_unwrap(state: LabState) -> Check:
    wrapped = first(state.hsm("KeyWrap", result="ok"))
    if wrapped is None:
        return missing("Wrap an extractable key with a wrapping key.")
    if state.hsm("KeyUnwrap", result="ok", after=wrapped.seq):
        return passed("Wrapped and unwrapped a key.")
    return missing("Unwrap the wrapped key data back into the HSM.")


def _shared(state: LabState) -> Check:
    if state.hsm("KeyShare", result="ok"):
        return passed("A key is shared with another crypto user.")
    return missing("Share a key with a second crypto user.")


def _locked(state: LabState) -> Check:
    locked_users = [user.username for user in state.inventory.users if user.locked]
    if state.hsm("Login", result="CKR_PIN_LOCKED") or locked_users:
        return passed("Five wrong passwords locked the account.")
    wrong = len(state.hsm("Login", result="CKR_PIN_INCORRECT"))
    return missing(f"{wrong} wrong password(s) so far: the account locks after 5.")


def _admin_reset(state: LabState) -> Check:
    for event in state.hsm("UserChangePassword", result="ok"):
        if event.detail.get("unlocked"):
            return passed(f"{event.principal} reset {event.target}'s password and unlocked it.")
    return missing("As admin, set the locked user's password (user change-password).")


def _no_recovery(state: LabState) -> Check:
    activated = first(state.hsm("ClusterActivate", result="ok"))
    if activated is None:
        return missing(NEEDS_CLUSTER)
    for event in state.hsm("ClusterActivate", after=activated.seq):
        if not event.ok:
            return passed("Activation cannot run twice: a lost admin password stays lost.")
    return missing("Try cluster activate again to 'recover' the admin password.")


LAB6 = Lab(
    number=6,
    slug="pkcs11-attributes",
    title="PKCS#11 key attributes, sharing and lockout",
    service="CloudHSM",
    summary="Extractable vs non-extractable, sensitive reads refused, wrap and unwrap, share a "
    "key, lock an account with five wrong passwords and have the admin reset it.",
    introduction=f"""\
Every key in an HSM carries PKCS#11 attributes. `extractable` decides whether the key may
ever leave the HSM (wrapped); `sensitive` forbids reading its value in the clear. Both only
**tighten**: you can make a key sensitive or non-extractable, never the reverse.

Keys belong to the crypto user who created them; the owner may share a key with up to 7
other crypto users, who can use it but not delete, share or wrap it.

{NEEDS_CLUSTER}
""",
    steps=(
        Step(
            "non-extractable",
            "Make a non-extractable key",
            "```\nkey generate-symmetric aes --label locked-in --key-length-bytes 32 "
            "--attributes extractable=false\n```",
            "`never-extractable` becomes true too: the HSM remembers it was born locked.",
            _non_extractable,
        ),
        Step(
            "sensitive-read",
            "Try to read a key's value",
            "Use the *Read a key value* panel (PKCS#11 `C_GetAttributeValue(CKA_VALUE)`) on "
            "any secret key.",
            "CloudHSM CLI secret keys are sensitive by default.",
            _sensitive_read_refused,
        ),
        Step(
            "wrap-refused",
            "Try to wrap the non-extractable key",
            "```\nkey generate-symmetric aes --label wrapper --key-length-bytes 32 --attributes "
            "wrap=true unwrap=true\nkey wrap aes-gcm --payload-filter attr.label=locked-in "
            "--wrapping-filter attr.label=wrapper\n```",
            "Expect `CKR_KEY_UNEXTRACTABLE`.",
            _unextractable_wrap_refused,
        ),
        Step(
            "wrap-unwrap",
            "Wrap and unwrap an extractable key",
            "```\nkey generate-symmetric aes --label movable --key-length-bytes 32\nkey wrap "
            "aes-gcm --payload-filter attr.label=movable --wrapping-filter attr.label=wrapper\n"
            "key unwrap aes-gcm --filter attr.label=wrapper --data <wrapped_key_data> "
            "--key-type-class aes --label movable-copy\n```",
            "Wrapping is how keys move between HSMs or to backup media, always encrypted.",
            _wrap_unwrap,
        ),
        Step(
            "share",
            "Share a key with another crypto user",
            "As admin create a second crypto user `bob`, then as the key's owner\n```\nkey "
            "share --filter attr.label=movable --username bob --role crypto-user\n```",
            "Bob can use the key but cannot delete, share or wrap it.",
            _shared,
        ),
        Step(
            "locked",
            "Lock an account with five wrong passwords",
            "Log out, then run `login --username bob --role crypto-user --password wrong-pw1` "
            "five times, and once more with the right password.",
            "After five failures even the right password answers `CKR_PIN_LOCKED`.",
            _locked,
        ),
        Step(
            "admin-reset",
            "The admin resets the password",
            "```\nlogin --username admin --role admin --password <admin password>\nuser "
            "change-password --username bob --role crypto-user --password <new password>\n```",
            "Only an admin of the cluster can do this; AWS cannot.",
            _admin_reset,
        ),
        Step(
            "no-recovery",
            "Lost credentials cannot be recovered",
            "Imagine the admin password is lost. Try the only 'reset' there is:\n```\ncluster "
            "activate --password <anything>\n```",
            "Activation works once. With every admin password lost, the keys are gone: plan "
            "for several admins and quorum.",
            _no_recovery,
        ),
    ),
    helpers=("hsm-read",),
    exam_tip="Only you control CloudHSM users: AWS cannot recover credentials. Non-extractable "
    "keys never leave the HSM, even wrapped.",
)


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
    event = first(state.kms("CreateCustomKeyStore", result="ok"))
    if event is None:
        return missing("Create a custom key store for your cluster.")
    return passed(f"Custom key store {event.target}.")


def _connected(state: LabState) -> Check:
    stores = state.inventory.key_stores
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
