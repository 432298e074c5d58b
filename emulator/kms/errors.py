"""KMS errors, one class per AWS error name.

Every class carries ``code`` (the AWS ``__type``) and ``status`` (the HTTP status AWS sends),
so the HTTP layer maps them one to one::

    except KmsError as error:
        return JsonResponse(error.to_dict(), status=error.status)

Messages are phrased like AWS's and never contain key material, plaintext or passwords.
"""

from __future__ import annotations

from emulator.core import EngineError

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
    "ExpiredImportTokenException",
    "IncorrectKeyException",
    "IncorrectKeyMaterialException",
    "IncorrectTrustAnchorException",
    "InvalidAliasNameException",
    "InvalidArnException",
    "InvalidCiphertextException",
    "InvalidGrantIdException",
    "InvalidGrantTokenException",
    "InvalidImportTokenException",
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
    "XksKeyAlreadyInUseException",
    "XksKeyInvalidConfigurationException",
    "XksKeyNotFoundException",
    "XksProxyIncorrectAuthenticationCredentialException",
    "XksProxyInvalidConfigurationException",
    "XksProxyInvalidResponseException",
    "XksProxyUriInUseException",
    "XksProxyUriUnreachableException",
]


class KmsError(EngineError):
    """Base of every error the KMS engine raises on purpose.

    A subclass is named exactly like the AWS error; its ``code`` is that name and its
    ``status`` the HTTP status AWS sends (400 unless the class says otherwise).
    """

    code = "KMSInternalException"

    def __init_subclass__(cls, *, status: int = 400) -> None:
        super().__init_subclass__()
        cls.code = cls.__name__
        cls.status = status

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


# The AWS errors, one line each unless AWS gives them a status other than 400 or a note helps.
class AccessDeniedException(KmsError):
    """The key policy, grants and (emulated) IAM do not allow the call."""


class AlreadyExistsException(KmsError): ...


class CloudHsmClusterInUseException(KmsError): ...


class CloudHsmClusterInvalidConfigurationException(KmsError): ...


class CloudHsmClusterNotActiveException(KmsError): ...


class CloudHsmClusterNotFoundException(KmsError): ...


class CloudHsmClusterNotRelatedException(KmsError): ...


class CustomKeyStoreHasCMKsException(KmsError): ...


class CustomKeyStoreInvalidStateException(KmsError): ...


class CustomKeyStoreNameInUseException(KmsError): ...


class CustomKeyStoreNotFoundException(KmsError): ...


class DisabledException(KmsError): ...


class DryRunOperationException(KmsError, status=412):
    """The request would have succeeded, but ``DryRun`` was set."""


class ExpiredImportTokenException(KmsError): ...


class IncorrectKeyException(KmsError): ...


class IncorrectKeyMaterialException(KmsError): ...


class IncorrectTrustAnchorException(KmsError): ...


class InvalidAliasNameException(KmsError): ...


class InvalidArnException(KmsError): ...


class InvalidCiphertextException(KmsError):
    """Any failure to open a ciphertext: one opaque error, whatever the cause."""


class InvalidGrantIdException(KmsError): ...


class InvalidGrantTokenException(KmsError): ...


class InvalidImportTokenException(KmsError): ...


class InvalidKeyUsageException(KmsError): ...


class InvalidMarkerException(KmsError): ...


class KMSInternalException(KmsError, status=500): ...


class KMSInvalidMacException(KmsError): ...


class KMSInvalidSignatureException(KmsError): ...


class KMSInvalidStateException(KmsError, status=409): ...


class KeyUnavailableException(KmsError, status=500): ...


class LimitExceededException(KmsError): ...


class MalformedPolicyDocumentException(KmsError): ...


class NotAuthorizedException(KmsError):
    """Used, as AWS does, for alias names in the reserved ``alias/aws/`` namespace."""


class NotFoundException(KmsError): ...


class SerializationException(KmsError):
    """A request body field could not be decoded (e.g. a blob that is not base64)."""


class TagException(KmsError): ...


class UnknownOperationException(KmsError):
    """``Kms.call`` was given an operation name the engine does not implement."""


class UnsupportedOperationException(KmsError): ...


class ValidationException(KmsError): ...


class XksKeyAlreadyInUseException(KmsError): ...


class XksKeyInvalidConfigurationException(KmsError): ...


class XksKeyNotFoundException(KmsError): ...


class XksProxyIncorrectAuthenticationCredentialException(KmsError): ...


class XksProxyInvalidConfigurationException(KmsError): ...


class XksProxyInvalidResponseException(KmsError): ...


class XksProxyUriInUseException(KmsError): ...


class XksProxyUriUnreachableException(KmsError): ...
