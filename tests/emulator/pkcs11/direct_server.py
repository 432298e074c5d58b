"""A p11-kit RPC server over an in-memory cluster (``hsm_world``), for tests that need a real
p11-kit-client.so but no web server:

    P11_KIT_SERVER_ADDRESS="|python -m tests.emulator.pkcs11.direct_server"

The cluster is the conformance world's: crypto users alice, bob and carol (``PASSWORDS``).
"""

from __future__ import annotations

import logging
import sys

from emulator.cloudhsm.pkcs11.library import Pkcs11Library
from emulator.cloudhsm.pkcs11.server import serve
from emulator.cloudhsm.pkcs11.wire import DirectLink
from tests.emulator.conformance.hsm_world import make_world


def main() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    world = make_world(1)
    link = DirectLink(lambda action: action(world.engine()))
    serve(Pkcs11Library(link, world.cluster_id), sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
