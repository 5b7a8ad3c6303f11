"""API keys: created once, stored hashed in the store file, checked in constant time.

A key is ``clk_<id>_<secret>``: ``id`` (12 hex digits) names it in lists and
revocations, ``secret`` (43 URL-safe characters, 256 random bits from
:mod:`secrets`) proves it. Only the SHA-256 of the secret is stored, in the
table ``api_keys`` of the store file beside the data it guards; the key
itself is shown once, when it is created. A plain hash is the right tool
for random 256-bit secrets (a slow password hash protects *guessable*
passwords; nobody guesses 256 random bits), and it keeps checking a key
cheap enough for every request. Comparison is :func:`hmac.compare_digest`.

Scopes are ordered: ``read`` (every ``GET`` and the read-only computations),
``write`` (also ingest: anything that changes the store) and ``admin`` (also
person-level answers and deleting a person). A key has one scope and
:meth:`ApiKey.allows` a scope at or below it.

Keys are not data: creating or revoking one does not move the store's
``data_version`` (cached answers stay valid), and ``closedloop export`` does
not copy them.

Examples
--------
>>> import tempfile, pathlib
>>> from ingest import Store
>>> ring = KeyRing(Store(pathlib.Path(tempfile.mkdtemp()) / "keys.duckdb"))
>>> key, token = ring.create("dashboard", "read")
>>> ring.verify(token) == key, ring.verify(token + "x")
(True, None)
>>> key.allows("read"), key.allows("write")
(True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from attribution.errors import ParameterError
from ingest.store import Store, _file_state

SCOPES = ("read", "write", "admin")
"""Key scopes, each allowing everything the ones before it allow."""

TOKEN_PREFIX = "clk_"
_TOKEN = re.compile(r"^clk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_ID = re.compile(r"^[0-9a-f]{12}$")

_CREATE = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    scope VARCHAR NOT NULL,
    secret_sha256 VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
)
"""


def check_scope(scope: str) -> str:
    """Return ``scope`` when it is one of :data:`SCOPES`, else raise :class:`ParameterError`.

    Examples
    --------
    >>> check_scope("write")
    'write'
    >>> check_scope("root")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Unknown key scope 'root': choose read, write or admin.
    """
    if scope not in SCOPES:
        raise ParameterError(f"Unknown key scope {scope[:32]!r}: choose read, write or admin.")
    return scope


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """One key as stored: never its secret.

    Examples
    --------
    >>> key = ApiKey("0123456789ab", "ci", "write", datetime(2026, 1, 1, tzinfo=UTC))
    >>> key.allows("read"), key.allows("write"), key.allows("admin"), key.active
    (True, True, False, True)
    """

    key_id: str
    name: str
    scope: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Say whether the key still opens anything (not revoked).

        Examples
        --------
        >>> ApiKey("0123456789ab", "ci", "read", datetime(2026, 1, 1, tzinfo=UTC)).active
        True
        """
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        """Say whether this key may do what ``scope`` needs (an active key of that scope or above).

        Examples
        --------
        >>> ApiKey("0123456789ab", "ops", "admin", datetime(2026, 1, 1, tzinfo=UTC)).allows("write")
        True
        """
        return self.active and SCOPES.index(self.scope) >= SCOPES.index(check_scope(scope))

    def to_dict(self) -> dict[str, str | None]:
        """Return the key as JSON-ready fields (ISO 8601 times).

        Examples
        --------
        >>> key = ApiKey("0123456789ab", "ci", "read", datetime(2026, 1, 1, tzinfo=UTC))
        >>> key.to_dict()["scope"]
        'read'
        """
        return {
            "key_id": self.key_id,
            "name": self.name,
            "scope": self.scope,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


_cache_guard = threading.Lock()
_cached: dict[str, tuple[tuple[int, ...], dict[str, tuple[str, ApiKey]]]] = {}
"""Per store file: its size and modification times, and its keys by id (digest, key)."""


class KeyRing:
    """The API keys of one store: create, list, revoke, verify.

    Parameters
    ----------
    store
        The store whose file keeps the keys (table ``api_keys``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ingest import Store
    >>> ring = KeyRing(Store(pathlib.Path(tempfile.mkdtemp()) / "ring.duckdb"))
    >>> key, token = ring.create("loader", "write")
    >>> token.startswith("clk_" + key.key_id + "_")
    True
    >>> ring.revoke(key.key_id).active, ring.verify(token)
    (False, None)
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, name: str, scope: str) -> tuple[ApiKey, str]:
        """Create a key; return it and its token (the only time the token is shown).

        Raises
        ------
        ParameterError
            When the scope is unknown or the name is empty or longer than 100 characters.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from ingest import Store
        >>> ring = KeyRing(Store(pathlib.Path(tempfile.mkdtemp()) / "c.duckdb"))
        >>> key, token = ring.create("dashboard", "read")
        >>> key.name, key.scope, len(token)
        ('dashboard', 'read', 60)
        """
        check_scope(scope)
        name = name.strip()
        if not name or len(name) > 100 or not name.isprintable():
            raise ParameterError(
                "A key needs a name of 1 to 100 printable characters, e.g. --name dashboard."
            )
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        key = ApiKey(key_id, name, scope, datetime.now(UTC))
        with self.store._write_lock, self.store._connect() as con:
            con.execute(_CREATE)
            con.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL)",
                [key_id, name, scope, _digest(secret), key.created_at],
            )
        return key, f"{TOKEN_PREFIX}{key_id}_{secret}"

    def list(self) -> list[ApiKey]:
        """Return every key, revoked ones included, oldest first.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from ingest import Store
        >>> ring = KeyRing(Store(pathlib.Path(tempfile.mkdtemp()) / "l.duckdb"))
        >>> ring.list()
        []
        """
        return sorted(
            (key for _, key in self._keys().values()), key=lambda k: (k.created_at, k.key_id)
        )

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by its id; it stops opening anything at once.

        Raises
        ------
        ParameterError
            When no key has that id.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from ingest import Store
        >>> ring = KeyRing(Store(pathlib.Path(tempfile.mkdtemp()) / "r.duckdb"))
        >>> ring.revoke("0123456789ab")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        attribution.errors.ParameterError: No key has the id '0123456789ab'; ...
        """
        key_id = key_id.strip().lower()
        if key_id.startswith(TOKEN_PREFIX):  # a whole token given: take its id
            key_id = key_id[len(TOKEN_PREFIX) :].split("_", 1)[0]
        with self.store._write_lock, self.store._connect() as con:
            con.execute(_CREATE)
            con.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                [datetime.now(UTC), key_id],
            )
        known = self._keys(fresh=True).get(key_id) if _ID.match(key_id) else None
        if known is None:
            raise ParameterError(
                f"No key has the id {key_id[:32]!r}; `closedloop keys list` shows the ids."
            )
        return known[1]

    def verify(self, token: str) -> ApiKey | None:
        """Return the active key a token proves, or ``None`` (unknown, malformed, revoked).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from ingest import Store
        >>> ring = KeyRing(Store(pathlib.Path(tempfile.mkdtemp()) / "v.duckdb"))
        >>> ring.verify("clk_0123456789ab_" + "A" * 43) is None
        True
        """
        match = _TOKEN.match(token.strip())
        if match is None:
            return None
        known = self._keys().get(match.group(1))
        if known is None:
            hmac.compare_digest(_digest(match.group(2)), "0" * 64)  # same work either way
            return None
        digest, key = known
        if not hmac.compare_digest(_digest(match.group(2)), digest) or not key.active:
            return None
        return key

    def _keys(self, *, fresh: bool = False) -> dict[str, tuple[str, ApiKey]]:
        """Read the keys, from memory while the store file has not changed."""
        path = self.store.path
        state = _file_state(path)
        name = str(path.resolve())
        with _cache_guard:
            seen = _cached.get(name)
        if seen is not None and seen[0] == state and not fresh:
            return seen[1]
        with self.store._connect() as con:
            present = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'api_keys'"
            ).fetchone()
            rows = (
                con.execute(
                    "SELECT key_id, name, scope, secret_sha256, created_at, revoked_at "
                    "FROM api_keys"
                ).fetchall()
                if present and present[0]
                else []
            )
        keys = {
            row[0]: (row[3], ApiKey(row[0], row[1], row[2], _utc(row[4]), _utc_or_none(row[5])))
            for row in rows
        }
        with _cache_guard:
            _cached[name] = (state, keys)
        return keys


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


__all__ = ["SCOPES", "ApiKey", "KeyRing", "check_scope"]
