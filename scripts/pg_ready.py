"""Exit 0 when a PostgreSQL server accepts connections on 127.0.0.1:5432."""

import socket
import sys

try:
    with socket.create_connection(("127.0.0.1", 5432), timeout=2):
        sys.exit(0)
except OSError:
    sys.exit(1)
