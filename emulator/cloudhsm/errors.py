"""Errors of the CloudHSM emulator.

Two families, as on AWS:

* the control plane (the CloudHSM API: CreateCluster, CreateHsm, ...) raises
  :class:`CloudHsmApiError` subclasses named exactly like the AWS exceptions, so an HTTP layer
  can put ``error.code`` into ``__type``;
* the data plane (PKCS#11 sessions, CloudHSM CLI commands) raises :class:`Pkcs11Error` whose
  ``code`` is a PKCS#11 return value name such as ``"CKR_PIN_INCORRECT"``.

Messages never contain key material, passwords or plaintext.
"""

from __future__ import annotations

from emulator.core import EngineError

__all__ = [
    "CloudHsmAccessDeniedException",
    "CloudHsmApiError",
    "CloudHsmInternalFailureException",
    "CloudHsmInvalidRequestException",
    "CloudHsmResourceLimitExceededException",
    "CloudHsmResourceNotFoundException",
    "CloudHsmServiceException",
    "HsmAvailabilityError",
    "HsmError",
    "Pkcs11Error",
    "QuorumError",
    "RoleError",
]


class HsmError(EngineError):
    """Base class: every emulator error has a machine-readable ``code`` and a message."""

    code: str = "HsmError"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        if code is not None:
            self.code = code
        self.message = message or self.code
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


# --- control plane -------------------------------------------------------------------------------


class CloudHsmApiError(HsmError):
    """An error of the CloudHSM API; ``code`` is the AWS exception name, the subclass's."""

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.code = cls.__name__


class CloudHsmInvalidRequestException(CloudHsmApiError): ...


class CloudHsmResourceNotFoundException(CloudHsmApiError): ...


class CloudHsmAccessDeniedException(CloudHsmApiError): ...


class CloudHsmResourceLimitExceededException(CloudHsmApiError): ...


class CloudHsmInternalFailureException(CloudHsmApiError): ...


class CloudHsmServiceException(CloudHsmApiError): ...


# --- data plane ----------------------------------------------------------------------------------


class Pkcs11Error(HsmError):
    """A PKCS#11 return value other than CKR_OK, e.g. ``Pkcs11Error("CKR_PIN_INCORRECT")``.

    The first argument is the code; an optional second argument explains it.
    """

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code, code=code)


class RoleError(Pkcs11Error):
    """The logged-in user's role may not run this command (a crypto user managing users, an
    admin doing cryptography, a shared user deleting a key it does not own)."""

    def __init__(self, message: str) -> None:
        super().__init__("CKR_ACTION_PROHIBITED", message)


class QuorumError(Pkcs11Error):
    """A quorum-guarded operation was attempted without enough approvals."""

    def __init__(self, message: str) -> None:
        super().__init__("CKR_FUNCTION_REJECTED", message)


class HsmAvailabilityError(Pkcs11Error):
    """The cluster cannot serve the request: no ACTIVE HSM, or a token key that has not yet
    reached the availability quorum of two HSMs."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
