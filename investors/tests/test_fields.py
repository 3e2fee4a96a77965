"""PII at rest: tax ids, dates of birth and id numbers never reach the database in clear text."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import connection

from core.fields import decrypt_text, encrypt_text, mask, token_is_current
from core.tests.factories import UserFactory
from investors.models import InvestorDocument, InvestorProfile
from investors.tests.support import onboarded_individual

pytestmark = pytest.mark.django_db

OLD_KEY = "NzhB-NkcEknslufHuTAsSGe2L-roVeO5SSQ8WNN3wz4="
NEW_KEY = "90jYYWFCDDT_B8Q9Dv-7RwvGzn21_rl793gBopu4DCc="


def raw_row(table: str, pk: int, *columns: str) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()


def test_the_raw_columns_hold_no_clear_values() -> None:
    investor = onboarded_individual(UserFactory.create())
    tax_id, dob = raw_row("investors_investorprofile", investor.pk, "tax_id", "date_of_birth")
    assert "123456789" not in tax_id and "6789" not in tax_id
    assert "1980" not in dob and "05-17" not in dob
    assert tax_id.startswith("fernet:") and dob.startswith("fernet:")
    document = InvestorDocument.objects.get(investor=investor, kind="passport")
    (number,) = raw_row("investors_investordocument", document.pk, "document_number")
    assert "X1234567" not in number and number.startswith("fernet:")
    # …and the model reads them back in clear.
    fresh = InvestorProfile.objects.get(pk=investor.pk)
    assert fresh.tax_id == "123456789"
    assert fresh.date_of_birth == dt.date(1980, 5, 17)


def test_values_written_with_an_older_key_still_read_and_are_reencrypted(settings) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    investor = onboarded_individual(UserFactory.create())
    (old_token,) = raw_row("investors_investorprofile", investor.pk, "tax_id")
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]  # rotation: new key first
    assert not token_is_current(old_token)
    assert InvestorProfile.objects.get(pk=investor.pk).tax_id == "123456789"

    from django.core.management import call_command

    call_command("pii_reencrypt", verbosity=0)
    (new_token,) = raw_row("investors_investorprofile", investor.pk, "tax_id")
    assert new_token != old_token and token_is_current(new_token)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the old key can now be retired
    assert InvestorProfile.objects.get(pk=investor.pk).tax_id == "123456789"


def test_a_removed_key_is_a_clear_configuration_error(settings) -> None:
    token = encrypt_text("secret")
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        decrypt_text(token)
    settings.FIELD_ENCRYPTION_KEYS = []
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS is empty"):
        encrypt_text("x")


def test_encrypted_columns_cannot_be_searched_by_value() -> None:
    with pytest.raises(FieldError):
        list(InvestorProfile.objects.filter(tax_id="123456789"))
    assert list(InvestorProfile.objects.filter(tax_id__isnull=True)) == []


def test_mask_shows_only_the_last_characters() -> None:
    assert mask("123456789") == "•••••••89"
    assert mask("") == ""


def _stored(document: InvestorDocument) -> bytes:
    with document.file.open("rb") as handle:
        return handle.read()


def test_identity_documents_are_encrypted_at_rest_and_reencrypted_on_rotation(settings) -> None:
    from django.core.management import call_command
    from django.test import Client

    from core.fields import bytes_token_is_current
    from core.tests.files import png_bytes
    from investors.selectors import document_content

    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    investor = onboarded_individual(UserFactory.create())
    passport = InvestorDocument.objects.get(investor=investor, kind="passport")
    old = _stored(passport)
    assert png_bytes() not in old and b"PNG" not in old and bytes_token_is_current(old)

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]  # rotation: new key first
    assert not bytes_token_is_current(old)
    call_command("pii_reencrypt", verbosity=0)
    passport.refresh_from_db()
    new = _stored(passport)
    assert new != old and bytes_token_is_current(new)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the old key can now be retired
    assert document_content(document=passport) == png_bytes()
    client = Client()
    client.force_login(investor.user)
    response = client.get(f"/onboarding/documents/{passport.public_id}/")
    assert response.status_code == 200 and response.getvalue() == png_bytes()


def test_a_document_stored_before_encryption_is_encrypted_by_pii_reencrypt(settings) -> None:
    from django.core.files.base import ContentFile
    from django.core.management import call_command

    from core.fields import bytes_token_is_current
    from core.tests.files import pdf_bytes
    from investors.selectors import document_content

    investor = onboarded_individual(UserFactory.create())
    bill = InvestorDocument.objects.get(investor=investor, kind="proof_of_address")
    bill.file.save("legacy.pdf", ContentFile(pdf_bytes()), save=True)  # as the portal stored files before
    assert document_content(document=bill) == pdf_bytes()
    call_command("pii_reencrypt", verbosity=0)
    bill.refresh_from_db()
    assert bytes_token_is_current(_stored(bill)) and document_content(document=bill) == pdf_bytes()
