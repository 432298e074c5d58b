from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from accounts.form_fields import offer_choices

from .models import file_name_validator
from .services import ANALYST_USER, DEVELOPER_USER, MAX_FILE_BYTES, ROOT_USER

CLOCK_STEPS = {
    "5m": ("+5 minutes", 5 * 60),
    "15m": ("+15 minutes", 15 * 60),
    "1h": ("+1 hour", 3600),
    "1d": ("+1 day", 86400),
    "7d": ("+7 days", 7 * 86400),
    "30d": ("+30 days", 30 * 86400),
    "365d": ("+1 year", 365 * 86400),
}


def parse_context(text: str) -> dict[str, str]:
    """An encryption context typed as ``k=v,k2=v2`` or as a JSON object."""
    text = (text or "").strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            raise ValidationError("Not valid JSON.") from None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ValidationError("The JSON must map strings to strings.")
        return value
    pairs = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"“{item}” is not key=value.")
        pairs[key.strip()] = value.strip()
    return pairs


COMMAND_MAX_LENGTH = 16_000


class ConsoleForm(forms.Form):
    command = forms.CharField(max_length=COMMAND_MAX_LENGTH, strip=True, required=False)
    next = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)


class FileForm(forms.Form):
    upload = forms.FileField(required=False, label="File")
    name = forms.CharField(
        max_length=100,
        required=False,
        validators=[file_name_validator],
        help_text="Optional for uploads; required for text.",
    )
    text = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="…or type text",
        help_text="For example a key policy to use as file://policy.json.",
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        upload, text, name = data.get("upload"), data.get("text"), data.get("name")
        if upload is None and not text:
            raise ValidationError("Choose a file or type some text.")
        if upload is not None and upload.size > MAX_FILE_BYTES:
            raise ValidationError(f"Files are limited to {MAX_FILE_BYTES // 1024} KiB.")
        if upload is None and not name:
            raise ValidationError("Give the text a file name.")
        if upload is not None and not name:
            try:
                file_name_validator(upload.name)
            except ValidationError:
                raise ValidationError(
                    "The uploaded file's name has unusual characters: give it a name."
                ) from None
            data["name"] = upload.name
        return data

    def content(self) -> bytes:
        upload = self.cleaned_data.get("upload")
        if upload is not None:
            return bytes(upload.read())
        return str(self.cleaned_data["text"]).encode()


class AccessKeyForm(forms.Form):
    user_name = forms.ChoiceField(
        choices=[
            (ROOT_USER, "Account root (you)"),
            (ANALYST_USER, "IAM user analyst (lab 3)"),
            (DEVELOPER_USER, "IAM user developer (IAM policies: aws iam put-user-policy)"),
        ],
        initial=ROOT_USER,
        label="Signs as",
    )


class ClockForm(forms.Form):
    step = forms.ChoiceField(choices=[(k, label) for k, (label, _) in CLOCK_STEPS.items()])

    @property
    def seconds(self) -> int:
        return CLOCK_STEPS[self.cleaned_data["step"]][1]


class AuditFilterForm(forms.Form):
    service = forms.ChoiceField(
        choices=[("", "All services"), ("kms", "KMS (CloudTrail)"), ("hsm", "CloudHSM audit")],
        required=False,
    )
    operation = forms.ChoiceField(required=False)
    result = forms.ChoiceField(required=False)

    def __init__(
        self, *args: Any, operations: Iterable[Any] = (), results: Iterable[Any] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        offer_choices(
            self,
            "operation",
            [
                ("", "All operations"),
                *((op, op) for op in operations if op),
            ],
        )
        offer_choices(
            self,
            "result",
            [
                ("", "Any result"),
                ("success", "Succeeded"),
                ("failure", "Failed"),
                *((r, r) for r in results if r),
            ],
        )


def _choices(values: Iterable[str], empty: str) -> list[tuple[str, str]]:
    return [("", empty), *((v, v) for v in values)]


class EnvelopeEncryptForm(forms.Form):
    file_name = forms.ChoiceField(label="File")
    key_id = forms.ChoiceField(label="KMS key")
    context = forms.CharField(
        required=False, label="Encryption context", help_text="Optional: k=v,k2=v2"
    )

    def __init__(
        self, *args: Any, file_names: Iterable[Any] = (), keys: Iterable[Any] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        offer_choices(self, "file_name", _choices(file_names, "Choose a file"))
        offer_choices(self, "key_id", [("", "Choose a key"), *keys])

    def clean_context(self) -> Any:
        return parse_context(self.cleaned_data["context"])


class EnvelopeDecryptForm(forms.Form):
    package = forms.ChoiceField(label="Package")

    def __init__(self, *args: Any, packages: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_choices(self, "package", _choices(packages, "Choose a package"))


class AnalystForm(forms.Form):
    key_id = forms.ChoiceField(label="KMS key")
    operation = forms.ChoiceField(
        choices=[
            ("Encrypt", "Encrypt"),
            ("GenerateDataKeyWithoutPlaintext", "GenerateDataKeyWithoutPlaintext"),
            ("DescribeKey", "DescribeKey"),
        ]
    )
    context = forms.CharField(required=False, label="Encryption context")

    def __init__(self, *args: Any, keys: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_choices(self, "key_id", [("", "Choose a key"), *keys])

    def clean_context(self) -> Any:
        return parse_context(self.cleaned_data["context"])


class ClusterInitializeForm(forms.Form):
    cluster_id = forms.ChoiceField(label="Cluster")
    signed_certificate = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 5}), label="Signed cluster certificate"
    )
    trust_anchor = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 5}), label="Trust anchor (your CA)"
    )

    def __init__(
        self, *args: Any, clusters: Iterable[Any] = (), own: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.own = own
        offer_choices(self, "cluster_id", _choices(clusters, "Choose a cluster"))

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.own and not (data.get("signed_certificate") and data.get("trust_anchor")):
            raise ValidationError("Paste both the signed certificate and the trust anchor (PEM).")
        return data


class HsmChoiceForm(forms.Form):
    hsm_id = forms.ChoiceField(label="HSM")
    operation = forms.ChoiceField(
        choices=[
            ("fail", "Fail it (the HSM and its cluster become DEGRADED)"),
            ("replace", "Replace it (delete after a backup, create a new one from that backup)"),
        ],
        widget=forms.RadioSelect,
        initial="fail",
    )

    def __init__(self, *args: Any, hsms: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_choices(self, "hsm_id", [("", "Choose an HSM"), *hsms])


class HsmAddForm(forms.Form):
    cluster_id = forms.ChoiceField(label="Cluster")
    zone = forms.ChoiceField(label="Availability Zone")

    def __init__(
        self, *args: Any, clusters: Iterable[Any] = (), zones: Iterable[Any] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        offer_choices(self, "cluster_id", _choices(clusters, "Choose a cluster"))
        offer_choices(self, "zone", [(z, z) for z in zones])


class HsmLoginForm(forms.Form):
    cluster_id = forms.ChoiceField(label="Cluster")
    username = forms.CharField(max_length=31, label="Crypto user")
    password = forms.CharField(max_length=32, widget=forms.PasswordInput, label="Password")
    label = forms.CharField(max_length=127, label="Key label")

    def __init__(self, *args: Any, clusters: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_choices(self, "cluster_id", [(c, c) for c in clusters])


class PkiIssueForm(HsmLoginForm):
    csr = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        label="CSR (PEM)",
        help_text="Leave empty to let the sandbox make one.",
    )
    common_name = forms.CharField(max_length=64, initial="www.example.test", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["label"].label = "CA private key label"

    def clean_common_name(self) -> Any:
        return self.cleaned_data["common_name"] or "www.example.test"


class PkiVerifyForm(forms.Form):
    leaf_file = forms.ChoiceField(label="Certificate")
    ca_file = forms.ChoiceField(label="CA certificate")

    def __init__(self, *args: Any, file_names: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        certificates = [name for name in file_names if name.endswith((".crt", ".pem"))]
        offer_choices(self, "leaf_file", _choices(certificates, "Choose a certificate"))
        offer_choices(self, "ca_file", _choices(certificates, "Choose the CA certificate"))
