"""The Django admin cannot hand out privileged roles: they are given only through invitations."""

from __future__ import annotations

import pytest
from django.test import Client

from core.tests.factories import UserFactory
from core.tests.support import Cast


@pytest.fixture
def superuser_client(client: Client) -> Client:
    operator = UserFactory.create(email="operator@tessera.example", is_staff=True, is_superuser=True, mfa=True)
    client.force_login(operator)
    return client


@pytest.mark.django_db
def test_an_issuers_admin_page_shows_its_team_but_cannot_change_it(superuser_client: Client, cast: Cast) -> None:
    page = superuser_client.get(f"/admin/core/issuer/{cast.issuer.pk}/change/").content.decode()
    assert cast.admin.email in page  # the team is listed
    assert 'name="memberships-0-role"' not in page  # but no role can be edited
    assert 'name="memberships-0-DELETE"' not in page  # nor a member removed
    assert 'name="memberships-MAX_NUM_FORMS" value="0"' in page  # nor one added


@pytest.mark.django_db
def test_a_users_admin_page_cannot_make_them_staff(superuser_client: Client) -> None:
    someone = UserFactory.create(email="someone@example.com")
    page = superuser_client.get(f"/admin/core/user/{someone.pk}/change/")
    assert page.status_code == 200
    assert 'name="is_staff"' not in page.content.decode()
    superuser_client.post(
        f"/admin/core/user/{someone.pk}/change/",
        {"email": someone.email, "full_name": "Someone", "is_active": "on", "is_staff": "on", "is_superuser": "on"},
    )
    someone.refresh_from_db()
    assert not someone.is_staff and not someone.is_superuser
