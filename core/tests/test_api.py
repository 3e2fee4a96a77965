from __future__ import annotations

import pytest
from django.test import Client

from core.tests.support import Cast


@pytest.mark.django_db
def test_the_openapi_schema_is_generated_and_lists_the_endpoints(client: Client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/me/", "/api/v1/issuers/", "/api/v1/issuers/{slug}/team/"} <= set(schema["paths"])
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    assert b"cdn" not in docs.content.lower()


@pytest.mark.django_db
def test_me_lists_the_roles_of_the_signed_in_user(client: Client, cast: Cast) -> None:
    client.force_login(cast.compliance)
    body = client.get("/api/v1/me/").json()
    assert body["email"] == cast.compliance.email
    assert body["roles"] == {cast.issuer.slug: "compliance_officer"}


@pytest.mark.django_db
def test_issuers_are_scoped_to_the_user(client: Client, cast: Cast) -> None:
    client.force_login(cast.other_admin)
    slugs = [i["slug"] for i in client.get("/api/v1/issuers/").json()["results"]]
    assert slugs == [cast.other_issuer.slug]
    client.force_login(cast.staff)
    assert len(client.get("/api/v1/issuers/").json()["results"]) == 2


@pytest.mark.django_db
def test_errors_have_one_shape(client: Client, cast: Cast) -> None:
    anonymous = client.get("/api/v1/me/").json()
    assert anonymous["error"]["code"] == "not_authenticated"
    client.force_login(cast.investor)
    denied = client.get(f"/api/v1/issuers/{cast.issuer.slug}/team/").json()
    assert denied["error"]["code"] == "permission_denied"
    missing = client.get("/api/v1/issuers/no-such-issuer/team/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("query", ["limit=99999999999999999999", "offset=99999999999999999999", "limit=0&offset=-1"])
def test_a_huge_limit_or_offset_is_bounded_not_a_server_error(cast, query: str) -> None:
    client = Client()
    client.force_login(cast.admin)
    response = client.get(f"/api/v1/issuers/?{query}")
    assert response.status_code == 200
