"""Known-answer tests for the HSM primitives (NIST, RFC and FIPS vectors)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from emulator.cloudhsm import Pkcs11Error
from emulator.cloudhsm import primitives as prim

h = bytes.fromhex

# NIST GCM specification (McGrew & Viega), test cases 3, 4 and 16.
GCM_VECTORS = [
    pytest.param(
        "feffe9928665731c6d6a8f9467308308",
        "cafebabefacedbaddecaf888",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
        "",
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
        "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
        "4d5c2af327cd64a62cf35abd2ba6fab4",
        id="gcm-case-3",
    ),
    pytest.param(
        "feffe9928665731c6d6a8f9467308308",
        "cafebabefacedbaddecaf888",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
        "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
        "5bc94fbc3221a5db94fae95ae7121a47",
        id="gcm-case-4",
    ),
    pytest.param(
        "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
        "cafebabefacedbaddecaf888",
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
        "76fc6ece0f4e1768cddf8853bb2d551b",
        id="gcm-case-16",
    ),
]

# RFC 3394 section 4: (KEK, key data, wrapped).
KW_VECTORS = [
    pytest.param(
        "000102030405060708090a0b0c0d0e0f",
        "00112233445566778899aabbccddeeff",
        "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5",
        id="rfc3394-4.1",
    ),
    pytest.param(
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f",
        "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21",
        id="rfc3394-4.6",
    ),
]

# RFC 5649 section 6.
KWP_VECTORS = [
    pytest.param(
        "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8",
        "c37b7e6492584340bed12207808941155068f738",
        "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a",
        id="rfc5649-20-octets",
    ),
    pytest.param(
        "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8",
        "466f7250617369",
        "afbeb0f07dfbf5419200f2ccb50bb24f",
        id="rfc5649-7-octets",
    ),
]

# RFC 4231 test cases 1 and 2.
HMAC_VECTORS = [
    pytest.param(
        "0b" * 20,
        b"Hi There",
        "sha224",
        "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22",
        id="rfc4231-1-sha224",
    ),
    pytest.param(
        "0b" * 20,
        b"Hi There",
        "sha256",
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        id="rfc4231-1-sha256",
    ),
    pytest.param(
        "0b" * 20,
        b"Hi There",
        "sha384",
        "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
        "faea9ea9076ede7f4af152e8b2fa9cb6",
        id="rfc4231-1-sha384",
    ),
    pytest.param(
        "0b" * 20,
        b"Hi There",
        "sha512",
        "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
        "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
        id="rfc4231-1-sha512",
    ),
    pytest.param(
        b"Jefe".hex(),
        b"what do ya want for nothing?",
        "sha256",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        id="rfc4231-2-sha256",
    ),
]

# FIPS 180-4 examples: the message "abc".
DIGEST_VECTORS = [
    pytest.param("sha1", "a9993e364706816aba3e25717850c26c9cd0d89d", id="sha1"),
    pytest.param("sha224", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7", id="sha224"),
    pytest.param(
        "sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", id="sha256"
    ),
    pytest.param(
        "sha384",
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
        "8086072ba1e7cc2358baeca134c825a7",
        id="sha384",
    ),
    pytest.param(
        "sha512",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        id="sha512",
    ),
]

# NIST SP 800-38A F.2.1 (CBC) and F.5.1 (CTR), first block, AES-128.
SP800_38A_KEY = h("2b7e151628aed2a6abf7158809cf4f3c")
SP800_38A_BLOCK = h("6bc1bee22e409f96e93d7e117393172a")


def _code(exc_info: pytest.ExceptionInfo[Pkcs11Error]) -> str:
    return exc_info.value.code


@pytest.mark.parametrize(("key", "iv", "plaintext", "aad", "ciphertext", "tag"), GCM_VECTORS)
def test_aes_gcm_matches_nist_vectors(key, iv, plaintext, aad, ciphertext, tag):
    blob = prim.aes_gcm_encrypt(h(key), h(iv), h(plaintext), h(aad))
    assert blob == h(ciphertext) + h(tag)
    assert prim.aes_gcm_decrypt(h(key), h(iv), blob, h(aad)) == h(plaintext)


def test_aes_gcm_tampered_tag_or_aad_is_encrypted_data_invalid():
    key, iv = bytes(16), bytes(12)
    blob = prim.aes_gcm_encrypt(key, iv, b"secret", b"aad")
    with pytest.raises(Pkcs11Error) as tampered:
        prim.aes_gcm_decrypt(key, iv, blob[:-1] + bytes([blob[-1] ^ 1]), b"aad")
    with pytest.raises(Pkcs11Error) as wrong_aad:
        prim.aes_gcm_decrypt(key, iv, blob, b"other")
    assert _code(tampered) == _code(wrong_aad) == "CKR_ENCRYPTED_DATA_INVALID"


def test_aes_gcm_shorter_than_the_tag_is_a_length_error():
    with pytest.raises(Pkcs11Error) as error:
        prim.aes_gcm_decrypt(bytes(16), bytes(12), b"short", b"")
    assert _code(error) == "CKR_ENCRYPTED_DATA_LEN_RANGE"


@pytest.mark.parametrize(("iv", "tag_bits"), [(b"", 128), (bytes(12), 64), (bytes(12), 100)])
def test_aes_gcm_bad_parameters_are_rejected(iv, tag_bits):
    with pytest.raises(Pkcs11Error) as error:
        prim.aes_gcm_encrypt(bytes(16), iv, b"x", b"", tag_bits)
    assert _code(error) == "CKR_MECHANISM_PARAM_INVALID"


def test_aes_gcm_truncated_tags_round_trip():
    blob = prim.aes_gcm_encrypt(bytes(16), bytes(12), b"data", b"", 96)
    assert len(blob) == 4 + 12
    assert prim.aes_gcm_decrypt(bytes(16), bytes(12), blob, b"", 96) == b"data"


def test_aes_cbc_pad_first_block_matches_sp800_38a():
    iv = h("000102030405060708090a0b0c0d0e0f")
    ciphertext = prim.aes_cbc_pad_encrypt(SP800_38A_KEY, iv, SP800_38A_BLOCK)
    assert ciphertext[:16] == h("7649abac8119b246cee98e9b12e9197d")
    assert len(ciphertext) == 32  # a whole block of padding follows
    assert prim.aes_cbc_pad_decrypt(SP800_38A_KEY, iv, ciphertext) == SP800_38A_BLOCK


def test_aes_cbc_pad_bad_length_and_bad_padding_have_distinct_codes():
    with pytest.raises(Pkcs11Error) as bad_length:
        prim.aes_cbc_pad_decrypt(bytes(16), bytes(16), b"x" * 17)
    with pytest.raises(Pkcs11Error) as empty:
        prim.aes_cbc_pad_decrypt(bytes(16), bytes(16), b"")
    garbage = prim.aes_ctr(bytes(16), bytes(16), bytes(32))  # decrypts to junk padding
    with pytest.raises(Pkcs11Error) as bad_padding:
        prim.aes_cbc_pad_decrypt(bytes(16), bytes(16), garbage)
    assert _code(bad_length) == _code(empty) == "CKR_ENCRYPTED_DATA_LEN_RANGE"
    assert _code(bad_padding) == "CKR_ENCRYPTED_DATA_INVALID"


def test_aes_block_modes_need_a_16_byte_iv():
    with pytest.raises(Pkcs11Error) as error:
        prim.aes_cbc_pad_encrypt(bytes(16), bytes(8), b"x")
    assert _code(error) == "CKR_MECHANISM_PARAM_INVALID"


def test_aes_ctr_matches_sp800_38a():
    counter = h("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
    ciphertext = prim.aes_ctr(SP800_38A_KEY, counter, SP800_38A_BLOCK)
    assert ciphertext == h("874d6191b620e3261bef6864990db6ce")
    assert prim.aes_ctr(SP800_38A_KEY, counter, ciphertext) == SP800_38A_BLOCK


@pytest.mark.parametrize(("kek", "key", "wrapped"), KW_VECTORS)
def test_rfc3394_key_wrap_vectors(kek, key, wrapped):
    assert prim.aes_key_wrap(h(kek), h(key)) == h(wrapped)
    assert prim.aes_key_unwrap(h(kek), h(wrapped)) == h(key)


@pytest.mark.parametrize(("kek", "key", "wrapped"), KWP_VECTORS)
def test_rfc5649_key_wrap_with_padding_vectors(kek, key, wrapped):
    assert prim.aes_key_wrap_pad(h(kek), h(key)) == h(wrapped)
    assert prim.aes_key_unwrap_pad(h(kek), h(wrapped)) == h(key)


def test_key_wrap_integrity_failures_are_wrapped_key_invalid():
    kek = bytes(16)
    wrapped = prim.aes_key_wrap(kek, bytes(16))
    padded = prim.aes_key_wrap_pad(kek, bytes(20))
    for unwrap, blob in ((prim.aes_key_unwrap, wrapped), (prim.aes_key_unwrap_pad, padded)):
        with pytest.raises(Pkcs11Error) as error:
            unwrap(kek, blob[:-1] + bytes([blob[-1] ^ 1]))
        assert _code(error) == "CKR_WRAPPED_KEY_INVALID"


def test_key_wrap_length_errors():
    with pytest.raises(Pkcs11Error) as payload:
        prim.aes_key_wrap(bytes(16), bytes(20))
    with pytest.raises(Pkcs11Error) as wrapped:
        prim.aes_key_unwrap(bytes(16), bytes(20))
    with pytest.raises(Pkcs11Error) as padded:
        prim.aes_key_unwrap_pad(bytes(16), bytes(12))
    with pytest.raises(Pkcs11Error) as empty:
        prim.aes_key_wrap_pad(bytes(16), b"")
    assert _code(payload) == _code(empty) == "CKR_KEY_SIZE_RANGE"
    assert _code(wrapped) == _code(padded) == "CKR_WRAPPED_KEY_LEN_RANGE"


@pytest.mark.parametrize(("key", "data", "hash_name", "mac"), HMAC_VECTORS)
def test_hmac_matches_rfc4231(key, data, hash_name, mac):
    assert prim.hmac_sign(h(key), data, hash_name) == h(mac)
    prim.hmac_verify(h(key), data, h(mac), hash_name)


def test_hmac_verify_failures():
    mac = prim.hmac_sign(b"k" * 32, b"data", "sha256")
    with pytest.raises(Pkcs11Error) as wrong:
        prim.hmac_verify(b"k" * 32, b"datb", mac, "sha256")
    with pytest.raises(Pkcs11Error) as short:
        prim.hmac_verify(b"k" * 32, b"data", mac[:10], "sha256")
    assert _code(wrong) == "CKR_SIGNATURE_INVALID"
    assert _code(short) == "CKR_SIGNATURE_LEN_RANGE"


@pytest.mark.parametrize(("hash_name", "expected"), DIGEST_VECTORS)
def test_sha_digests_match_fips_180(hash_name, expected):
    assert prim.digest(b"abc", hash_name) == h(expected)


def test_aes_check_value_is_the_zero_block_encryption():
    # AES-128 with a zero key over a zero block is 66e94bd4... (FIPS 197 / common KAT).
    assert prim.aes_check_value(bytes(16)) == "0x66e94b"


def test_unknown_hash_is_a_parameter_error():
    with pytest.raises(Pkcs11Error) as error:
        prim.hash_algorithm("md5")
    assert _code(error) == "CKR_MECHANISM_PARAM_INVALID"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


def test_rsa_oaep_limits(rsa_key):
    with pytest.raises(Pkcs11Error) as too_long:
        prim.rsa_oaep_encrypt(rsa_key.public_key(), bytes(256 - 2 * 32 - 1), "sha256")
    with pytest.raises(Pkcs11Error) as wrong_size:
        prim.rsa_oaep_decrypt(rsa_key, bytes(100), "sha256")
    with pytest.raises(Pkcs11Error) as wrapped_size:
        prim.rsa_oaep_decrypt(rsa_key, bytes(100), "sha256", failure_code="CKR_WRAPPED_KEY_INVALID")
    assert _code(too_long) == "CKR_DATA_LEN_RANGE"
    assert _code(wrong_size) == "CKR_ENCRYPTED_DATA_LEN_RANGE"
    assert _code(wrapped_size) == "CKR_WRAPPED_KEY_LEN_RANGE"


def test_rsa_oaep_with_a_label_round_trips(rsa_key):
    blob = prim.rsa_oaep_encrypt(rsa_key.public_key(), b"m", "sha256", b"label")
    assert prim.rsa_oaep_decrypt(rsa_key, blob, "sha256", b"label") == b"m"
    with pytest.raises(Pkcs11Error):
        prim.rsa_oaep_decrypt(rsa_key, blob, "sha256", b"other")


def test_rsa_pss_prehashed_needs_a_digest_of_the_right_length(rsa_key):
    with pytest.raises(Pkcs11Error) as error:
        prim.rsa_pss_sign(rsa_key, b"not a digest", "sha256", prehashed=True)
    assert _code(error) == "CKR_DATA_LEN_RANGE"


def test_ecdsa_signatures_are_raw_r_and_s():
    key = ec.generate_private_key(ec.SECP384R1())
    signature = prim.ecdsa_sign(key, b"data", "sha384")
    assert len(signature) == 96
    prim.ecdsa_verify(key.public_key(), b"data", signature, "sha384")
    with pytest.raises(Pkcs11Error) as wrong_length:
        prim.ecdsa_verify(key.public_key(), b"data", signature[:-1], "sha384")
    with pytest.raises(Pkcs11Error) as bad_digest:
        prim.ecdsa_sign(key, b"seventeen bytes!!", None)
    assert _code(wrong_length) == "CKR_SIGNATURE_LEN_RANGE"
    assert _code(bad_digest) == "CKR_DATA_LEN_RANGE"
