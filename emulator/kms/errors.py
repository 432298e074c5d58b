"""KMS errors, one class per AWS error name.

Every class carries ``code`` (the AWS ``__type``) and ``status`` (the HTTP status AWS sends),
so the HTTP layer maps them one to one::

    except KmsError as error:
        return JsonResponse(error.to_dict(), status=error.status)

Messages are phrased like AWS's and never contain key material, plaintext or passwords.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDeniedException",
    "AlreadyExistsException",
    "CloudHsmClusterInUseException",
    "CloudHsmClusterInvalidConfigurationException",
    "CloudHsmClusterNotActiveException",
    "CloudHsmClusterNotFoundException",
    "CloudHsmClusterNotRelatedException",
    "CustomKeyStoreHasCMKsException",
    "CustomKeyStoreInvalidStateException",
    "CustomKeyStoreNameInUseException",
    "CustomKeyStoreNotFoundException",
    "DisabledException",
    "DryRunOperationException",
    "IncorrectKeyException",
    "IncorrectTrustAnchorException",
    "InvalidAliasNameException",
    "InvalidArnException",
    "InvalidCiphertextException",
    "InvalidGrantIdException",
    "InvalidGrantTokenException",
    "InvalidKeyUsageException",
    "InvalidMarkerException",
    "KMSInternalException",
    "KMSInvalidMacException",
    "KMSInvalidSignatureException",
    "KMSInvalidStateException",
    "KeyUnavailableException",
    "KmsError",
    "LimitExceededException",
    "MalformedPolicyDocumentException",
    "NotAuthorizedException",
    "NotFoundException",
    "SerializationException",
    "TagException",
    "UnknownOperationException",
    "UnsupportedOperationException",
    "ValidationException",
]


class KmsError(Exception):
    """Base of every error the KMS engine raises on purpose."""

    code: ClassVar[str] = "KMSInternalException"
    status: ClassVar[int] = 400

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code

    def to_dict(self) -> dict[str, str]:
        """The AWS JSON error body."""
        return {"__type": self.code, "message": self.message}


class AccessDeniedException(KmsError):
    """The key policy, grants and (emulated) IAM do not allow the call."""

    code = "AccessDeniedException"


class AlreadyExistsException(KmsError):
    code = "AlreadyExistsException"


class CloudHsmClusterInUseException(KmsError):
    code = "CloudHsmClusterInUseException"


class CloudHsmClusterInvalidConfigurationException(KmsError):
    code = "CloudHsmClusterInvalidConfigurationException"


class CloudHsmClusterNotActiveException(KmsError):
    code = "CloudHsmClusterNotActiveException"


class CloudHsmClusterNotFoundException(KmsError):
    code = "CloudHsmClusterNotFoundException"


class CloudHsmClusterNotRelatedException(KmsError):
    code = "CloudHsmClusterNotRelatedException"


class CustomKeyStoreHasCMKsException(KmsError):
    code = "CustomKeyStoreHasCMKsException"


class CustomKeyStoreInvalidStateException(KmsError):
    code = "CustomKeyStoreInvalidStateException"


class CustomKeyStoreNameInUseException(KmsError):
    code = "CustomKeyStoreNameInUseException"


class CustomKeyStoreNotFoundException(KmsError):
    code = "CustomKeyStoreNotFoundException"


class DisabledException(KmsError):
    code = "DisabledException"


class DryRunOperationException(KmsError):
    """The request would have succeeded, but ``DryRun`` was set."""

    code = "DryRunOperationException"
    status = 412


class IncorrectKeyException(KmsError):
    code = "IncorrectKeyException"


class IncorrectTrustAnchorException(KmsError):
    code = "IncorrectTrustAnchorException"


class InvalidAliasNameException(KmsError):
    code = "InvalidAliasNameException"


class InvalidArnException(KmsError):
    code = "InvalidArnException"


class InvalidCiphertextException(KmsError):
    """Any failure to open a ciphertext: one opaque error, whatever the cause."""

    code = "InvalidCiphertextException"


class InvalidGrantIdException(KmsError):
    code = "InvalidGrantIdException"


class InvalidGrantTokenException(KmsError):
    code = "InvalidGrantTokenException"


class InvalidKeyUsageException(KmsError):
    code = "InvalidKeyUsageException"


class InvalidMarkerException(KmsError):
    code = "InvalidMarkerException"


class KMSInternalException(KmsError):
    code = "KMSInternalException"
    status = 500


class KMSInvalidMacException(KmsError):
    code = "KMSInvalidMacException"


class KMSInvalidSignatureException(KmsError):
    code = "KMSInvalidSignatureException"


class KMSInvalidStateException(KmsError):
    code = "KMSInvalidStateException"
    status = 409


class KeyUnavailableException(KmsError):
    code = "KeyUnavailableException"
    status = 500


class LimitExceededException(KmsError):
    code = "LimitExceededException"


class MalformedPolicyDocumentException(KmsError):
    code = "MalformedPolicyDocumentException"


class NotAuthorizedException(KmsError):
    """Used, as AWS does, for alias names in the reserved ``alias/aws/`` namespace."""

    code = "NotAuthorizedException"


class NotFoundException(KmsError):
    code = "NotFoundException"


class SerializationException(KmsError):
    """A request body field could not be decoded (e.g. a blob that is not base64)."""

    code = "SerializationException"


class TagException(KmsError):
    code = "TagException"


class UnknownOperationException(KmsError):
    """``Kms.call`` was given an operation name the engine does not implement."""

    code = "UnknownOperationException"


class UnsupportedOperationException(KmsError):
    code = "UnsupportedOperationException"


class ValidationException(KmsError):
    code = "ValidationException"
