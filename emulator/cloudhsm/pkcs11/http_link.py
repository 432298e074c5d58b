"""The client's network path to the sandbox's HSMs: each data-plane call is one HTTP POST of
JSON, signed with SigV4 (service ``cloudhsm``) by the sandbox access key, over one kept-alive
connection. The real CloudHSM client reaches its HSMs over TLS on ports 2223-2225; here the
sandbox's HTTP endpoint stands in for the cluster's network interfaces."""

from __future__ import annotations

import http.client
import json
import select
import socket
import urllib.parse
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ..errors import Pkcs11Error
from .wire import from_json, to_json

SERVICE = "cloudhsm"
TIMEOUT_SECONDS = 30


class HttpLink:
    """``call(name, **arguments)`` against ``endpoint`` (``http(s)://host:port/path``)."""

    def __init__(self, endpoint: str, *, access_key: str, secret_key: str, region: str) -> None:
        parts = urllib.parse.urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) endpoint: {endpoint!r}")
        self.endpoint = endpoint
        self._parts = parts
        self._signer = SigV4Auth(Credentials(access_key, secret_key), SERVICE, region)
        self._connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = (
                http.client.HTTPSConnection
                if self._parts.scheme == "https"
                else http.client.HTTPConnection
            )
            self._connection = kind(self._parts.netloc, timeout=TIMEOUT_SECONDS)
        return self._connection

    def call(self, name: str, /, **arguments: Any) -> Any:
        body = json.dumps({"call": name, "arguments": to_json(arguments)}).encode()
        request = AWSRequest("POST", self.endpoint, data=body)
        request.headers["Content-Type"] = "application/json"
        self._signer.add_auth(request)
        headers = dict(request.headers.items())
        path = self._parts.path or "/"
        status, payload = self._post(path, body, headers)
        if 300 <= status < 400:
            raise Pkcs11Error(
                "CKR_DEVICE_ERROR",
                f"the HSM endpoint redirects ({status}): use its https:// address as --endpoint",
            )
        try:
            answer = json.loads(payload)
        except ValueError:
            raise Pkcs11Error("CKR_DEVICE_ERROR", f"the HSM endpoint answered {status}") from None
        if status == 200 and isinstance(answer, dict) and "result" in answer:
            return from_json(answer["result"])
        if isinstance(answer, dict) and str(answer.get("error", "")).startswith("CKR_"):
            raise Pkcs11Error(str(answer["error"]), str(answer.get("message", "")))
        message = answer.get("message", "") if isinstance(answer, dict) else ""
        kind = answer.get("__type", status) if isinstance(answer, dict) else status
        raise Pkcs11Error(
            "CKR_DEVICE_ERROR", f"the HSM endpoint refused the call: {kind} {message}"
        )

    def _post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """One request. A call is not idempotent, so it is never sent twice: a kept-alive
        connection the server has closed is noticed (and replaced) before sending."""
        connection = self._connect()
        if connection.sock is not None and _closed_by_peer(connection.sock):
            self.close()
            connection = self._connect()
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise Pkcs11Error(
                "CKR_DEVICE_ERROR", f"cannot reach the HSMs at {self.endpoint}: {error}"
            ) from None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _closed_by_peer(sock: socket.socket) -> bool:
    """An idle kept-alive socket that is readable has been closed (or is broken)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
