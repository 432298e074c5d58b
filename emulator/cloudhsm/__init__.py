"""An emulated AWS CloudHSM: clusters, HSMs, backups, users, PKCS#11-style sessions and keys.

Real cryptography on ``cryptography``; all state in the host's ``Storage``; nothing from
Django. Start with :class:`CloudHsm`; :func:`run_command` is the CloudHSM CLI look-alike and
:class:`CloudHsmKeyStoreBackend` lets KMS custom key stores use the clusters.
"""

from __future__ import annotations

from .cli import CliContext, run_command
from .engine import CloudHsm, KeyHandle, Role, key_reference, parse_key_reference
from .errors import (
    CloudHsmAccessDeniedException,
    CloudHsmApiError,
    CloudHsmInternalFailureException,
    CloudHsmInvalidRequestException,
    CloudHsmResourceLimitExceededException,
    CloudHsmResourceNotFoundException,
    CloudHsmServiceException,
    HsmAvailabilityError,
    HsmError,
    Pkcs11Error,
    QuorumError,
    RoleError,
)
from .keystore_backend import CloudHsmKeyStoreBackend
from .lab import provision_active_cluster

__all__ = [
    "CliContext",
    "CloudHsm",
    "CloudHsmAccessDeniedException",
    "CloudHsmApiError",
    "CloudHsmInternalFailureException",
    "CloudHsmInvalidRequestException",
    "CloudHsmKeyStoreBackend",
    "CloudHsmResourceLimitExceededException",
    "CloudHsmResourceNotFoundException",
    "CloudHsmServiceException",
    "HsmAvailabilityError",
    "HsmError",
    "KeyHandle",
    "Pkcs11Error",
    "QuorumError",
    "Role",
    "RoleError",
    "key_reference",
    "parse_key_reference",
    "provision_active_cluster",
    "run_command",
]
