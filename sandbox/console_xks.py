"""``xks-proxy ...`` in the console: the external key manager behind the account's XKS proxy,
run by the learner as a bank runs its on-premises key manager. KMS reaches it only through an
external key store (``aws kms create-custom-key-store --custom-key-store-type
EXTERNAL_KEY_STORE ...``)."""

from __future__ import annotations

from .engine import XKS_MODES, XKS_PROXY_ENDPOINT, XKS_PROXY_PATH, SandboxEngine
from .models import SandboxAccount
from .services import sandbox_call

USAGE = """\
usage: xks-proxy <command>
  credentials                 the proxy's address and SigV4 credential, for KMS
  create-key --key-id <id>    a new AES-256 key in the external key manager
  list-keys                   its keys and their status
  disable-key --key-id <id>   KMS can no longer use it (the "off switch")
  enable-key --key-id <id>
  mode healthy|unreachable|malformed
                              make the proxy answer, vanish, or answer nonsense

An external key store encrypts twice: KMS with key material it holds for the KMS key, then
the external key through this proxy. Neither side alone can decrypt."""


def run_xks(account: SandboxAccount, words: list[str]) -> tuple[str, bool, str]:
    """(what to show, whether it worked, what the history keeps)."""
    if not words or words[0] in ("help", "--help"):
        return USAGE, bool(words), USAGE
    command, options = words[0], dict(zip(words[1::2], words[2::2], strict=False))
    key_id = options.get("--key-id", "")
    try:
        if command == "credentials":
            access_key_id, secret = sandbox_call(account=account, action=_credential)
            shown = _credentials_text(access_key_id, secret)
            return shown, True, _credentials_text(access_key_id, "(secret not kept in history)")
        if command == "list-keys":
            keys = sandbox_call(account=account, action=lambda engine: engine.xks.keys())
            lines = [f"{key}  {status}" for key, status in keys] or ["No external keys yet."]
            return "\n".join(lines), True, ""
        if command in ("create-key", "disable-key", "enable-key") and key_id:
            sandbox_call(account=account, action=lambda engine: _change(engine, command, key_id))
            return f"{command}: {key_id} done.", True, ""
        if command == "mode" and len(words) == 2 and words[1] in XKS_MODES:
            sandbox_call(account=account, action=lambda engine: engine.xks.set_mode(words[1]))
            return f"The XKS proxy is now {words[1]}.", True, ""
    except ValueError as error:
        return f"xks-proxy: {error}.", False, ""
    return USAGE, False, USAGE


def _credential(engine: SandboxEngine) -> tuple[str, str]:
    return engine.xks.credential()


def _change(engine: SandboxEngine, command: str, key_id: str) -> None:
    if command == "create-key":
        engine.xks.create_key(key_id)
    else:
        engine.xks.set_status(key_id, "ENABLED" if command == "enable-key" else "DISABLED")


def _credentials_text(access_key_id: str, secret: str) -> str:
    return (
        f"UriEndpoint: {XKS_PROXY_ENDPOINT}\nUriPath: {XKS_PROXY_PATH}\n"
        f"AccessKeyId: {access_key_id}\nRawSecretAccessKey: {secret}\n\n"
        "aws kms create-custom-key-store --custom-key-store-name ext \\\n"
        "    --custom-key-store-type EXTERNAL_KEY_STORE --xks-proxy-connectivity PUBLIC_ENDPOINT \\\n"
        f"    --xks-proxy-uri-endpoint {XKS_PROXY_ENDPOINT} --xks-proxy-uri-path {XKS_PROXY_PATH} \\\n"
        f"    --xks-proxy-authentication-credential AccessKeyId={access_key_id},"
        f"RawSecretAccessKey={secret}"
    )
