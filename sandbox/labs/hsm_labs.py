"""Labs 5 and 6: a CloudHSM cluster across two Availability Zones, and PKCS#11 key
attributes (labs 7 and 8 build on it: :mod:`.hsm_integration_labs`)."""

from __future__ import annotations

from .base import (
    Check,
    Event,
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


def _first_failure(state: LabState) -> Event | None:
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
