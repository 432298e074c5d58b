"""An emulated AWS KMS and AWS CloudHSM with real cryptography. Imports nothing from Django."""
