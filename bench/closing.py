"""python -m bench.closing [--subscriptions N] [--quick] [--json]

Closes an offering with N paid subscriptions (10,000 by default) end to end: the close request
decides the outcome and queues the first mint batch, Celery workers carry the closing on in
batches of 100 holders, sign and send them to anvil and confirm them, and the beat settles each
batch. Prints the time from the close request to every token confirmed. Before closing, it
measures the offering page, the issuer dashboard and the subscriptions list at 100 and at N
subscriptions: SQL queries per page (must not grow with rows) and the median response time.

Setup writes investors, registry entries and paid subscriptions in bulk (what onboarding and
payments would have left behind); only the closing itself is timed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import report, stack, wait_until

PAGE_SAMPLES = 15
AMOUNT = 1_000_00
PRICE = 10_00


def _wallet(i: int) -> str:
    from tokens.chain.testing import address_for

    return address_for(f"bench-closing-holder-{i}")


def _investors(start: int, stop: int, user_prefix: str) -> list[Any]:
    from django.contrib.auth.hashers import make_password

    from core.models import User
    from investors.models import AccreditationClaim, InvestorProfile, Wallet

    password = make_password(None)
    users = User.objects.bulk_create(
        [User(email=f"{user_prefix}{i}@bench.example", password=password) for i in range(start, stop)]
    )
    expires = datetime.now(tz=UTC) + timedelta(days=365)
    profiles = InvestorProfile.objects.bulk_create(
        [
            InvestorProfile(
                user=u,
                kind="individual",
                legal_name=f"Bench Investor {i}",
                country="US",
                citizenship="US",
                kyc_status="approved",
                kyc_expires_at=expires,
                screening_status="clear",
            )
            for i, u in zip(range(start, stop), users, strict=True)
        ]
    )
    Wallet.objects.bulk_create(
        [
            Wallet(investor=p, address=_wallet(i), kind="signed", linked_by=u)
            for i, p, u in zip(range(start, stop), profiles, users, strict=True)
        ]
    )
    AccreditationClaim.objects.bulk_create(
        [AccreditationClaim(investor=p, method="net_worth", status="verified", expires_at=expires) for p in profiles]
    )
    return profiles


def _paid_subscriptions(offering: Any, profiles: list[Any], start: int) -> None:
    from django.db.models import F
    from django.utils import timezone

    from offerings.models import EntryKind, Offering, Payment, PaymentEntry, Subscription

    now = timezone.now()
    subs = Subscription.objects.bulk_create(
        [
            Subscription(
                offering=offering,
                investor=p,
                amount_minor=AMOUNT,
                currency="USD",
                quantity=AMOUNT // PRICE,
                status="paid",
                paid_minor=AMOUNT,
                payment_provider="wire",
                wire_reference=f"TSR-B{i:08d}",
                wallet_address=_wallet(i),
                signed_at=now,
                paid_at=now,
            )
            for i, p in zip(range(start, start + len(profiles)), profiles, strict=True)
        ],
        batch_size=1000,
    )
    payments = Payment.objects.bulk_create(
        [
            Payment(
                subscription=s,
                provider="wire",
                external_id=s.wire_reference,
                amount_minor=AMOUNT,
                currency="USD",
                status="succeeded",
            )
            for s in subs
        ],
        batch_size=1000,
    )
    PaymentEntry.objects.bulk_create(
        [
            PaymentEntry(
                subscription=s,
                payment=pay,
                provider="wire",
                kind=EntryKind.RECEIVED,
                amount_minor=AMOUNT,
                currency="USD",
                external_ref=f"wire:bench-{s.pk}",
                occurred_at=now,
            )
            for s, pay in zip(subs, payments, strict=True)
        ],
        batch_size=1000,
    )
    Offering.objects.filter(pk=offering.pk).update(committed_minor=F("committed_minor") + AMOUNT * len(subs))


def _measure(client: Any, name: str, url: str, rows: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    for _ in range(PAGE_SAMPLES):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{name} answered {response.status_code}")
        queries = len(ctx.captured_queries)
    return {"page": name, "rows": rows, "queries": queries, "median_ms": round(statistics.median(times), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="500 subscriptions, for CI")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    total = 500 if args.quick else args.subscriptions
    first = min(100, total)

    with stack() as s:
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.db import transaction
        from django.test import Client
        from django.test.utils import override_settings

        from core.mfa import totp_enroll
        from core.models import Issuer, IssuerMembership, User
        from core.tests.files import pdf_bytes
        from offerings.models import OfferingStatus, Subscription
        from offerings.services.closing import offering_close
        from offerings.services.documents import document_upload
        from offerings.services.offerings import OfferingInput, offering_create, offering_publish
        from offerings.tasks import closings_advance_task
        from tokens.models import ChainTransaction, TxStatus
        from tokens.services import InvestorRecord, registry_deploy, registry_investors_register_batch
        from tokens.tasks import outbox_watch_task

        for name in ("flush", "watch", "close"):
            s.start_worker(name)

        def tick() -> None:
            outbox_watch_task.delay()
            closings_advance_task.delay()

        def confirmed(prefix: str) -> bool:
            rows = ChainTransaction.objects.filter(idempotency_key__startswith=prefix)
            failed = rows.filter(status=TxStatus.FAILED).first()
            if failed:
                raise RuntimeError(f"{failed.purpose}: {failed.error_name or failed.last_error}")
            return rows.exists() and not rows.exclude(status=TxStatus.CONFIRMED).exists()

        setup_started = time.monotonic()
        registry_deploy()
        wait_until(lambda: confirmed("deploy:"), timeout=120, tick=tick, poll=0.5)
        issuer = Issuer.objects.create(
            name="Bench Capital", slug="bench", legal_name="Bench Capital LLC", jurisdiction="Delaware", country="US"
        )
        admin = User.objects.create_user("admin@bench.example", "bench-password-1")
        IssuerMembership.objects.create(user=admin, issuer=issuer, role="issuer_admin")
        totp_enroll(actor=None, user=admin, secret="KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU")
        now = datetime.now(tz=UTC)
        offering = offering_create(
            issuer=issuer,
            actor=admin,
            data=OfferingInput(
                title="Bench Growth Equity",
                security_type="equity",
                exemption="reg_d_506c",
                currency="USD",
                price_minor=PRICE,
                min_investment_minor=AMOUNT,
                max_investment_minor=None,
                soft_cap_minor=AMOUNT,
                hard_cap_minor=AMOUNT * total,
                opens_at=now - timedelta(days=30),
                closes_at=now + timedelta(days=30),
                token_name="Bench Growth Equity",
                token_symbol="BGE",
                allowed_countries=("US",),
            ),
        )
        pdf = pdf_bytes("bench")
        document_upload(
            offering=offering,
            actor=admin,
            kind="subscription_agreement",
            title="Subscription agreement",
            upload=SimpleUploadedFile("a.pdf", pdf, "application/pdf"),
        )
        offering = offering_publish(offering=offering, actor=admin)

        expiry = now + timedelta(days=365)
        profiles: list[Any] = []
        for start in range(0, total, 1000):
            stop = min(start + 1000, total)
            batch = _investors(start, stop, "bench")
            profiles += batch
            for chunk in range(0, len(batch), 100):
                with transaction.atomic():
                    registry_investors_register_batch(
                        investors=[
                            InvestorRecord(p.reference, _wallet(start + chunk + j), 840, 3, expiry)
                            for j, p in enumerate(batch[chunk : chunk + 100])
                        ],
                        idempotency_key=f"bench-registry-{start + chunk}",
                    )
        wait_until(
            lambda: confirmed("bench-registry-") and confirmed("token:") and confirmed("deploy:"),
            timeout=900,
            tick=tick,
            poll=0.5,
        )
        setup_seconds = time.monotonic() - setup_started

        pages: list[dict[str, Any]] = []
        with override_settings(ALLOWED_HOSTS=["*"]):
            client = Client()
            client.force_login(admin)
            urls = {
                "offering": f"/offerings/{offering.public_id}/",
                "dashboard": f"/issuers/{issuer.slug}/offerings/{offering.public_id}/dashboard/",
                "subscriptions": f"/issuers/{issuer.slug}/offerings/{offering.public_id}/subscriptions/",
            }
            _paid_subscriptions(offering, profiles[:first], 0)
            pages += [_measure(client, name, url, first) for name, url in urls.items()]
            for start in range(first, total, 1000):
                _paid_subscriptions(offering, profiles[start : start + 1000], start)
            pages += [_measure(client, name, url, total) for name, url in urls.items()]

        started = time.monotonic()
        offering_close(offering=offering, actor=admin)

        def all_issued() -> bool:
            offering.refresh_from_db()
            if offering.status == OfferingStatus.CLOSED:
                return True
            confirmed("close:")
            return False

        wait_until(all_issued, timeout=1800, tick=tick, poll=0.5)
        seconds = time.monotonic() - started
        s.stop_workers()
        issued = Subscription.objects.filter(offering=offering, status="issued").count()
        minted_quantity = sum(
            Subscription.objects.filter(offering=offering, status="issued").values_list("quantity", flat=True)
        )
        batches = ChainTransaction.objects.filter(idempotency_key__startswith=f"close:{offering.pk}:").count()

    payload = {"subscriptions": total, "seconds_to_confirmed": round(seconds, 2), "pages": pages}
    rows: list[tuple[str, Any]] = [
        ("paid subscriptions", total),
        ("setup (registry, investors, token)", f"{setup_seconds:.1f} s"),
        ("close → all tokens confirmed", f"{seconds:.1f} s  (target ≤ 120 s for 10,000)"),
        ("mint transactions", batches),
        ("subscriptions issued", f"{issued} ({minted_quantity} tokens)"),
    ]
    rows += [
        (f"page {p['page']} at {p['rows']} rows", f"{p['queries']} queries, median {p['median_ms']} ms") for p in pages
    ]
    report("bench.closing: close → Celery → batch mint on anvil → confirmed", rows, payload, args.json)
    growth = {p["page"]: p["queries"] for p in pages if p["rows"] == first}
    if issued != total or any(p["queries"] != growth[p["page"]] for p in pages):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
