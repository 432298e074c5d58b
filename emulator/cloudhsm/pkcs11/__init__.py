"""The CloudHSM PKCS #11 library, served to real PKCS #11 applications through p11-kit.

``rpc`` is p11-kit's wire format, ``server`` answers its calls, ``library`` and
``operations`` are the client library's state (slot, sessions, login, operations),
``templates`` translates attributes, ``wire`` lists the calls that reach the HSMs and
``http_link`` carries them to the sandbox; ``bridge`` is the program p11-kit spawns.
"""
