"""``private-encrypted-`` channels: NaCl secretbox payloads keyed per channel.

shared secret = SHA-256(channel name + master key) (PUSHER-PROTOCOL.md). PyNaCl
is an optional extra (``pip install 'wsdiag[encryption]'``): without it only
encrypted channels are affected, with a message saying how to get it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

ENCRYPTED_PREFIX = "private-encrypted-"


class DecryptError(ValueError):
    """The payload cannot be decrypted; the message says why."""


def is_encrypted(channel: str) -> bool:
    return channel.startswith(ENCRYPTED_PREFIX)


def parse_master_key(text: str) -> bytes:
    """``--encryption-master-key``: base64 of exactly 32 bytes."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "the encryption master key must be base64 (e.g. `openssl rand -base64 32`)"
        ) from None
    if len(key) != 32:
        raise ValueError(f"the encryption master key must decode to 32 bytes, not {len(key)}")
    return key


def channel_secret(channel: str, master_key: bytes) -> bytes:
    return hashlib.sha256(channel.encode() + master_key).digest()


def nacl_available() -> bool:
    try:
        import nacl.secret  # noqa: F401
    except ImportError:
        return False
    return True


def decrypt_payload(channel: str, data: Any, master_key: bytes) -> Any:
    """The plaintext of ``{"ciphertext", "nonce"}`` (JSON-decoded when it is JSON)."""
    if not nacl_available():
        raise DecryptError(
            "decrypting private-encrypted- channels needs PyNaCl: pip install 'wsdiag[encryption]'"
        )
    import nacl.exceptions
    import nacl.secret

    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            raise DecryptError("the encrypted payload is not JSON") from None
    if not isinstance(data, dict) or not {"ciphertext", "nonce"} <= data.keys():
        raise DecryptError("the encrypted payload has no ciphertext/nonce")
    try:
        ciphertext = base64.b64decode(data["ciphertext"])
        nonce = base64.b64decode(data["nonce"])
        plain = nacl.secret.SecretBox(channel_secret(channel, master_key)).decrypt(
            ciphertext, nonce
        )
    except (binascii.Error, TypeError, ValueError, nacl.exceptions.CryptoError):
        raise DecryptError(
            "the payload does not decrypt with this master key: the publisher uses a different "
            "encryption master key"
        ) from None
    text = plain.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def encrypt_payload(channel: str, plaintext: str, master_key: bytes) -> dict[str, str]:
    """``{"nonce", "ciphertext"}`` (base64) of ``plaintext`` for ``channel``, a fresh nonce each."""
    if not nacl_available():
        raise DecryptError("encrypting needs PyNaCl: pip install 'wsdiag[encryption]'")
    import nacl.secret
    import nacl.utils

    box = nacl.secret.SecretBox(channel_secret(channel, master_key))
    nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    sealed = box.encrypt(plaintext.encode(), nonce)
    return {
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(sealed.ciphertext).decode(),
    }


def encrypt_data(channel: str, plaintext: str, master_key: bytes) -> str:
    """The event's ``data`` as the server libraries publish it on an encrypted channel.

    The JSON string of ``{"nonce", "ciphertext"}``, compact as pusher-http-node and
    pusher-http-php write it (pusher-http-python adds spaces; clients parse either).
    """
    return json.dumps(encrypt_payload(channel, plaintext, master_key), separators=(",", ":"))
