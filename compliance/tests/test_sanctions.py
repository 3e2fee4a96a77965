"""OFAC list loading and fuzzy screening: who hits, who must not, and what a hit does to an investor."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from compliance.models import HitStatus, SanctionsList, ScreeningHit
from compliance.sanctions import ofac
from compliance.sanctions.matching import Subject
from compliance.services.sanctions import (
    investor_screen,
    matcher_for,
    sanctions_files_fetch,
    sanctions_list_load,
    screening_hit_clear,
    screening_hit_confirm,
)
from compliance.tests.support import OFAC_FIXTURE, approved_investor
from core.errors import ApplicationError
from core.models import AuditEvent
from investors.models import InvestorProfile, KycStatus, RegistryState, ScreeningStatus
from investors.tests.support import verified_investor

pytestmark = pytest.mark.django_db


@pytest.fixture
def sdn_list() -> SanctionsList:
    files = sanctions_files_fetch(source=str(OFAC_FIXTURE))
    loaded, changed = sanctions_list_load(
        files=files, source=str(OFAC_FIXTURE), actor=None, rescreen_after_commit=False
    )
    assert changed
    return loaded


def test_the_fixture_parses_in_the_published_format() -> None:
    files = sanctions_files_fetch(source=str(OFAC_FIXTURE))
    entries = {e.ent_num: e for e in ofac.parse(sdn=files["SDN.CSV"], alt=files["ALT.CSV"], add=files["ADD.CSV"])}
    assert len(entries) == 10
    hussein = entries[10001]
    assert hussein.name == "HUSSEIN, Mohammed Abdullah" and hussein.sdn_type == "individual"
    assert hussein.birth_dates == ["1965-03-04"] and hussein.countries == ["IQ"]
    assert hussein.aliases[0][2] == "AL-TIKRITI, Abu Mohammed"
    assert entries[10003].birth_dates == ["1968-07-12", "1969", "1970"]  # "DOB 12 Jul 1968 to 1970"
    assert entries[10005].name == "MÜLLER, Hans-Jürgen"  # Windows-1252
    assert entries[10004].sdn_type == "" and entries[10004].countries == ["VE"]  # "-0-" is empty


def test_a_malformed_list_is_refused_and_the_current_one_kept(sdn_list: SanctionsList) -> None:
    files = sanctions_files_fetch(source=str(OFAC_FIXTURE))
    broken = {**files, "SDN.CSV": files["SDN.CSV"].replace("10002,", "ABC,")}
    with pytest.raises(ApplicationError, match="ent_num “ABC” is not a number"):
        sanctions_list_load(files=broken, source="test", actor=None)
    assert SanctionsList.objects.get(active=True) == sdn_list


@pytest.mark.parametrize(
    ("name", "dob", "ent_num"),
    [
        ("Mohammed Abdullah Hussein", None, 10001),  # exact, reordered
        ("HUSSEIN, MOHAMMED ABDULLAH", dt.date(1965, 3, 4), 10001),  # case, comma form, DOB agrees
        ("Muhammad Abdallah Husayn", None, 10001),  # transliteration variant
        ("Abu Mohammed al-Tikriti", None, 10001),  # alias
        ("Ivan Petroff", None, 10002),  # alias
        ("Иван Сергеевич Петров", None, 10002),  # Cyrillic
        ("Hans-Jürgen Müller", None, 10005),  # accented, as listed
        ("Hans Jurgen Mueller", None, 10005),  # accents written out
        ("Dmítri Kovalénko", None, 10003),  # accented investor, plain listing
        ("Reza Nazary", None, 10010),  # near miss
        ("Maria Fernanda Garcia Lopes", None, 10007),  # near miss, reordered
    ],
)
def test_listed_names_hit(sdn_list: SanctionsList, name: str, dob: dt.date | None, ent_num: int) -> None:
    matches = matcher_for(sdn_list).screen(Subject(1, name, None, dob))
    assert ent_num in [m.listed.ent_num for m in matches], name


@pytest.mark.parametrize(
    ("name", "dob"),
    [
        ("Jennifer Whitfield", None),
        ("Ocean Star", None),  # vessels are not people or companies
        ("Ivan Petrenko", dt.date(1990, 1, 1)),
    ],
)
def test_other_names_do_not_hit(sdn_list: SanctionsList, name: str, dob: dt.date | None) -> None:
    assert matcher_for(sdn_list).screen(Subject(1, name, None, dob)) == []


def test_date_of_birth_and_country_rank_the_same_name(sdn_list: SanctionsList) -> None:
    matcher = matcher_for(sdn_list)
    agree = matcher.screen(Subject(1, "Mohammed Hussein", None, dt.date(1965, 3, 4), frozenset({"IQ"})))[0]
    unknown = matcher.screen(Subject(1, "Mohammed Hussein", None, None))[0]
    assert agree.score > unknown.score
    assert "date of birth matches" in agree.reasons and "country matches" in agree.reasons
    # A disagreeing date of birth ranks the same name lower; it never drops it.
    differs = matcher.screen(Subject(1, "Mohammed Hussein", None, dt.date(1990, 1, 1)))[0]
    assert differs.listed.ent_num == 10001 and differs.score < unknown.score
    assert "date of birth differs" in differs.reasons


@pytest.mark.parametrize(
    ("name", "dob", "countries", "ent_num"),
    [
        ("Maria Garcia", dt.date(1994, 2, 2), frozenset(), 10007),  # subset of the listed name, DOB 14 years off
        ("Reza Nazari", dt.date(1990, 5, 5), frozenset({"CA"}), 10010),  # exact name, DOB and country disagree
        ("Hans Jurgen Muller", None, frozenset({"AT"}), 10005),  # country disagrees
    ],
)
def test_a_strong_name_match_that_disagrees_on_birth_or_country_is_kept_lower(
    sdn_list: SanctionsList, name: str, dob: dt.date | None, countries: frozenset[str], ent_num: int
) -> None:
    matcher = matcher_for(sdn_list)
    kept = [m for m in matcher.screen(Subject(1, name, None, dob, countries)) if m.listed.ent_num == ent_num]
    assert kept, name
    plain = next(m for m in matcher.screen(Subject(1, name, None, None)) if m.listed.ent_num == ent_num)
    assert kept[0].score < plain.score
    assert {"date of birth differs", "country differs"} & set(kept[0].reasons)


def test_a_disagreeing_date_of_birth_still_holds_the_investor_for_review(sdn_list: SanctionsList) -> None:
    investor = _investor("Reza Nazari", dt.date(1990, 5, 5))
    hits = investor_screen(investor=investor, actor=None)
    assert [h.ent_num for h in hits] == [10010] and "date of birth differs" in hits[0].reasons
    investor.refresh_from_db()
    assert investor.screening_status == ScreeningStatus.UNDER_REVIEW


def _copy_fixture(tmp_path: Path, encode) -> Path:
    target = tmp_path / "ofac"
    target.mkdir()
    for name in ofac.FILES:
        text = (OFAC_FIXTURE / name).read_bytes().decode("cp1252")
        (target / name).write_bytes(encode(text))
    return target


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda text: text.encode("utf-8"), id="utf-8"),
        pytest.param(lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"), id="utf-8 with byte-order mark"),
        pytest.param(lambda text: text.encode("cp1252"), id="windows-1252"),
    ],
)
def test_list_files_are_read_in_the_encoding_they_come_in(tmp_path: Path, encode) -> None:
    source = _copy_fixture(tmp_path, encode)
    loaded, _ = sanctions_list_load(
        files=sanctions_files_fetch(source=str(source)), source=str(source), actor=None, rescreen_after_commit=False
    )
    assert loaded.entries == 10
    assert loaded.entry_rows.get(ent_num=10005).name == "MÜLLER, Hans-Jürgen"
    matches = matcher_for(loaded).screen(Subject(1, "Hans Jurgen Mueller", None, None))
    assert 10005 in [m.listed.ent_num for m in matches]


def test_the_address_file_is_optional(tmp_path: Path) -> None:
    source = _copy_fixture(tmp_path, lambda text: text.encode("utf-8"))
    (source / "ADD.CSV").unlink()
    for where in (str(source), source.as_uri()):
        files = sanctions_files_fetch(source=where)
        assert set(files) == {"SDN.CSV", "ALT.CSV"}
    loaded, changed = sanctions_list_load(files=files, source=str(source), actor=None, rescreen_after_commit=False)
    assert changed and loaded.entries == 10 and loaded.addresses == 0
    assert matcher_for(loaded).screen(Subject(1, "Reza Nazari", None, None))[0].listed.ent_num == 10010


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('10001,"HUSSEIN, Mohammed"'.encode("utf-16"), id="utf-16"),
        pytest.param(b"PK\x03\x04\x14\x00\x00\x00\x08\x00", id="a zip archive"),
        pytest.param(b'10001,"M\x81LLER"', id="a byte Windows-1252 does not have"),
    ],
)
def test_a_list_that_cannot_be_read_is_refused_and_the_current_one_kept(
    sdn_list: SanctionsList, tmp_path: Path, raw: bytes
) -> None:
    source = _copy_fixture(tmp_path, lambda text: text.encode("cp1252"))
    (source / "SDN.CSV").write_bytes(raw)
    with pytest.raises(ApplicationError, match=r"SDN\.CSV .*The current list stays in force"):
        sanctions_files_fetch(source=str(source))
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("sanctions_load", source=str(source), verbosity=0)
    assert SanctionsList.objects.get(active=True) == sdn_list


def test_the_review_queue_puts_the_strongest_match_first(cast) -> None:
    from django.test import Client

    from compliance.tests.support import submitted_investor

    first = submitted_investor(cast, "Walter Kessler")
    weaker = submitted_investor(cast, "Maria Garcia", dob=dt.date(1994, 2, 2))
    stronger = submitted_investor(cast, "Reza Nazari", dob=dt.date(1962, 11, 22))
    assert weaker.screening_hits.get().score < stronger.screening_hits.get().score
    client = Client()
    client.force_login(cast.compliance)
    for show in ("open", "sanctions", "all"):
        page = client.get(f"/issuers/{cast.issuer.slug}/compliance/?show={show}").content.decode()
        names = [n for n in ("Reza Nazari", "Maria Garcia", "Walter Kessler") if n in page]
        assert sorted(names, key=page.index) == names, show
    assert first.public_id


def _investor(name: str, dob: dt.date = dt.date(1980, 1, 1)) -> InvestorProfile:
    """An individual not yet screened or verified."""
    return verified_investor(
        name=name,
        date_of_birth=dob,
        citizenship="",
        kyc=KycStatus.NOT_SUBMITTED,
        kyc_expires_in=None,
        screening=ScreeningStatus.NOT_SCREENED,
        wallet=None,
    )


def test_a_hit_holds_the_investor_until_a_person_clears_it(sdn_list: SanctionsList, cast) -> None:
    investor = _investor("Reza Nazari", dt.date(1962, 11, 22))
    hits = investor_screen(investor=investor, actor=None)
    assert [h.ent_num for h in hits] == [10010]
    investor.refresh_from_db()
    assert investor.screening_status == ScreeningStatus.UNDER_REVIEW
    with pytest.raises(ApplicationError, match="Say why"):
        screening_hit_clear(hit=hits[0], actor=cast.platform_compliance, reason=" ")
    screening_hit_clear(
        hit=hits[0],
        actor=cast.platform_compliance,
        reason="Different person: passport shows another father's name",
    )
    investor.refresh_from_db()
    assert investor.screening_status == ScreeningStatus.CLEAR
    assert AuditEvent.objects.filter(
        action="sanctions.hit_cleared", issuer_id__isnull=True, actor_id=cast.platform_compliance.pk
    ).exists()
    # Screening again with the same listing does not raise the cleared hit again.
    assert investor_screen(investor=investor, actor=None) == []


def test_a_confirmed_hit_blocks(sdn_list: SanctionsList, cast) -> None:
    investor = _investor("Ivan Sergeyevich Petrov", dt.date(1971, 6, 1))
    hit = investor_screen(investor=investor, actor=None)[0]
    screening_hit_confirm(hit=hit, actor=cast.platform_compliance, reason="Same DOB and passport")
    investor.refresh_from_db()
    assert investor.screening_status == ScreeningStatus.BLOCKED
    with pytest.raises(ApplicationError, match="cannot be cleared"):
        screening_hit_clear(hit=hit, actor=cast.platform_compliance, reason="oops")


def test_an_unchanged_list_changes_nothing_and_a_changed_list_rescreens_everyone(tmp_path: Path) -> None:
    clean = _investor("Reza Nazari", dt.date(1962, 11, 22))
    later = _investor("Walter Kessler", dt.date(1970, 4, 4))
    call_command("sanctions_load", source=str(OFAC_FIXTURE), verbosity=0)
    assert ScreeningHit.objects.filter(investor=clean).count() == 1
    assert InvestorProfile.objects.get(pk=later.pk).screening_status == ScreeningStatus.CLEAR

    call_command("sanctions_load", source=str(OFAC_FIXTURE), verbosity=0)
    assert SanctionsList.objects.count() == 1

    changed = tmp_path / "ofac"
    shutil.copytree(OFAC_FIXTURE, changed)
    with open(changed / "SDN.CSV", "ab") as sdn:
        sdn.write(
            b'10011,"KESSLER, Walter","individual","SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"DOB 04 Apr 1970."\r\n'
        )
    call_command("sanctions_load", source=str(changed), verbosity=0)
    assert SanctionsList.objects.count() == 2 and SanctionsList.objects.get(active=True).entries == 11
    hit = ScreeningHit.objects.get(investor=later)
    assert hit.ent_num == 10011 and hit.status == HitStatus.PENDING and "date of birth matches" in hit.reasons
    assert InvestorProfile.objects.get(pk=later.pk).screening_status == ScreeningStatus.UNDER_REVIEW
    assert ScreeningHit.objects.filter(investor=clean).count() == 1  # not duplicated
    assert AuditEvent.objects.filter(action="sanctions.rescreened").count() == 2


def test_screening_an_investor_already_on_chain_removes_them(sdn_list: SanctionsList, registry, cast) -> None:
    investor = approved_investor(cast, name="Walter Kessler")
    assert investor.registry_state == RegistryState.SYNCED
    InvestorProfile.objects.filter(pk=investor.pk).update(legal_name="Reza Nazari", date_of_birth=dt.date(1962, 11, 22))
    investor_screen(investor=investor, actor=None)
    investor.refresh_from_db()
    assert investor.registry_state == RegistryState.REVOKED
    from tokens.models import RegistryInvestor

    assert not RegistryInvestor.objects.get(investor_ref=investor.reference).active


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('\u00b2,"SOMEONE, Else","individual","SDGT",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-', "ent_num “²” is not a number"),
        ("9" * 12 + ',"SOMEONE, Else","individual","SDGT",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-', "is not a number"),
    ],
)
def test_a_list_with_a_number_that_is_not_one_is_refused(sdn_list: SanctionsList, line: str, message: str) -> None:
    files = sanctions_files_fetch(source=str(OFAC_FIXTURE))
    with pytest.raises(ApplicationError, match=message):
        sanctions_list_load(files={**files, "SDN.CSV": files["SDN.CSV"] + line + "\r\n"}, source="test", actor=None)
    alias = files["ALT.CSV"] + '10001,x2x,"aka","SOMEONE",-0-\r\n'
    with pytest.raises(ApplicationError, match="alt_num “x2x” is not a number"):
        sanctions_list_load(files={**files, "ALT.CSV": alias}, source="test", actor=None)
    assert SanctionsList.objects.get(active=True) == sdn_list
