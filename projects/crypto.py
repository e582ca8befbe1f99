"""Encryption at rest for secrets (registry passwords, kubeconfigs): Fernet through MultiFernet.

Keys come from settings.B2I_SECRET_KEYS (comma-separated in the environment): the first key
encrypts, every key decrypts, so a key is rotated by putting the new key first, running
`manage.py rotate_secret_keys`, then dropping the old key.

Other apps reuse `encrypt_text` / `decrypt_text` for their own secrets.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretKeysMisconfigured(ImproperlyConfigured):
    """B2I_SECRET_KEYS is missing or holds something that is not a Fernet key."""


class SecretDecryptionError(Exception):
    """A stored secret cannot be decrypted with any key in B2I_SECRET_KEYS."""

    code = "secret:undecryptable"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (
            "A stored secret cannot be decrypted with any key in B2I_SECRET_KEYS: the key it was "
            "encrypted with was removed or changed. Put that key back in B2I_SECRET_KEYS "
            "(after the current one), or re-enter the secret."
        )
        super().__init__(self.message)


@lru_cache(maxsize=4)
def _multi_fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise SecretKeysMisconfigured(
            "B2I_SECRET_KEYS is empty: set it to one or more comma-separated Fernet keys "
            '(make one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())")'
        )
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode()))
        except (ValueError, TypeError) as exc:
            raise SecretKeysMisconfigured(
                f"B2I_SECRET_KEYS entry {position} is not a Fernet key "
                "(32 bytes, url-safe base64 encoded, 44 characters)"
            ) from exc
    return MultiFernet(fernets)


def multi_fernet() -> MultiFernet:
    """Return the MultiFernet built from the current settings (cached per key list)."""
    return _multi_fernet_for(tuple(settings.B2I_SECRET_KEYS))


def encrypt_text(plaintext: str) -> str:
    """Encrypt text with the first key; the result is an ASCII Fernet token."""
    return multi_fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt_text(token: str) -> str:
    """Decrypt a Fernet token with any configured key, or raise SecretDecryptionError."""
    try:
        return multi_fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise SecretDecryptionError() from exc


def reencrypt_text(token: str) -> str:
    """Re-encrypt a token with the first key (MultiFernet.rotate keeps the original timestamp)."""
    try:
        return multi_fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as exc:
        raise SecretDecryptionError() from exc


# (app_label.ModelName, field name) of every column holding encrypt_text() tokens; the
# rotate_secret_keys command re-encrypts them all. Other apps register theirs in AppConfig.ready().
ENCRYPTED_FIELDS: list[tuple[str, str]] = [("projects.RegistrySecret", "password_encrypted")]


def register_encrypted_field(model_label: str, field_name: str) -> None:
    """Declare a column of encrypt_text() tokens so key rotation re-encrypts it."""
    if (model_label, field_name) not in ENCRYPTED_FIELDS:
        ENCRYPTED_FIELDS.append((model_label, field_name))
