"""Sanctions screening: load the OFAC SDN list, screen investors and owners, decide hits."""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from compliance.models import HitStatus, SanctionsAddress, SanctionsAlias, SanctionsEntry, SanctionsList, ScreeningHit
from compliance.sanctions import ofac
from compliance.sanctions.matching import ListedName, Match, Matcher, Name, Subject
from core.audit import audit_record
from core.errors import ApplicationError
from core.models import User
from core.tasks import task_enqueue_on_commit
from investors.models import BeneficialOwner, InvestorProfile, ScreeningStatus
from investors.services.verification import investor_registry_refresh

logger = logging.getLogger(__name__)
FETCH_TIMEOUT_SECONDS = 120
MAX_FILE_BYTES = 64 * 1024 * 1024
OPEN_HIT_STATES = (HitStatus.PENDING, HitStatus.CONFIRMED)


class ListUnavailable(ApplicationError):
    code = "sanctions_list_unavailable"


# --------------------------------------------------------------------------- loading


def sanctions_files_fetch(*, source: str) -> dict[str, str]:
    """SDN.CSV, ALT.CSV and (when published) ADD.CSV from a directory or a base URL (https or file),
    each decoded in the encoding it comes in. A file that cannot be read raises; nothing is loaded.
    """
    texts: dict[str, str] = {}
    for name in ofac.FILES:
        optional = name not in ofac.REQUIRED_FILES
        if "://" in source:
            url = urllib.parse.urljoin(source if source.endswith("/") else source + "/", name)
            if not url.startswith(("https://", "http://", "file://")):
                raise ListUnavailable(f"Cannot read the sanctions list from {url}.")
            try:
                with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 - checked above
                    raw = response.read(MAX_FILE_BYTES + 1)
            except urllib.error.HTTPError as exc:
                if optional and exc.code == 404:
                    continue
                raise ListUnavailable(f"Could not download {url}: {exc}") from exc
            except urllib.error.URLError as exc:
                # file:// reports a missing file as a URLError wrapping FileNotFoundError.
                if optional and isinstance(exc.reason, FileNotFoundError):
                    continue
                raise ListUnavailable(f"Could not download {url}: {exc}") from exc
            except OSError as exc:
                raise ListUnavailable(f"Could not download {url}: {exc}") from exc
        else:
            path = Path(source) / name
            if not path.is_file():
                if optional:
                    continue
                raise ListUnavailable(f"{path} does not exist.")
            raw = path.read_bytes()[: MAX_FILE_BYTES + 1]
        if len(raw) > MAX_FILE_BYTES:
            raise ListUnavailable(f"{name} is larger than {MAX_FILE_BYTES // 1_048_576} MB.")
        try:
            texts[name] = ofac.decode(raw, label=name)
        except ofac.ListFormatError as exc:
            raise ApplicationError(
                f"The sanctions list cannot be read: {exc}. The current list stays in force.", code="list_encoding"
            ) from exc
    return texts


def _entry_digest(entry: ofac.Entry) -> str:
    payload = json.dumps([entry.name, sorted(a[2] for a in entry.aliases), entry.birth_dates, sorted(entry.countries)])
    return hashlib.sha256(payload.encode()).hexdigest()


def _files_digest(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in ofac.FILES:
        if name in files:  # ADD.CSV may be absent
            digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


@transaction.atomic
def sanctions_list_load(
    *, files: dict[str, str], source: str, actor: User | None, rescreen_after_commit: bool = True
) -> tuple[SanctionsList, bool]:
    """Store a list version and make it the active one. Returns (list, changed); an unchanged
    list changes nothing. A changed list re-screens the whole investor base after commit (by a
    task, unless the caller re-screens itself).
    """
    digest = _files_digest(files)
    current = SanctionsList.objects.select_for_update().filter(active=True).first()
    if current is not None and current.digest == digest:
        return current, False
    try:
        missing = [name for name in ofac.REQUIRED_FILES if name not in files]
        if missing:
            raise ofac.ListFormatError(f"{', '.join(missing)} missing")
        entries = ofac.parse(sdn=files["SDN.CSV"], alt=files["ALT.CSV"], add=files.get("ADD.CSV", ""))
    except ofac.ListFormatError as exc:
        raise ApplicationError(
            f"The sanctions list is not in OFAC's CSV format: {exc}. The current list stays in force.",
            code="list_format",
        ) from exc
    if not entries:
        raise ApplicationError("The sanctions list has no entries; keeping the current one.", code="list_empty")
    if current is not None:
        current.active = False
        current.save(update_fields=["active"])
    new = SanctionsList.objects.create(source=source[:500], digest=digest)
    rows = SanctionsEntry.objects.bulk_create(
        [
            SanctionsEntry(
                sanctions_list=new,
                ent_num=e.ent_num,
                name=e.name[:400],
                sdn_type=e.sdn_type[:32],
                program=e.program[:200],
                title=e.title[:400],
                remarks=e.remarks,
                birth_dates=e.birth_dates,
                countries=e.countries,
                digest=_entry_digest(e),
            )
            for e in entries
        ],
        batch_size=2000,
    )
    ids = {row.ent_num: row.pk for row in rows}
    aliases = [
        SanctionsAlias(entry_id=ids[e.ent_num], alt_num=n, alt_type=t[:16], alt_name=a[:400], alt_remarks=r[:400])
        for e in entries
        for n, t, a, r in e.aliases
    ]
    addresses = [
        SanctionsAddress(
            entry_id=ids[e.ent_num], add_num=n, address=a[:400], city=c[:200], country=k[:100], remarks=r[:400]
        )
        for e in entries
        for n, a, c, k, r in e.addresses
    ]
    SanctionsAlias.objects.bulk_create(aliases, batch_size=5000)
    SanctionsAddress.objects.bulk_create(addresses, batch_size=5000)
    new.entries, new.aliases, new.addresses, new.active = len(entries), len(aliases), len(addresses), True
    new.save(update_fields=["entries", "aliases", "addresses", "active"])
    audit_record(
        actor=actor,
        action="sanctions.list_loaded",
        obj=new,
        before={"digest": current.digest, "entries": current.entries} if current else None,
        after={"digest": digest, "entries": new.entries, "aliases": new.aliases, "source": new.source},
    )
    if rescreen_after_commit:
        from compliance.tasks import sanctions_rescreen_task

        task_enqueue_on_commit(sanctions_rescreen_task, new.pk)
    return new, True


# --------------------------------------------------------------------------- matching


def active_list() -> SanctionsList | None:
    return SanctionsList.objects.filter(active=True).first()


@lru_cache(maxsize=2)
def _matcher(list_id: int, digest: str, threshold: int) -> Matcher:
    entries = {
        pk: (ent_num, name, program, digest, tuple(dobs), frozenset(countries), sdn_type)
        for pk, ent_num, name, program, digest, dobs, countries, sdn_type in SanctionsEntry.objects.filter(
            sanctions_list_id=list_id
        ).values_list("pk", "ent_num", "name", "program", "digest", "birth_dates", "countries", "sdn_type")
    }
    listed: list[ListedName] = []

    def add(pk: int, raw: str) -> None:
        ent_num, name, program, digest, dobs, countries, sdn_type = entries[pk]
        if sdn_type in {"vessel", "aircraft"}:
            return
        listed.append(ListedName(ent_num, name, raw, program, digest, Name.of(raw), dobs, countries))

    for pk, (_, name, *_rest) in entries.items():
        add(pk, name)
    for entry_id, alt_name in SanctionsAlias.objects.filter(entry__sanctions_list_id=list_id).values_list(
        "entry_id", "alt_name"
    ):
        add(entry_id, alt_name)
    return Matcher(listed, threshold=threshold)


def matcher_for(sanctions_list: SanctionsList) -> Matcher:
    return _matcher(sanctions_list.pk, sanctions_list.digest, settings.SANCTIONS_MATCH_THRESHOLD)


def _subjects(investor_ids: Iterable[int] | None) -> Iterator[Subject]:
    investors = InvestorProfile.objects.exclude(legal_name="")
    owners = BeneficialOwner.objects.all()
    if investor_ids is not None:
        ids = list(investor_ids)
        investors, owners = investors.filter(pk__in=ids), owners.filter(investor_id__in=ids)
    for pk, name, dob, country, citizenship in investors.values_list(
        "pk", "legal_name", "date_of_birth", "country", "citizenship"
    ).iterator(chunk_size=5000):
        yield Subject(pk, name, None, dob, frozenset(c for c in (country, citizenship) if c))
    for pk, investor_id, name, dob, country, citizenship in owners.values_list(
        "pk", "investor_id", "full_name", "date_of_birth", "country", "citizenship"
    ).iterator(chunk_size=5000):
        yield Subject(investor_id, name, pk, dob, frozenset(c for c in (country, citizenship) if c))


@dataclass(frozen=True)
class ScreeningSummary:
    subjects: int
    matches: int
    new_hits: int
    investors_held: int


def _record(matches: list[Match], sanctions_list: SanctionsList, actor: User | None) -> tuple[int, set[int]]:
    """Store new hits (a cleared hit stays cleared while its listing is unchanged) and hold the investors."""
    new_hits, held = 0, set()
    for match in matches:
        subject, listed = match.subject, match.listed
        hit, created = ScreeningHit.objects.get_or_create(
            investor_id=subject.investor_id,
            subject_name=subject.name[:200],
            ent_num=listed.ent_num,
            entry_digest=listed.digest,
            defaults={
                "owner_id": subject.owner_id,
                "sanctions_list": sanctions_list,
                "entry_name": listed.entry_name[:400],
                "matched_name": listed.name[:400],
                "program": listed.program[:200],
                "name_score": match.name_score,
                "score": match.score,
                "reasons": list(match.reasons),
            },
        )
        if created:
            new_hits += 1
            audit_record(
                actor=actor,
                action="sanctions.hit_raised",
                obj=hit,
                after={"ent_num": listed.ent_num, "score": match.score, "reasons": list(match.reasons)},
            )
        if hit.status in OPEN_HIT_STATES:
            held.add(subject.investor_id)
    for investor_id in sorted(held):
        investor = InvestorProfile.objects.select_for_update().get(pk=investor_id)
        target = (
            ScreeningStatus.BLOCKED
            if investor.screening_hits.filter(status=HitStatus.CONFIRMED).exists()
            else ScreeningStatus.UNDER_REVIEW
        )
        if investor.screening_status != target:
            before = {"screening_status": investor.screening_status}
            investor.screening_status, investor.screened_at = target, timezone.now()
            investor.save(update_fields=["screening_status", "screened_at", "updated_at"])
            audit_record(
                actor=actor,
                action="sanctions.investor_held",
                obj=investor,
                before=before,
                after={"screening_status": target},
            )
            investor_registry_refresh(investor=investor, actor=actor)
    return new_hits, held


def _lock_investors(investor_ids: Iterable[int]) -> None:
    """Lock the screened investors first (primary-key order), before any audit event: core.audit's lock order."""
    list(InvestorProfile.objects.select_for_update().filter(pk__in=list(investor_ids)).order_by("pk").values("pk"))


def _mark_clear(investor_ids: set[int], sanctions_list: SanctionsList, actor: User | None) -> None:
    """Screened with no open hit: clear (a held investor stays held until a person decides). The
    investors whose status moves to clear are named, by id, in one audit event of the same transaction."""
    if not investor_ids:
        return
    rows = InvestorProfile.objects.filter(
        pk__in=investor_ids, screening_status__in=[ScreeningStatus.NOT_SCREENED, ScreeningStatus.CLEAR]
    )
    moved = sorted(rows.exclude(screening_status=ScreeningStatus.CLEAR).values_list("pk", flat=True))
    rows.update(screening_status=ScreeningStatus.CLEAR, screened_at=timezone.now())
    if moved:
        audit_record(
            actor=actor,
            action="sanctions.investors_cleared",
            obj=sanctions_list,
            before={"screening_status": ScreeningStatus.NOT_SCREENED},
            after={"screening_status": ScreeningStatus.CLEAR, "investors": moved},
        )


@transaction.atomic
def investor_screen(*, investor: InvestorProfile, actor: User | None) -> list[ScreeningHit]:
    """Screen one investor (and their owners) against the active list."""
    sanctions_list = active_list()
    if sanctions_list is None:
        raise ListUnavailable("No sanctions list is loaded; run `manage.py sanctions_load` before reviewing investors.")
    matcher = matcher_for(sanctions_list)
    _lock_investors([investor.pk])
    matches = matcher.screen_all(_subjects([investor.pk]))
    _, held = _record(matches, sanctions_list, actor)
    _mark_clear({investor.pk} - held, sanctions_list, actor)
    return list(investor.screening_hits.filter(status__in=OPEN_HIT_STATES))


def sanctions_rescreen_all(*, actor: User | None = None, chunk_size: int = 5000) -> ScreeningSummary:
    """Screen the whole investor base against the active list, one transaction per chunk."""
    sanctions_list = active_list()
    if sanctions_list is None:
        raise ListUnavailable("No sanctions list is loaded.")
    matcher = matcher_for(sanctions_list)
    subjects = matches_total = new_total = 0
    held_total: set[int] = set()
    batch: list[Subject] = []

    def flush() -> None:
        nonlocal matches_total, new_total
        with transaction.atomic():
            _lock_investors({s.investor_id for s in batch})
            matches = matcher.screen_all(batch)
            new_hits, held = _record(matches, sanctions_list, actor)
            _mark_clear({s.investor_id for s in batch} - held, sanctions_list, actor)
        matches_total += len(matches)
        new_total += new_hits
        held_total.update(held)
        batch.clear()

    for subject in _subjects(None):
        batch.append(subject)
        subjects += 1
        if len(batch) >= chunk_size:
            flush()
    if batch:
        flush()
    summary = ScreeningSummary(subjects, matches_total, new_total, len(held_total))
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="sanctions.rescreened",
            obj=sanctions_list,
            after={"subjects": subjects, "matches": matches_total, "new_hits": new_total, "held": len(held_total)},
        )
    logger.info("Re-screened %s names: %s matches, %s new hits", subjects, matches_total, new_total)
    return summary


# --------------------------------------------------------------------------- decisions


def _hit_locked(hit: ScreeningHit) -> ScreeningHit:
    return ScreeningHit.objects.select_for_update().select_related("investor").get(pk=hit.pk)


@transaction.atomic
def screening_hit_clear(*, hit: ScreeningHit, actor: User, reason: str) -> ScreeningHit:
    """A person decided the investor is not the listed party; lift the hold if nothing else is open."""
    if not reason.strip():
        raise ApplicationError("Say why this is not the listed person (e.g. a different date of birth).", code="reason")
    hit = _hit_locked(hit)
    if hit.status == HitStatus.CLEARED:
        return hit
    if hit.status == HitStatus.CONFIRMED:
        raise ApplicationError("A confirmed match cannot be cleared here; the block stays.", code="hit_confirmed")
    hit.status, hit.decided_by, hit.decided_at, hit.decision_note = HitStatus.CLEARED, actor, timezone.now(), reason
    hit.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor,
        action="sanctions.hit_cleared",
        obj=hit,
        before={"status": HitStatus.PENDING},
        after={"status": hit.status, "reason": reason},
    )
    investor = InvestorProfile.objects.select_for_update().get(pk=hit.investor_id)
    if not investor.screening_hits.filter(status__in=OPEN_HIT_STATES).exists():
        before = {"screening_status": investor.screening_status}
        investor.screening_status, investor.screened_at = ScreeningStatus.CLEAR, timezone.now()
        investor.save(update_fields=["screening_status", "screened_at", "updated_at"])
        audit_record(
            actor=actor,
            action="sanctions.investor_cleared",
            obj=investor,
            before=before,
            after={"screening_status": investor.screening_status},
        )
        investor_registry_refresh(investor=investor, actor=actor)
    return hit


@transaction.atomic
def screening_hit_confirm(*, hit: ScreeningHit, actor: User, reason: str) -> ScreeningHit:
    """A person confirmed the match: the investor is blocked and leaves the on-chain registry."""
    if not reason.strip():
        raise ApplicationError("Record what confirmed the match.", code="reason")
    hit = _hit_locked(hit)
    if hit.status == HitStatus.CONFIRMED:
        return hit
    before = {"status": hit.status}
    hit.status, hit.decided_by, hit.decided_at, hit.decision_note = HitStatus.CONFIRMED, actor, timezone.now(), reason
    hit.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor,
        action="sanctions.hit_confirmed",
        obj=hit,
        before=before,
        after={"status": hit.status},
    )
    investor = InvestorProfile.objects.select_for_update().get(pk=hit.investor_id)
    if investor.screening_status != ScreeningStatus.BLOCKED:
        before = {"screening_status": investor.screening_status}
        investor.screening_status = ScreeningStatus.BLOCKED
        investor.save(update_fields=["screening_status", "updated_at"])
        audit_record(
            actor=actor,
            action="sanctions.investor_blocked",
            obj=investor,
            before=before,
            after={"screening_status": investor.screening_status},
        )
    investor_registry_refresh(investor=investor, actor=actor)
    return hit
