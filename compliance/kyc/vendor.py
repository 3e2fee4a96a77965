"""A KYC vendor reached over HTTPS that reports its verdict by an HMAC-signed webhook.

Request, sent when a check starts (`POST {KYC_VENDOR_API_URL}/applicants`, bearer
`KYC_VENDOR_API_KEY`, `Idempotency-Key: <reference>`)::

    {"reference": "<check id>", "type": "individual" | "entity", "name": "...",
     "date_of_birth": "YYYY-MM-DD" | null, "country": "US", "citizenship": "US" | "",
     "address": {"line1", "line2", "city", "region", "postal_code"},
     "id_number": {"kind": "ssn" | "passport" | ..., "value": "...", "country": "US"}}

Answer: `201 {"applicant_id": "<vendor id>", "status": "pending"}`.

Webhook (`POST /compliance/kyc/webhook/vendor/`), headers `X-Kyc-Timestamp: <unix seconds>` and
`X-Kyc-Signature: v1=<hex HMAC-SHA256(KYC_VENDOR_WEBHOOK_SECRET, "<timestamp>." + raw body)>`::

    {"event_id": "...", "applicant_id": "<vendor id>", "reference": "<check id>",
     "result": "approved" | "rejected" | "review", "reason": "...", "valid_until": "YYYY-MM-DD" | null}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

from django.conf import settings

from compliance.kyc.base import KycProvider, KycProviderError, VendorResult, VendorVerdict, WebhookRejected
from compliance.models import KycCheck
from core.countries import country_code

TIMEOUT_SECONDS = 20


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={mac}"


class SignedWebhookVendorProvider(KycProvider):
    identifier = "vendor"
    verbose_name = "KYC vendor (signed webhook)"
    decides_by_webhook = True

    def applicant_payload(self, check: KycCheck) -> dict[str, object]:
        investor = check.investor
        return {
            "reference": check.public_id.hex,
            "type": investor.kind,
            "name": investor.legal_name,
            "date_of_birth": investor.date_of_birth.isoformat() if investor.date_of_birth else None,
            "country": country_code(investor.country),
            "citizenship": country_code(investor.citizenship),
            "address": {
                "line1": investor.address_line1,
                "line2": investor.address_line2,
                "city": investor.city,
                "region": investor.region,
                "postal_code": investor.postal_code,
            },
            "id_number": {
                "kind": investor.tax_id_kind,
                "value": investor.tax_id,
                "country": country_code(investor.tax_id_country),
            },
        }

    def start(self, check: KycCheck) -> str:
        base = settings.KYC_VENDOR_API_URL.rstrip("/")
        if not base.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise KycProviderError("KYC_VENDOR_API_URL must be an https URL.")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            f"{base}/applicants",
            data=json.dumps(self.applicant_payload(check)).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.KYC_VENDOR_API_KEY}",
                "Idempotency-Key": check.public_id.hex,
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                answer = json.loads(response.read(65536))
        except (OSError, urllib.error.URLError, ValueError) as exc:
            raise KycProviderError(f"The KYC vendor did not accept the applicant: {exc}") from exc
        applicant = answer.get("applicant_id") if isinstance(answer, dict) else None
        if not isinstance(applicant, str) or not applicant:
            raise KycProviderError("The KYC vendor's answer has no applicant_id.")
        return applicant[:100]

    def parse_webhook(self, *, body: bytes, headers: dict[str, str]) -> VendorResult:
        secret = settings.KYC_VENDOR_WEBHOOK_SECRET
        if not secret:
            raise WebhookRejected("Webhooks are not configured.", status=404)
        timestamp = headers.get("X-Kyc-Timestamp", "")
        signature = headers.get("X-Kyc-Signature", "")
        if not timestamp.isdigit() or not signature:
            raise WebhookRejected("Missing signature headers.", status=401)
        expected = webhook_signature(secret=secret, timestamp=timestamp, body=body)
        if not hmac.compare_digest(expected, signature):
            raise WebhookRejected("The signature does not match.", status=401)
        # A correctly signed but old delivery is a replay.
        if abs(time.time() - int(timestamp)) > settings.KYC_VENDOR_WEBHOOK_TOLERANCE_SECONDS:
            raise WebhookRejected("The delivery is too old.", status=401)
        try:
            data = json.loads(body)
            result = str(data["result"])
            if result not in {verdict.value for verdict in VendorVerdict}:
                raise WebhookRejected(f"Unknown result “{result}”.")
            valid_until = data.get("valid_until")
            parsed = VendorResult(
                event_id=str(data["event_id"])[:100],
                reference=str(data["reference"]),
                external_ref=str(data.get("applicant_id", ""))[:100],
                result=VendorVerdict(result),
                reason=str(data.get("reason") or "")[:2000],
                valid_until=dt.date.fromisoformat(valid_until) if valid_until else None,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected(f"The body is not a KYC result: {exc}") from exc
        return parsed
