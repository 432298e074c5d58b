"""The CloudHSM API: clusters, HSMs, initialization, backups, quotas and lab failures."""

from __future__ import annotations

import ast
import base64
import datetime as dt
import pathlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from emulator.cloudhsm import (
    CloudHsm,
    CloudHsmInvalidRequestException,
    CloudHsmResourceLimitExceededException,
    CloudHsmResourceNotFoundException,
    HsmAvailabilityError,
    Pkcs11Error,
    pki,
)
from emulator.core import Host, ManualClock, MemoryStorage, Sealer, SystemRandom
from tests.emulator.conformance.hsm_world import MASTER_KEY, PASSWORDS, HsmWorld, make_world

SUBNETS = ["subnet-aaa111", "subnet-bbb222", "subnet-ccc333"]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def hsm(storage, clock) -> CloudHsm:
    return CloudHsm(Host(storage, clock, SystemRandom(), Sealer(MASTER_KEY)))


def _cluster(engine: CloudHsm, cluster_id: str) -> dict:
    return engine.describe_clusters({"Filters": {"clusterIds": [cluster_id]}})["Clusters"][0]


def _new_cluster(engine: CloudHsm, **extra) -> str:
    request = {"HsmType": "hsm2m.medium", "SubnetIds": SUBNETS[:2], **extra}
    return engine.create_cluster(request)["Cluster"]["ClusterId"]


def _uninitialized_with_csr(engine: CloudHsm, clock: ManualClock) -> tuple[str, str]:
    cluster_id = _new_cluster(engine)
    clock.advance(dt.timedelta(minutes=6))
    engine.create_hsm({"ClusterId": cluster_id, "AvailabilityZone": "us-east-1a"})
    clock.advance(dt.timedelta(minutes=11))
    return cluster_id, _cluster(engine, cluster_id)["Certificates"]["ClusterCsr"]


# --- CreateCluster -------------------------------------------------------------------------------


def test_create_cluster_returns_the_aws_shape_in_create_in_progress(hsm):
    cluster = hsm.create_cluster({"HsmType": "hsm2m.medium", "SubnetIds": SUBNETS})["Cluster"]
    assert cluster["ClusterId"].startswith("cluster-")
    assert cluster["State"] == "CREATE_IN_PROGRESS"
    assert cluster["Mode"] == "FIPS"
    assert cluster["SubnetMapping"] == {
        "us-east-1a": SUBNETS[0],
        "us-east-1b": SUBNETS[1],
        "us-east-1c": SUBNETS[2],
    }
    assert cluster["Hsms"] == []
    assert cluster["BackupPolicy"] == "DEFAULT"
    assert isinstance(cluster["CreateTimestamp"], float)
    assert "_" not in cluster


def test_hsm1_clusters_have_no_mode_and_reject_one(hsm):
    cluster = hsm.create_cluster({"HsmType": "hsm1.medium", "SubnetIds": SUBNETS[:1]})["Cluster"]
    assert "Mode" not in cluster
    with pytest.raises(CloudHsmInvalidRequestException, match="hsm2m"):
        hsm.create_cluster({"HsmType": "hsm1.medium", "SubnetIds": SUBNETS, "Mode": "FIPS"})


def test_hsm2m_clusters_can_be_non_fips(hsm):
    cluster_id = _new_cluster(hsm, Mode="NON_FIPS")
    assert _cluster(hsm, cluster_id)["Mode"] == "NON_FIPS"


@pytest.mark.parametrize(
    "request_body",
    [
        {"HsmType": "hsm3.large", "SubnetIds": SUBNETS},
        {"HsmType": "hsm2m.medium", "SubnetIds": []},
        {"HsmType": "hsm2m.medium"},
        {"HsmType": "hsm2m.medium", "SubnetIds": ["not-a-subnet"]},
        {"HsmType": "hsm2m.medium", "SubnetIds": SUBNETS, "Mode": "SOMETIMES"},
    ],
)
def test_create_cluster_rejects_invalid_requests(hsm, request_body):
    with pytest.raises(CloudHsmInvalidRequestException):
        hsm.create_cluster(request_body)


def test_only_one_subnet_per_availability_zone(storage, clock):
    engine = CloudHsm(
        Host(storage, clock, SystemRandom(), Sealer(MASTER_KEY)),
        subnet_zones={"subnet-one": "eu-west-1a", "subnet-two": "eu-west-1a"},
    )
    with pytest.raises(CloudHsmInvalidRequestException, match="one subnet per"):
        engine.create_cluster(
            {"HsmType": "hsm2m.medium", "SubnetIds": ["subnet-one", "subnet-two"]}
        )


def test_cluster_quota_counts_clusters_that_are_not_deleted(storage, clock):
    engine = CloudHsm(Host(storage, clock, SystemRandom(), Sealer(MASTER_KEY)), max_clusters=1)
    first = _new_cluster(engine)
    with pytest.raises(CloudHsmResourceLimitExceededException, match="quota of 1 clusters"):
        _new_cluster(engine)
    clock.advance(dt.timedelta(minutes=6))
    engine.delete_cluster({"ClusterId": first})
    clock.advance(dt.timedelta(minutes=3))
    assert _cluster(engine, first)["State"] == "DELETED"
    _new_cluster(engine)


# --- the cluster state machine -------------------------------------------------------------------


def test_cluster_becomes_uninitialized_on_the_clock(hsm, clock):
    cluster_id = _new_cluster(hsm)
    clock.advance(dt.timedelta(minutes=4))
    assert _cluster(hsm, cluster_id)["State"] == "CREATE_IN_PROGRESS"
    clock.advance(dt.timedelta(minutes=2))
    assert _cluster(hsm, cluster_id)["State"] == "UNINITIALIZED"


def test_create_hsm_waits_for_the_cluster(hsm):
    cluster_id = _new_cluster(hsm)
    with pytest.raises(CloudHsmInvalidRequestException, match="CREATE_IN_PROGRESS"):
        hsm.create_hsm({"ClusterId": cluster_id, "AvailabilityZone": "us-east-1a"})


def test_create_hsm_needs_a_subnet_in_the_zone(hsm, clock):
    cluster_id = _new_cluster(hsm)
    clock.advance(dt.timedelta(minutes=6))
    with pytest.raises(CloudHsmInvalidRequestException, match="us-east-1c"):
        hsm.create_hsm({"ClusterId": cluster_id, "AvailabilityZone": "us-east-1c"})


def test_unknown_cluster_is_not_found(hsm):
    for call in (
        lambda: hsm.create_hsm({"ClusterId": "cluster-nope", "AvailabilityZone": "us-east-1a"}),
        lambda: hsm.delete_cluster({"ClusterId": "cluster-nope"}),
        lambda: hsm.initialize_cluster(
            {"ClusterId": "cluster-nope", "SignedCert": "x", "TrustAnchor": "y"}
        ),
        lambda: hsm.delete_hsm({"ClusterId": "cluster-nope", "HsmId": "hsm-x"}),
    ):
        with pytest.raises(CloudHsmResourceNotFoundException):
            call()


def test_first_hsm_becomes_active_and_publishes_a_real_csr(hsm, clock):
    cluster_id = _new_cluster(hsm)
    clock.advance(dt.timedelta(minutes=6))
    created = hsm.create_hsm({"ClusterId": cluster_id, "AvailabilityZone": "us-east-1a"})["Hsm"]
    assert created["State"] == "CREATE_IN_PROGRESS"
    assert created["HsmId"].startswith("hsm-") and created["EniId"].startswith("eni-")
    clock.advance(dt.timedelta(minutes=11))
    cluster = _cluster(hsm, cluster_id)
    assert [h["State"] for h in cluster["Hsms"]] == ["ACTIVE"]
    csr = x509.load_pem_x509_csr(cluster["Certificates"]["ClusterCsr"].encode())
    assert csr.is_signature_valid
    assert isinstance(csr.public_key(), rsa.RSAPublicKey)
    assert cluster_id in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def test_an_uninitialized_cluster_takes_one_hsm(hsm, clock):
    cluster_id = _new_cluster(hsm)
    clock.advance(dt.timedelta(minutes=6))
    hsm.create_hsm({"ClusterId": cluster_id, "AvailabilityZone": "us-east-1a"})
    with pytest.raises(CloudHsmInvalidRequestException, match="only one HSM"):
        hsm.create_hsm({"ClusterId": cluster_id, "AvailabilityZone": "us-east-1b"})


def test_hsm_quota_per_cluster():
    world = make_world(2)
    engine = world.engine(max_hsms=2)
    with pytest.raises(CloudHsmResourceLimitExceededException, match="quota of 2 HSMs"):
        engine.create_hsm({"ClusterId": world.cluster_id, "AvailabilityZone": "us-east-1a"})


# --- InitializeCluster ---------------------------------------------------------------------------


def test_initialize_with_a_certificate_signed_by_the_trust_anchor(hsm, clock):
    cluster_id, csr = _uninitialized_with_csr(hsm, clock)
    ca_key, ca_pem = pki.create_ca("Example CA", clock.now())
    signed = pki.sign_csr(csr, ca_key, ca_pem, clock.now())
    result = hsm.initialize_cluster(
        {"ClusterId": cluster_id, "SignedCert": signed, "TrustAnchor": ca_pem}
    )
    assert result["State"] == "INITIALIZE_IN_PROGRESS"
    clock.advance(dt.timedelta(minutes=3))
    cluster = _cluster(hsm, cluster_id)
    assert cluster["State"] == "INITIALIZED"
    assert cluster["Certificates"]["ClusterCertificate"] == signed
    with pytest.raises(CloudHsmInvalidRequestException, match="UNINITIALIZED"):
        hsm.initialize_cluster(
            {"ClusterId": cluster_id, "SignedCert": signed, "TrustAnchor": ca_pem}
        )


def test_initialize_before_the_csr_exists_is_refused(hsm, clock):
    cluster_id = _new_cluster(hsm)
    clock.advance(dt.timedelta(minutes=6))
    with pytest.raises(CloudHsmInvalidRequestException, match="no CSR"):
        hsm.initialize_cluster({"ClusterId": cluster_id, "SignedCert": "a", "TrustAnchor": "b"})


def test_initialize_needs_both_certificates(hsm, clock):
    cluster_id, _csr = _uninitialized_with_csr(hsm, clock)
    with pytest.raises(CloudHsmInvalidRequestException, match="required"):
        hsm.initialize_cluster({"ClusterId": cluster_id})


def _tamper_signature(pem: str) -> str:
    der = bytearray(x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER))
    der[-5] ^= 0xFF  # inside the signature value at the end of the certificate
    body = base64.encodebytes(bytes(der)).decode()
    return "-----BEGIN CERTIFICATE-----\n" + body + "-----END CERTIFICATE-----\n"


def test_initialize_refuses_a_wrong_signature(hsm, clock):
    cluster_id, csr = _uninitialized_with_csr(hsm, clock)
    ca_key, ca_pem = pki.create_ca("Example CA", clock.now())
    signed = _tamper_signature(pki.sign_csr(csr, ca_key, ca_pem, clock.now()))
    with pytest.raises(CloudHsmInvalidRequestException, match="signature does not verify"):
        hsm.initialize_cluster(
            {"ClusterId": cluster_id, "SignedCert": signed, "TrustAnchor": ca_pem}
        )


def test_initialize_refuses_a_certificate_for_another_key(hsm, clock):
    cluster_id, _csr = _uninitialized_with_csr(hsm, clock)
    ca_key, ca_pem = pki.create_ca("Example CA", clock.now())
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "impostor")]))
        .sign(other_key, hashes.SHA256())
    )
    signed = pki.sign_csr(
        other_csr.public_bytes(Encoding.PEM).decode(), ca_key, ca_pem, clock.now()
    )
    with pytest.raises(CloudHsmInvalidRequestException, match="does not match the cluster CSR"):
        hsm.initialize_cluster(
            {"ClusterId": cluster_id, "SignedCert": signed, "TrustAnchor": ca_pem}
        )


def test_initialize_refuses_a_trust_anchor_that_did_not_sign_it(hsm, clock):
    cluster_id, csr = _uninitialized_with_csr(hsm, clock)
    ca_key, ca_pem = pki.create_ca("Example CA", clock.now())
    _other_key, other_pem = pki.create_ca("Example CA", clock.now())  # same name, other key
    _third_key, third_pem = pki.create_ca("Another CA", clock.now())
    signed = pki.sign_csr(csr, ca_key, ca_pem, clock.now())
    with pytest.raises(CloudHsmInvalidRequestException, match="signature does not verify"):
        hsm.initialize_cluster(
            {"ClusterId": cluster_id, "SignedCert": signed, "TrustAnchor": other_pem}
        )
    with pytest.raises(CloudHsmInvalidRequestException, match="not issued by the trust anchor"):
        hsm.initialize_cluster(
            {"ClusterId": cluster_id, "SignedCert": signed, "TrustAnchor": third_pem}
        )


def test_initialize_refuses_a_trust_anchor_that_is_not_self_signed(hsm, clock):
    cluster_id, csr = _uninitialized_with_csr(hsm, clock)
    root_key, root_pem = pki.create_ca("Root", clock.now())
    intermediate_key = ec.generate_private_key(ec.SECP256R1())
    intermediate_csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Intermediate")]))
        .sign(intermediate_key, hashes.SHA256())
    )
    intermediate_pem = pki.sign_csr(
        intermediate_csr.public_bytes(Encoding.PEM).decode(), root_key, root_pem, clock.now()
    )
    signed = pki.sign_csr(csr, intermediate_key, intermediate_pem, clock.now())
    with pytest.raises(CloudHsmInvalidRequestException, match="self-signed"):
        hsm.initialize_cluster(
            {"ClusterId": cluster_id, "SignedCert": signed, "TrustAnchor": intermediate_pem}
        )


def test_initialize_refuses_garbage_and_expired_certificates(hsm, clock):
    cluster_id, csr = _uninitialized_with_csr(hsm, clock)
    ca_key, ca_pem = pki.create_ca("Example CA", clock.now())
    with pytest.raises(CloudHsmInvalidRequestException, match="not a valid PEM"):
        hsm.initialize_cluster(
            {"ClusterId": cluster_id, "SignedCert": "junk", "TrustAnchor": ca_pem}
        )
    expired = pki.sign_csr(csr, ca_key, ca_pem, clock.now() - dt.timedelta(days=400), days=30)
    with pytest.raises(CloudHsmInvalidRequestException, match="not valid at this time"):
        hsm.initialize_cluster(
            {"ClusterId": cluster_id, "SignedCert": expired, "TrustAnchor": ca_pem}
        )


def test_activation_makes_the_cluster_active():
    world = make_world(2)
    cluster = _cluster(world.engine(), world.cluster_id)
    assert cluster["State"] == "ACTIVE"
    assert [h["State"] for h in cluster["Hsms"]] == ["ACTIVE", "ACTIVE"]
    assert {h["AvailabilityZone"] for h in cluster["Hsms"]} == {"us-east-1a", "us-east-1b"}


# --- DescribeClusters ----------------------------------------------------------------------------


def test_describe_clusters_filters_and_pages(hsm, clock):
    ids = sorted(_new_cluster(hsm) for _ in range(3))
    clock.advance(dt.timedelta(minutes=6))
    page = hsm.describe_clusters({"MaxResults": 2})
    assert [c["ClusterId"] for c in page["Clusters"]] == ids[:2]
    rest = hsm.describe_clusters({"MaxResults": 2, "NextToken": page["NextToken"]})
    assert [c["ClusterId"] for c in rest["Clusters"]] == ids[2:]
    assert "NextToken" not in rest
    only = hsm.describe_clusters({"Filters": {"clusterIds": [ids[1]]}})
    assert [c["ClusterId"] for c in only["Clusters"]] == [ids[1]]
    assert hsm.describe_clusters({"Filters": {"states": ["ACTIVE"]}})["Clusters"] == []
    vpc = only["Clusters"][0]["VpcId"]
    assert len(hsm.describe_clusters({"Filters": {"vpcIds": [vpc]}})["Clusters"]) == 3


@pytest.mark.parametrize(
    "request_body",
    [{"MaxResults": 0}, {"MaxResults": 101}, {"NextToken": "x"}, {"NextToken": 7}],
)
def test_describe_clusters_rejects_bad_paging(hsm, request_body):
    with pytest.raises(CloudHsmInvalidRequestException):
        hsm.describe_clusters(request_body)


# --- DeleteHsm, DeleteCluster --------------------------------------------------------------------


def test_delete_hsm_takes_a_backup_and_removes_the_hsm():
    world = make_world(2)
    engine = world.engine()
    cluster = _cluster(engine, world.cluster_id)
    before = len(engine.describe_backups()["Backups"])
    victim = cluster["Hsms"][1]
    assert engine.delete_hsm({"ClusterId": world.cluster_id, "EniIp": victim["EniIp"]}) == {
        "HsmId": victim["HsmId"]
    }
    assert len(engine.describe_backups()["Backups"]) == before + 1
    states = {h["HsmId"]: h["State"] for h in _cluster(engine, world.cluster_id)["Hsms"]}
    assert states[victim["HsmId"]] == "DELETE_IN_PROGRESS"
    with pytest.raises(CloudHsmInvalidRequestException, match="already being deleted"):
        engine.delete_hsm({"ClusterId": world.cluster_id, "HsmId": victim["HsmId"]})
    world.advance(minutes=3)
    assert [h["HsmId"] for h in _cluster(engine, world.cluster_id)["Hsms"]] == [
        cluster["Hsms"][0]["HsmId"]
    ]


def test_delete_hsm_needs_an_identifier_that_exists():
    world = make_world(1)
    engine = world.engine()
    with pytest.raises(CloudHsmInvalidRequestException, match="HsmId, EniId or EniIp"):
        engine.delete_hsm({"ClusterId": world.cluster_id})
    with pytest.raises(CloudHsmResourceNotFoundException):
        engine.delete_hsm({"ClusterId": world.cluster_id, "HsmId": "hsm-missing"})


def test_delete_cluster_needs_no_hsms_and_destroys_users_and_keys():
    world = make_world(1)
    engine = world.engine()
    session = world.login("alice")
    engine.generate_symmetric(session, "aes", 32, label="doomed")
    with pytest.raises(CloudHsmInvalidRequestException, match="Delete all HSMs"):
        engine.delete_cluster({"ClusterId": world.cluster_id})
    hsm_id = _cluster(engine, world.cluster_id)["Hsms"][0]["HsmId"]
    engine.delete_hsm({"ClusterId": world.cluster_id, "HsmId": hsm_id})
    world.advance(minutes=3)
    deleted = engine.delete_cluster({"ClusterId": world.cluster_id})["Cluster"]
    assert deleted["State"] == "DELETE_IN_PROGRESS"
    assert world.storage.list("hsm.key") == []
    assert world.storage.list("hsm.user") == []
    assert world.storage.list("hsm.session") == []
    with pytest.raises(CloudHsmInvalidRequestException, match="already being deleted"):
        engine.delete_cluster({"ClusterId": world.cluster_id})
    world.advance(minutes=3)
    assert _cluster(engine, world.cluster_id)["State"] == "DELETED"
    assert engine.describe_backups({"Filters": {"clusterIds": [world.cluster_id]}})["Backups"]


# --- backups -------------------------------------------------------------------------------------


def test_backups_are_taken_every_24_hours():
    world = make_world(1)
    engine = world.engine()
    assert engine.describe_backups()["Backups"] == []
    world.advance(hours=24)
    backups = engine.describe_backups()["Backups"]
    assert len(backups) == 1
    backup = backups[0]
    assert backup["BackupState"] == "READY"
    assert backup["ClusterId"] == world.cluster_id
    assert backup["BackupArn"].endswith(f":backup/{backup['BackupId']}")
    assert backup["HsmType"] == "hsm2m.medium" and backup["Mode"] == "FIPS"
    assert "_" not in backup
    audited = [e for e in engine.audit_events() if e["operation"] == "CreateBackup"]
    assert audited[-1]["target"] == f"{world.cluster_id}/{backup['BackupId']}"
    world.advance(hours=24 * 3 + 1)  # missed periods collapse into one backup
    assert len(engine.describe_backups()["Backups"]) == 2
    world.advance(hours=24)
    newest_first = engine.describe_backups()["Backups"]
    assert len(newest_first) == 3
    assert newest_first[0]["CreateTimestamp"] > newest_first[-1]["CreateTimestamp"]
    oldest_first = engine.describe_backups({"SortAscending": True})["Backups"]
    assert oldest_first == list(reversed(newest_first))
    one = engine.describe_backups({"Filters": {"backupIds": [backup["BackupId"]]}})["Backups"]
    assert [b["BackupId"] for b in one] == [backup["BackupId"]]
    assert engine.describe_backups({"Filters": {"states": ["DELETED"]}})["Backups"] == []
    assert len(engine.describe_backups({"MaxResults": 2})["Backups"]) == 2


def test_a_cluster_created_from_a_backup_has_the_same_users_and_keys():
    world = make_world(1)
    engine = world.engine()
    session = world.login("alice")
    handle = engine.generate_symmetric(
        session, "aes", 32, label="survivor", attributes={"encrypt": True, "decrypt": True}
    )
    blob = engine.encrypt(session, handle, "CKM_AES_GCM", b"kept across clusters")
    world.advance(hours=25)
    backup_id = engine.describe_backups()["Backups"][0]["BackupId"]
    restored = engine.create_cluster(
        {"HsmType": "hsm2m.medium", "SubnetIds": SUBNETS[:2], "SourceBackupId": backup_id}
    )["Cluster"]
    assert restored["SourceBackupId"] == backup_id
    restored_id = restored["ClusterId"]
    world.advance(minutes=6)
    assert _cluster(engine, restored_id)["State"] == "ACTIVE"
    engine.create_hsm({"ClusterId": restored_id, "AvailabilityZone": "us-east-1a"})
    world.advance(minutes=11)
    users = {u["username"]: u["role"] for u in engine.list_users(restored_id)}
    assert users == {
        "admin": "admin",
        "alice": "crypto-user",
        "app_user": "internal(APPLIANCE_USER)",
        "bob": "crypto-user",
        "carol": "crypto-user",
    }
    new_session = engine.login(restored_id, "alice", PASSWORDS["alice"])
    found = engine.find_keys(new_session, {"label": "survivor"})
    assert found == [handle]  # the key reference is kept
    assert engine.decrypt(new_session, handle, "CKM_AES_GCM", blob) == b"kept across clusters"


def test_creating_from_an_unknown_backup_is_not_found(hsm):
    with pytest.raises(CloudHsmResourceNotFoundException):
        hsm.create_cluster(
            {"HsmType": "hsm2m.medium", "SubnetIds": SUBNETS[:1], "SourceBackupId": "backup-nope"}
        )


# --- failing and replacing HSMs ------------------------------------------------------------------


def test_a_failed_hsm_degrades_the_cluster_until_it_is_replaced():
    world = make_world(2)
    engine = world.engine()
    session = world.login("alice")
    handle = engine.generate_symmetric(session, "aes", 16, label="k", attributes={"encrypt": True})
    failing = _cluster(engine, world.cluster_id)["Hsms"][0]
    assert engine.fail_hsm(failing["HsmId"])["State"] == "DEGRADED"
    assert _cluster(engine, world.cluster_id)["State"] == "DEGRADED"
    # The token key now sits on only one ACTIVE HSM of a two-HSM cluster.
    with pytest.raises(HsmAvailabilityError) as unavailable:
        engine.encrypt(session, handle, "CKM_AES_GCM", b"x")
    assert unavailable.value.code == "CKR_DEVICE_ERROR"
    replacement = engine.replace_hsm(failing["HsmId"])["Hsm"]
    assert replacement["AvailabilityZone"] == failing["AvailabilityZone"]
    world.advance(minutes=11)
    cluster = _cluster(engine, world.cluster_id)
    assert cluster["State"] == "ACTIVE"
    assert failing["HsmId"] not in {h["HsmId"] for h in cluster["Hsms"]}
    # The new HSM was restored from the backup taken at the deletion: the key is back.
    assert engine.describe_key(session, handle)["key-info"]["cluster-coverage"] == "full"
    assert engine.encrypt(session, handle, "CKM_AES_GCM", b"x")


def test_fail_hsm_errors():
    world = make_world(1)
    engine = world.engine()
    with pytest.raises(CloudHsmResourceNotFoundException):
        engine.fail_hsm("hsm-missing")
    with pytest.raises(CloudHsmResourceNotFoundException):
        engine.replace_hsm("hsm-missing")
    hsm_id = _cluster(engine, world.cluster_id)["Hsms"][0]["HsmId"]
    engine.fail_hsm(hsm_id)
    with pytest.raises(CloudHsmInvalidRequestException, match="Only an ACTIVE HSM"):
        engine.fail_hsm(hsm_id)


def test_a_cluster_without_an_active_hsm_refuses_sessions():
    world = make_world(1)
    engine = world.engine()
    engine.fail_hsm(_cluster(engine, world.cluster_id)["Hsms"][0]["HsmId"])
    with pytest.raises(HsmAvailabilityError) as error:
        engine.open_session(world.cluster_id)
    assert error.value.code == "CKR_TOKEN_NOT_PRESENT"
    with pytest.raises(Pkcs11Error) as missing:
        engine.open_session("cluster-missing")
    assert missing.value.code == "CKR_TOKEN_NOT_PRESENT"


def test_clients_cannot_connect_to_an_uninitialized_cluster(hsm, clock):
    cluster_id, _csr = _uninitialized_with_csr(hsm, clock)
    with pytest.raises(HsmAvailabilityError, match="UNINITIALIZED"):
        hsm.open_session(cluster_id)


# --- engine properties ---------------------------------------------------------------------------


def test_engines_share_nothing_but_storage():
    world: HsmWorld = make_world(1)
    first, second = world.engine(), world.engine()
    session = first.login(world.cluster_id, "alice", PASSWORDS["alice"])
    handle = first.generate_symmetric(session, "aes", 32, label="shared-state")
    assert second.find_keys(session, {"label": "shared-state"}) == [handle]
    assert vars(first).keys() == vars(second).keys()
    assert "Sealer" not in repr(first) and "master" not in repr(first)


def test_control_plane_calls_are_audited_with_the_iam_caller(storage, clock):
    engine = CloudHsm(
        Host(storage, clock, SystemRandom(), Sealer(MASTER_KEY)), caller="arn:aws:iam::1:user/ops"
    )
    cluster_id = _new_cluster(engine)
    with pytest.raises(CloudHsmInvalidRequestException):
        engine.create_hsm({"ClusterId": cluster_id, "AvailabilityZone": "us-east-1a"})
    events = engine.audit_events()
    assert [(e["operation"], e["result"]) for e in events] == [
        ("CreateCluster", "ok"),
        ("CreateHsm", "CloudHsmInvalidRequestException"),
    ]
    assert {e["principal"] for e in events} == {"arn:aws:iam::1:user/ops"}
    assert events[0]["target"] == cluster_id
    assert all(set(e) >= {"time", "principal", "operation", "target", "result"} for e in events)


def test_the_package_imports_nothing_from_django():
    package = pathlib.Path(__file__).resolve().parents[2] / "emulator" / "cloudhsm"
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] in ("django", "sandbox") for n in names), path
