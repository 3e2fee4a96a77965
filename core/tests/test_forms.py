"""Every form draws through one field template: Bootstrap classes from the form, errors next to their field."""

from __future__ import annotations

from core.forms import IssuerCreateForm


def test_a_field_with_an_error_is_marked_and_its_message_and_help_sit_below_it() -> None:
    form = IssuerCreateForm(data={"name": "Beacon", "country": "1x"})
    assert not form.is_valid()
    html = str(form["country"].as_field_group())
    assert 'class="form-control is-invalid"' in html
    assert '<div class="invalid-feedback d-block">Use a two-letter ISO country code such as US or DE.</div>' in html
    assert 'aria-describedby="id_country_helptext id_country_error"' in html
    assert 'id="id_country_helptext"' in html and 'id="id_country_error"' in html
    assert 'class="form-control"' in str(form["name"].as_field_group())


def test_errors_added_after_validation_mark_the_field_too() -> None:
    form = IssuerCreateForm(
        data={"name": "B", "legal_name": "B LP", "jurisdiction": "DE", "country": "DE", "admin_email": "a@b.example"}
    )
    assert form.is_valid()
    form.add_error("admin_email", "No registered user has this e-mail address.")
    form.add_error(None, "Something else went wrong.")
    html = str(form)
    assert 'class="form-control is-invalid"' in html
    assert '<div class="alert alert-danger" role="alert"><ul class="mb-0"><li>Something else went wrong.</li>' in html
