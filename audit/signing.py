"""The audit key: it seals every event and signs every checkpoint, and the database never holds it.

Someone who can write to the database but not read this key can recompute the chain's hashes, but
not the seals or the signatures, so a forged append, a cut end or a rehashed history shows. The key
comes from PDP_AUDIT_KEY, or else from the file PDP_AUDIT_KEY_FILE (made with a random key the first
time, readable by its owner only). docs/operation.md says where to keep it.
"""

import hashlib
import hmac
import json
import os
import secrets
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings


@cache
def _key(configured: str, path: str) -> bytes:
    if configured:
        return configured.encode()
    file = Path(path)
    if not file.exists():
        # Made whole under another name, then linked into place: two processes starting together
        # (the web and the worker) both end up reading the one that won.
        file.parent.mkdir(parents=True, exist_ok=True)
        draft = file.with_name(f".{file.name}.{os.getpid()}")
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        try:
            os.link(draft, file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    text = file.read_text().strip()
    if not text:
        raise RuntimeError(f"The audit key file {file} is empty; put the key back, or set PDP_AUDIT_KEY.")
    return text.encode()


def audit_key() -> bytes:
    return _key(settings.PDP_AUDIT_KEY, settings.PDP_AUDIT_KEY_FILE)


def key_id() -> str:
    """A short name of the key, safe to show and store: which key sealed or signed something."""
    return hashlib.sha256(b"pdp-audit-key-id:" + audit_key()).hexdigest()[:12]


def seal(event_hash: str) -> str:
    """The event's seal: an HMAC of its hash under the audit key."""
    return hmac.new(audit_key(), event_hash.encode(), hashlib.sha256).hexdigest()


def seal_matches(event_hash: str, stored: str) -> bool:
    return hmac.compare_digest(seal(event_hash), stored)


def canonical(statement: dict[str, Any]) -> bytes:
    return json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(statement: dict[str, Any]) -> str:
    return hmac.new(audit_key(), b"pdp-audit-checkpoint:" + canonical(statement), hashlib.sha256).hexdigest()


def signature_matches(statement: dict[str, Any], signature: str) -> bool:
    return hmac.compare_digest(sign(statement), signature)
