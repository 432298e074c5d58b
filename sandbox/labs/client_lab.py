"""Lab 9: the CloudHSM client on your own machine. A real PKCS #11 tool (OpenSC's
pkcs11-tool) loads p11-kit's client module, which spawns ``manage.py hsm_client``, which
reaches the learner's cluster through the sandbox's HSM endpoint. Graded from the HSM audit
log (events whose ``source`` is the PKCS #11 library) and from an uploaded signature that
must verify under a public key of the cluster."""

from __future__ import annotations

import base64
import sys
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from django.conf import settings
from django.urls import reverse

from ..engine import PKCS11_CLIENT, HsmKey, Inventory
from .base import Check, Event, Lab, LabState, Step, missing, passed
from .hsm_labs import NEEDS_CLUSTER

CLIENT_MODULE = "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so"
SIGNED_FILE = "release.txt"
SIGNATURE_FILE = "release.txt.sig"


def _client_events(state: LabState, operation: str) -> list[Event]:
    return [e for e in state.hsm(operation, result="ok") if e.data.get("source") == PKCS11_CLIENT]


def _connected(state: LabState) -> Check:
    if _client_events(state, "OpenSession"):
        return passed("The PKCS #11 library opened a session on one of your HSMs.")
    return missing("Run pkcs11-tool --list-slots, then --list-objects, with the client set up.")


def _logged_in(state: LabState) -> Check:
    events = _client_events(state, "Login")
    if events:
        return passed(f"Crypto user {events[-1].principal} logged in through PKCS #11 (C_Login).")
    return missing("Log in with --login --pin <user>:<password> (a crypto user).")


def _key_pair(state: LabState) -> Check:
    if _client_events(state, "KeyGenerateAsymmetricPair"):
        return passed("pkcs11-tool generated a key pair inside the HSM (C_GenerateKeyPair).")
    return missing("Generate a signing key pair with pkcs11-tool --keypairgen.")


def _signed(state: LabState) -> Check:
    if _client_events(state, "Sign"):
        return passed("The HSM signed through PKCS #11 (C_Sign); the private key never left it.")
    return missing("Sign release.txt with pkcs11-tool --sign.")


def _verifies(public: Any, data: bytes, signature: bytes) -> bool:
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            half = len(signature) // 2
            if signature[:1] != b"\x30":  # pkcs11-tool's default: raw r || s
                signature = utils.encode_dss_signature(
                    int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
                )
            public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def _public_keys(inventory: Inventory) -> list[tuple[HsmKey, Any]]:
    found = []
    for key in inventory.hsm_keys:
        if key.key_class == "public-key" and key.public_key:
            public = serialization.load_der_public_key(base64.b64decode(key.public_key))
            found.append((key, public))
    return found


def _verified(state: LabState) -> Check:
    pair = state.signatures.get(SIGNED_FILE)
    if pair is None:
        return missing(f"Upload {SIGNED_FILE} and {SIGNATURE_FILE} in the Files panel.")
    data, signature = pair
    for key, public in _public_keys(state.inventory):
        if _verifies(public, data, signature):
            return passed(
                f"{SIGNATURE_FILE} verifies offline under the public key {key.label or key.reference}"
                " of your cluster, as openssl dgst -verify does."
            )
    return missing(f"{SIGNATURE_FILE} does not verify under any public key of your cluster.")


def client_setup(
    request: Any, region: str, inventory: Inventory, access_key_id: str | None
) -> dict[str, Any]:
    """The exact environment for the learner's own cluster, for the lab page."""
    clusters = [c for c in inventory.clusters if c.state in ("ACTIVE", "INITIALIZED", "DEGRADED")]
    program = settings.BASE_DIR / "scripts" / "cloudhsm_client.py"
    endpoint = request.build_absolute_uri(reverse("sandbox_hsm_client"))
    cluster_id = clusters[0].cluster_id if clusters else "<cluster id>"
    return {
        "cluster_id": cluster_id,
        "has_cluster": bool(clusters),
        "access_key_id": access_key_id or "<access key id>",
        "has_access_key": access_key_id is not None,
        "region": region,
        "address": f"|{sys.executable} {program} --cluster {cluster_id} --endpoint {endpoint}",
        "module": CLIENT_MODULE,
        "signed_file": SIGNED_FILE,
        "signature_file": SIGNATURE_FILE,
    }


LAB9 = Lab(
    number=9,
    slug="cloudhsm-client-pkcs11",
    title="Install the CloudHSM client: PKCS #11 from real tools",
    service="CloudHSM",
    summary="Point a real PKCS #11 tool at your cluster, log in as a crypto user, generate a key "
    "pair in the HSM, sign a file with it, and verify the signature offline with openssl.",
    introduction=f"""\
The seed lesson's central contrast is the **access method**. KMS is an AWS API: you call it
with the AWS SDK or CLI and IAM decides. CloudHSM is reached through **industry-standard
APIs** (PKCS #11, JCE, OpenSSL, KSP/CNG) from the **CloudHSM client** on your EC2 instance,
and the HSM's own users decide: the PKCS #11 PIN is `username:password` of a crypto user.

Here your machine plays the EC2 instance. `pkcs11-tool` (OpenSC) and `python-pkcs11` load
`p11-kit-client.so`, a standard PKCS #11 module; it starts `manage.py hsm_client`, which is
the CloudHSM client: it keeps your sessions and login and sends each HSM operation to your
cluster over the sandbox's network endpoint, signed with your sandbox access key. Keys you
make here are the console's keys, and every call lands in the HSM audit log marked *via
{PKCS11_CLIENT}*.

{NEEDS_CLUSTER} You also need an access key (the *Access keys* page) and, on Debian,
`apt-get install p11-kit p11-kit-modules opensc` (the project's `make test` installs them).
The commands below are filled in for your cluster.
""",
    steps=(
        Step(
            "connect",
            "Configure the client and list your cluster's slot",
            "Export the variables of the *Client setup* panel, then:\n\n```\npkcs11-tool "
            "--module $MODULE --list-slots\npkcs11-tool --module $MODULE --list-objects\n```",
            "The slot's token label is your cluster id; without a login only public objects show.",
            _connected,
        ),
        Step(
            "login",
            "Log in as a crypto user",
            "```\npkcs11-tool --module $MODULE --login --pin alice:<password> --list-objects\n```",
            "Admins cannot log in through PKCS #11: keys belong to crypto users.",
            _logged_in,
        ),
        Step(
            "keypair",
            "Generate a signing key pair in the HSM",
            "```\npkcs11-tool --module $MODULE --login --pin alice:<password> --keypairgen "
            "--key-type rsa:2048 --label release-signer --id 09\n```",
            "The private key is generated inside the HSM, sensitive: it is never revealed.",
            _key_pair,
        ),
        Step(
            "sign",
            "Sign a file with the HSM key",
            f"```\necho 'version 1.0' > {SIGNED_FILE}\npkcs11-tool --module $MODULE --login "
            "--pin alice:<password> --sign --id 09 \\\n    --mechanism SHA256-RSA-PKCS "
            f"--input-file {SIGNED_FILE} --output-file {SIGNATURE_FILE}\n```",
            "C_SignInit + C_Sign: the HSM hashes and signs; only the signature comes back.",
            _signed,
        ),
        Step(
            "verify",
            "Verify the signature offline with openssl, then upload both files",
            "```\npkcs11-tool --module $MODULE --read-object --type pubkey --id 09 "
            "--output-file signer.der\nopenssl pkey -pubin -inform DER -in signer.der -out "
            f"signer.pem\nopenssl dgst -sha256 -verify signer.pem -signature {SIGNATURE_FILE} "
            f"{SIGNED_FILE}\n```\n\nUpload `{SIGNED_FILE}` and `{SIGNATURE_FILE}` in the "
            "*Files* panel so the grader can check them too.",
            "Anyone with the public key can verify: no HSM, no AWS call. `Verified OK`.",
            _verified,
        ),
    ),
    helpers=("hsm-client", "files"),
    exam_tip="PKCS #11, JCE, OpenSSL engine, KSP/CNG and a username:password PIN mean "
    "CloudHSM; an AWS SDK call authorized by IAM means KMS.",
    appendix="""\
**From Python** (`pip install python-pkcs11`), with the same environment:

```python
import pkcs11
from pkcs11 import KeyType, Mechanism

lib = pkcs11.lib("/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so")
with lib.get_token().open(rw=True, user_pin="alice:<password>") as session:
    public, private = session.generate_keypair(KeyType.EC, store=True, label="py-signer",
        public_template={pkcs11.Attribute.EC_PARAMS:
            pkcs11.util.ec.encode_named_curve_parameters("secp256r1")})
    digest = session.digest(b"firmware", mechanism=Mechanism.SHA256)
    signature = private.sign(digest, mechanism=Mechanism.ECDSA)
```

**From OpenSSL** (`apt-get install libengine-pkcs11-openssl`), signing with the same HSM key:

```
PKCS11_MODULE_PATH=$MODULE openssl dgst -sha256 -engine pkcs11 -keyform engine -sign \\
    'pkcs11:object=release-signer;type=private;pin-value=alice%3A<password>' -out by-openssl.sig release.txt
```

OpenSSL hashes the file and asks the HSM for a CKM_RSA_PKCS signature of the DigestInfo.

**What p11-kit 0.24 (Debian 12) cannot carry**: its client serializes only mechanisms
without parameters plus RSA-OAEP and RSA-PSS, so AES-GCM, AES-CBC-PAD and the AES key wraps
answer `CKR_MECHANISM_INVALID` before anything reaches the HSM. The server side speaks them;
p11-kit 0.25 and later carry them. Use the console (`key wrap aes-gcm`) for those here.
""",
)
