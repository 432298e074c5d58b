"""The process-wide Sealer built from ``settings.SANDBOX_MASTER_KEY``."""

from __future__ import annotations

import base64
import binascii
import functools

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from emulator.core import Sealer


@functools.cache
def _sealer_for(master_key: str) -> Sealer:
    try:
        raw = base64.b64decode(master_key.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ImproperlyConfigured("SANDBOX_MASTER_KEY must be base64") from None
    if len(raw) != 32:
        raise ImproperlyConfigured("SANDBOX_MASTER_KEY must decode to 32 bytes")
    return Sealer(raw)


def sandbox_sealer() -> Sealer:
    """The Sealer for engine key material and access-key secrets (cached per master key)."""
    return _sealer_for(settings.SANDBOX_MASTER_KEY)
