"""API keys, scopes, hosts and origins (#12 "Keys"): who may read, write and delete.

Writes always need a key; reads need one unless the server allows public
reads; person-level answers and deletions need an admin key. No key or a bad
one is 401 with ``WWW-Authenticate``; a key whose scope is too low is 403.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from api.cli.serve import access_settings
from api.http.app import create_app
from api.http.settings import Settings
from ingest import Store, ingest_files
from ingest.keys import KeyRing

from .conftest import TestClient, write_example

UPLOAD = {
    "file": ("t.csv", b"touchpoint_id,user_id,ts,channel\nt9,u9,2024-01-02T00:00:00Z,Email\n")
}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "auth.duckdb")
    for table, file in write_example(tmp_path / "data").items():
        ingest_files(store, table, [file])
    return store


@pytest.fixture
def app_client(store: Store) -> Iterator[Callable[..., TestClient]]:
    """Build clients of an app on ``store`` with the settings given."""
    clients: list[TestClient] = []

    def build(**settings: Any) -> TestClient:
        client = TestClient(create_app(Settings(db_path=store.path, wait_seconds=0.2, **settings)))
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


def token(store: Store, scope: str) -> str:
    return KeyRing(store).create(f"test-{scope}", scope)[1]


def test_public_reads_need_no_key_but_writes_do(
    store: Store, app_client: Callable[..., TestClient], assert_problem: Callable[..., Any]
) -> None:
    client = app_client(public_read=True)
    assert client.get("/v1/attribution?model=linear").status_code == 200
    response = client.post("/v1/ingest/touchpoints", files=UPLOAD)
    body = assert_problem(response, 401, "Unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer realm="closedloop"'
    assert "write scope" in body["detail"]
    assert "closedloop keys create" in body["detail"]
    assert store.counts()["touchpoints"] == 4  # nothing written


def test_reads_need_a_key_unless_public(
    store: Store, app_client: Callable[..., TestClient], assert_problem: Callable[..., Any]
) -> None:
    client = app_client(public_read=False)
    response = client.get("/v1/attribution?model=linear")
    assert_problem(response, 401, "Unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    reader = token(store, "read")
    ok = client.get("/v1/attribution?model=linear", headers={"Authorization": f"Bearer {reader}"})
    assert ok.status_code == 200, ok.text
    assert client.get("/v1/models", headers={"X-API-Key": reader}).status_code == 200


def test_the_health_probe_answers_without_a_key_and_says_little(
    store: Store, app_client: Callable[..., TestClient]
) -> None:
    client = app_client(public_read=False)
    anonymous = client.get("/v1/health")
    assert anonymous.status_code == 200
    assert set(anonymous.json()) == {"status", "version"}
    keyed = client.get("/v1/health", headers={"X-API-Key": token(store, "read")}).json()
    assert keyed["store"] == "auth.duckdb"
    assert keyed["counts"]["touchpoints"] == 4


@pytest.mark.parametrize("scheme", ["bearer", "header"])
def test_scopes_are_ordered(
    store: Store,
    app_client: Callable[..., TestClient],
    assert_problem: Callable[..., Any],
    scheme: str,
) -> None:
    client = app_client(public_read=False)

    def headers(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if scheme == "bearer" else {"X-API-Key": key}

    reader, writer, admin = (token(store, s) for s in ("read", "write", "admin"))
    refused = client.post("/v1/ingest/touchpoints", files=UPLOAD, headers=headers(reader))
    body = assert_problem(refused, 403, "Forbidden")
    assert "write scope" in body["detail"]
    assert "read scope" in body["detail"]
    assert "www-authenticate" not in refused.headers
    for key in (writer, admin):
        response = client.post("/v1/ingest/touchpoints", files=UPLOAD, headers=headers(key))
        assert response.status_code == 200, response.text
    assert client.get("/v1/funnel", headers=headers(admin)).status_code == 200


def test_a_wrong_or_revoked_key_is_401(
    store: Store, app_client: Callable[..., TestClient], assert_problem: Callable[..., Any]
) -> None:
    client = app_client(public_read=True)
    writer = token(store, "write")
    for bad in ("nonsense", writer[:-1] + ("A" if writer[-1] != "A" else "B"), "clk_" + "0" * 12):
        response = client.post("/v1/ingest/touchpoints", files=UPLOAD, headers={"X-API-Key": bad})
        assert_problem(response, 401, "Unauthorized")
    # A key given on a public read is still checked: a mistyped key is said so.
    assert client.get("/v1/models", headers={"X-API-Key": "nonsense"}).status_code == 401
    assert client.post(
        "/v1/ingest/touchpoints", files=UPLOAD, headers={"X-API-Key": writer}
    ).is_success
    KeyRing(store).revoke(writer.split("_")[1])  # as `closedloop keys revoke` would
    response = client.post("/v1/ingest/touchpoints", files=UPLOAD, headers={"X-API-Key": writer})
    assert_problem(response, 401, "Unauthorized")


def test_person_level_answers_need_an_admin_key(
    store: Store, app_client: Callable[..., TestClient], assert_problem: Callable[..., Any]
) -> None:
    client = app_client(public_read=True)
    assert_problem(client.get("/v1/paths?by=user_id"), 401, "Unauthorized")
    writer = {"X-API-Key": token(store, "write")}
    body = assert_problem(client.get("/v1/paths?by=user_id", headers=writer), 403, "Forbidden")
    assert "admin scope" in body["detail"]
    admin = {"X-API-Key": token(store, "admin")}
    listed = client.get("/v1/paths?by=user_id", headers=admin)
    assert listed.status_code == 200, listed.text
    # Only path listings are keyed by person; other answers refuse it even for an admin.
    refused = client.get("/v1/attribution?model=linear&by=touchpoint_id", headers=admin)
    assert_problem(refused, 422, "Invalid parameter")


def test_deleting_a_person_needs_an_admin_key_and_says_what_went(
    store: Store, app_client: Callable[..., TestClient], assert_problem: Callable[..., Any]
) -> None:
    client = app_client(public_read=True)
    assert_problem(client.delete("/v1/persons/u1"), 401, "Unauthorized")
    writer = {"X-API-Key": token(store, "write")}
    assert_problem(client.delete("/v1/persons/u1", headers=writer), 403, "Forbidden")
    admin = {"X-API-Key": token(store, "admin")}
    response = client.delete("/v1/persons/u1", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "user_id": "u1",
        "ids": ["u1"],
        "touchpoints": 2,
        "conversions": 2,
        "identities": 0,
        "accounts": 0,
        "rows": 4,
    }
    assert store.counts()["touchpoints"] == 2
    again = client.delete("/v1/persons/u1", headers=admin)
    assert_problem(again, 404, "Not Found")


def test_other_hosts_are_refused(
    app_client: Callable[..., TestClient], assert_problem: Callable[..., Any]
) -> None:
    client = app_client(allowed_hosts=("127.0.0.1", "localhost"))
    ok = client.get("/v1/models", headers={"Host": "127.0.0.1:8000"})
    assert ok.status_code == 200
    response = client.get("/v1/models", headers={"Host": "rebound.evil.example"})
    body = assert_problem(response, 400, "Invalid host header")
    assert "--allowed-host" in body["detail"]
    assert response.headers["x-frame-options"] == "DENY"


def test_cors_is_off_by_default_and_configurable(
    store: Store, app_client: Callable[..., TestClient]
) -> None:
    origin = "https://bi.example.com"
    closed = app_client()
    assert (
        "access-control-allow-origin"
        not in closed.get("/v1/models", headers={"Origin": origin}).headers
    )
    opened = app_client(cors_origins=(origin,))
    preflight = opened.options(
        "/v1/ingest/touchpoints",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    writer = {"X-API-Key": token(store, "write"), "Origin": origin}
    response = opened.post("/v1/ingest/touchpoints", files=UPLOAD, headers=writer)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == origin
    other = {**writer, "Origin": "https://elsewhere.example"}
    assert opened.post("/v1/ingest/touchpoints", files=UPLOAD, headers=other).status_code == 403


@pytest.mark.parametrize("kind", ["text/plain", "application/x-www-form-urlencoded"])
def test_form_bodies_are_refused_on_writes(
    store: Store,
    app_client: Callable[..., TestClient],
    assert_problem: Callable[..., Any],
    kind: str,
) -> None:
    client = app_client()
    headers = {"X-API-Key": token(store, "write"), "Content-Type": kind}
    response = client.post("/v1/ingest/touchpoints", content=b"a=1", headers=headers)
    assert_problem(response, 415, "Unsupported Media Type")
    response = client.post("/v1/budget/whatif", content=b'{"allocation": {}}', headers=headers)
    assert_problem(response, 415, "Unsupported Media Type")


def test_keys_are_stored_hashed_and_not_exported(store: Store, tmp_path: Path) -> None:
    key, secret = KeyRing(store).create("loader", "write")
    raw = store.path.read_bytes() + (
        store.path.with_name(store.path.name + ".wal").read_bytes()
        if store.path.with_name(store.path.name + ".wal").exists()
        else b""
    )
    assert secret.encode() not in raw
    assert secret.split("_")[2].encode() not in raw
    store.export(tmp_path / "lake")
    assert not (tmp_path / "lake" / "api_keys").exists()
    assert [k.key_id for k in KeyRing(store).list()] == [key.key_id]


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_the_keys_command_creates_lists_and_revokes(
    store: Store, app_client: Callable[..., TestClient]
) -> None:
    db = str(store.path)
    code, out, _ = run_cli("keys", "create", "--name", "loader", "--scope", "write", "--db", db)
    assert code == 0
    secret = out.splitlines()[0]
    assert secret.startswith("clk_")
    assert "only time it is shown" in out
    code, out, _ = run_cli("keys", "list", "--format", "json", "--db", db)
    (listed,) = json.loads(out)
    assert listed["name"] == "loader"
    assert listed["scope"] == "write"
    assert listed["revoked_at"] is None
    assert "key" not in listed
    client = app_client()
    assert client.post(
        "/v1/ingest/touchpoints", files=UPLOAD, headers={"X-API-Key": secret}
    ).is_success
    code, _, err = run_cli("keys", "revoke", listed["key_id"], "--db", db)
    assert code == 0
    assert "revoked" in err
    denied = client.post("/v1/ingest/touchpoints", files=UPLOAD, headers={"X-API-Key": secret})
    assert denied.status_code == 401
    code, out, _ = run_cli("keys", "list", "--db", db)
    assert "revoked" in out
    code, _, err = run_cli("keys", "revoke", "0123456789ab", "--db", db)
    assert code == 2
    assert "keys list" in err
    code, _, err = run_cli("keys", "create", "--name", "x", "--scope", "root", "--db", db)
    assert code == 2


def test_serve_defaults_follow_the_address() -> None:
    local = access_settings("127.0.0.1")
    assert local["public_read"] is True
    assert "localhost" in local["allowed_hosts"]
    assert access_settings("::1")["public_read"] is True
    everywhere = access_settings("0.0.0.0")
    assert everywhere["public_read"] is False
    assert everywhere["allowed_hosts"] == ("*",)
    named = access_settings("0.0.0.0", allowed_hosts=["api.example.com"], public_read=True)
    assert named["allowed_hosts"] == ("api.example.com",)
    assert named["public_read"] is True
