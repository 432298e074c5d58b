"""The emulated AWS CloudHSM service: clusters, HSMs, backups, users, sessions and keys.

One class, :class:`CloudHsm`, serves both planes:

* the **control plane** (the CloudHSM API): ``create_cluster``, ``describe_clusters``,
  ``create_hsm``, ``delete_hsm``, ``initialize_cluster``, ``delete_cluster``,
  ``describe_backups`` take and return dicts shaped like the AWS JSON;
* the **data plane** (what PKCS#11 and CloudHSM CLI do on the HSMs): sessions, login, user
  management, quorum approvals, key generation and cryptography, with failures raised as
  :class:`~emulator.cloudhsm.errors.Pkcs11Error` codes.

The engine keeps nothing on the Python object between calls: every cluster, HSM, user, key,
backup, session and quorum token is a JSON-able record in :class:`~emulator.core.Storage`
(kinds ``hsm.cluster``, ``hsm.hsm``, ``hsm.user``, ``hsm.key``, ``hsm.backup``,
``hsm.session``, ``hsm.quorum``). A caller keeps only the session id string. Time-driven work
(an HSM finishing its creation, daily backups) happens when a call notices it is due.

Each method below is a plain function of one module by concern, taking the shared
:class:`~.state.HsmState` first: read that function to read the behaviour.
"""

from __future__ import annotations

from . import control_plane, keys, lifecycle, mechanisms, sessions, users
from .state import (
    BACKUP_INTERVAL,
    CLUSTER_CREATE_TIME,
    DELETE_TIME,
    HSM_CREATE_TIME,
    INITIALIZE_TIME,
    MAX_FAILED_LOGINS,
    MAX_SHARED_USERS,
    QUORUM_TOKEN_TTL,
    SESSION_TTL,
    HsmState,
    KeyHandle,
    Role,
    key_reference,
    parse_key_reference,
)

__all__ = [
    "BACKUP_INTERVAL",
    "CLUSTER_CREATE_TIME",
    "DELETE_TIME",
    "HSM_CREATE_TIME",
    "INITIALIZE_TIME",
    "MAX_FAILED_LOGINS",
    "MAX_SHARED_USERS",
    "QUORUM_TOKEN_TTL",
    "SESSION_TTL",
    "CloudHsm",
    "KeyHandle",
    "Role",
    "key_reference",
    "parse_key_reference",
]


class CloudHsm(HsmState):
    """The emulated CloudHSM service for one AWS account and Region (the constructor is
    :class:`HsmState`'s). Construct one per request over the host's storage."""

    # control plane: the CloudHSM API, and lab hooks
    process_due = lifecycle.process_due
    create_cluster = control_plane.create_cluster
    describe_clusters = control_plane.describe_clusters
    create_hsm = control_plane.create_hsm
    delete_hsm = control_plane.delete_hsm
    initialize_cluster = control_plane.initialize_cluster
    delete_cluster = control_plane.delete_cluster
    describe_backups = control_plane.describe_backups
    fail_hsm = control_plane.fail_hsm
    replace_hsm = control_plane.replace_hsm
    trust_anchor = control_plane.trust_anchor
    tick = lifecycle.process_due

    # data plane: sessions and login
    open_session = sessions.open_session
    login = sessions.login
    session_login = sessions.session_login
    logout = sessions.logout
    close_session = sessions.close_session
    session_info = sessions.session_info
    join_login = sessions.join_login
    client_cluster_info = sessions.client_cluster_info

    # data plane: cluster activation, users and quorum
    activate_cluster = users.activate_cluster
    user_exists = users.user_exists
    list_users = users.list_users
    create_user = users.create_user
    delete_user = users.delete_user
    change_password = users.change_password
    get_quorum_values = users.get_quorum_values
    set_quorum_value = users.set_quorum_value
    quorum_generate = users.quorum_generate
    quorum_approve = users.quorum_approve
    quorum_tokens = users.quorum_tokens

    # data plane: keys and their attributes
    generate_symmetric = keys.generate_symmetric
    generate_key_pair = keys.generate_key_pair
    import_key = keys.import_key
    find_keys = keys.find_keys
    describe_key = keys.describe_key
    get_attribute = keys.get_attribute
    get_public_key_pem = keys.get_public_key_pem
    set_attribute = keys.set_attribute
    share_key = keys.share_key
    unshare_key = keys.unshare_key
    destroy_key = keys.destroy_key

    # data plane: cryptography with keys
    encrypt = mechanisms.encrypt
    decrypt = mechanisms.decrypt
    sign = mechanisms.sign
    verify = mechanisms.verify
    digest = mechanisms.digest
    generate_random = mechanisms.generate_random
    wrap_key = mechanisms.wrap_key
    unwrap_key = mechanisms.unwrap_key
