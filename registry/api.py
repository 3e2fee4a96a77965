"""The transfer agent's read-only API: registers, holders, holdings as of a date or block, the journal,
the control book and record differences. One view per operation.

Every view takes a personal API token (or the browser session), reads only the registers of issuers
where the caller holds a role with REGISTRY_VIEW, walks lists by cursor, and counts calls against the
"registry" rate (settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import AccessPermission, Perm, signed_in_user
from core.authentication import ApiTokenAuthentication
from core.countries import country_code
from core.pagination import RegistryCursorPagination
from core.throttling import SettingsScopedRateThrottle
from investors.models import InvestorProfile
from offerings.models import Offering, OfferingStatus
from registry.exporters import ExportParams
from registry.exporters.base import CONTENT_TYPES, FORMAT_LABELS
from registry.forms import MAX_BLOCK
from registry.models import (
    AGED_AFTER_DAYS,
    ExportJob,
    ExportState,
    IssuerAuthorization,
    LedgerPosting,
    Lot,
    RecordDifference,
)
from registry.selectors.control_book import AuthorizationRow, authorization_rows
from registry.selectors.ledger import AsOf
from registry.selectors.master_file import (
    DIFFERENCE_STATES,
    as_of_end_of_day,
    control_book,
    control_book_authorizations,
    control_book_entries,
    holder_wallets,
    holders_as_of,
    holdings_as_of,
    journal_postings,
    record_differences,
    registers_of,
)
from registry.services.exports import export_download_record, export_job_request
from registry.views.transfer_agent import authorization_document_response

Query = TypeVar("Query", bound=serializers.Serializer)


class ByIdCursor(RegistryCursorPagination):
    ordering = ("id",)


class ChainOrderCursor(RegistryCursorPagination):
    # Many postings share a block (a batch mint): DRF's cursor keeps an offset within the block.
    ordering = ("block_number", "log_index")


class RegistryApi(APIView):
    # A personal token or the session; REGISTRY_VIEW at the token's issuer; the "registry" rate.

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [AccessPermission]
    throttle_classes = [SettingsScopedRateThrottle]
    throttle_scope = "registry"
    access_perm = Perm.REGISTRY_VIEW

    def get_access_object(self) -> Offering:
        if not hasattr(self, "_offering"):
            self._offering = get_object_or_404(
                Offering.objects.select_related("issuer").exclude(status=OfferingStatus.DRAFT),
                public_id=self.kwargs["public_id"],
            )
        return self._offering


class AsOfInput(serializers.Serializer):
    class Meta:
        ref_name = "RegisterAsOf"

    date = serializers.DateField(required=False, help_text="As of the end of this day (UTC, block time).")
    block = serializers.IntegerField(required=False, min_value=0, max_value=MAX_BLOCK, help_text="As of this block.")
    search = serializers.CharField(
        required=False, max_length=100, allow_blank=True, help_text="Holder name, reference or wallet address."
    )

    def as_of(self) -> AsOf:
        day = self.validated_data.get("date")
        return AsOf(block=self.validated_data.get("block"), at=as_of_end_of_day(day) if day else None)


def _query(serializer_class: type[Query], request: Request) -> Query:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query


# --------------------------------------------------------------------------- registers


class RegisterListApi(APIView):
    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [AccessPermission]
    throttle_classes = [SettingsScopedRateThrottle]
    throttle_scope = "registry"
    access_perm = Perm.REGISTRY_READER

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegisterIssuer"

        class TokenSerializer(serializers.Serializer):
            class Meta:
                ref_name = "RegisterToken"

            id = serializers.UUIDField(source="offering.public_id")
            title = serializers.CharField(source="offering.title")
            token_name = serializers.CharField(source="offering.token_name")
            symbol = serializers.CharField(source="offering.token_symbol")
            exemption = serializers.CharField(source="offering.exemption")
            status = serializers.CharField(source="offering.status")
            address = serializers.CharField(allow_blank=True, help_text="Empty until the token is deployed.")
            holders_url = serializers.SerializerMethodField()

            def get_holders_url(self, obj: Any) -> str:
                return reverse("api_registry_holders", args=[obj.offering.public_id])

        slug = serializers.CharField(source="issuer.slug")
        name = serializers.CharField(source="issuer.name")
        legal_name = serializers.CharField(source="issuer.legal_name")
        role = serializers.CharField()
        tokens = TokenSerializer(many=True)

    @extend_schema(
        responses=OutputSerializer(many=True),
        summary="The issuers whose register you read, with their tokens",
        tags=["registry"],
    )
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(registers_of(user=signed_in_user(request)), many=True).data)


# --------------------------------------------------------------------------- holders and holdings


class HolderWalletOutput(serializers.Serializer):
    class Meta:
        ref_name = "RegisterHolderWallet"

    address = serializers.CharField()
    quantity = serializers.IntegerField()


class HolderListApi(RegistryApi, ListAPIView):
    pagination_class = ByIdCursor

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegisterHolder"

        reference = serializers.CharField(help_text="The id the on-chain registry knows the holder by.")
        legal_name = serializers.CharField()
        holder_type = serializers.CharField(source="kind", help_text="individual or entity")
        entity_type = serializers.CharField(allow_blank=True)
        address_line1 = serializers.CharField(allow_blank=True)
        address_line2 = serializers.CharField(allow_blank=True)
        city = serializers.CharField(allow_blank=True)
        region = serializers.CharField(allow_blank=True)
        postal_code = serializers.CharField(allow_blank=True)
        country = serializers.SerializerMethodField()
        quantity = serializers.IntegerField(help_text="Units held across the holder's wallets.")
        wallets = serializers.SerializerMethodField()

        def get_country(self, obj: InvestorProfile) -> str:
            return country_code(obj.country)

        @extend_schema_field(HolderWalletOutput(many=True))
        def get_wallets(self, obj: InvestorProfile) -> list[dict[str, Any]]:
            wallets = self.context["wallets"].get(obj.pk, {})
            return [{"address": a, "quantity": n} for a, n in sorted(wallets.items())]

    serializer_class = OutputSerializer

    def get_queryset(self) -> Any:
        query = _query(AsOfInput, self.request)
        self.as_of = query.as_of()
        return holders_as_of(
            offering=self.get_access_object(), as_of=self.as_of, search=query.validated_data.get("search", "")
        )

    @extend_schema(parameters=[AsOfInput], summary="Holders of record as of a date or block", tags=["registry"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None  # always paginated
        wallets = holder_wallets(offering=self.get_access_object(), investor_ids=[h.pk for h in page], as_of=self.as_of)
        data = self.OutputSerializer(page, many=True, context={"wallets": wallets}).data
        return self.get_paginated_response(data)


class HoldingListApi(RegistryApi, ListAPIView):
    pagination_class = ByIdCursor

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegisterHolding"

        id = serializers.IntegerField(help_text="The lot: units one wallet acquired together.")
        holder = serializers.SerializerMethodField(
            help_text="The holder's reference; null for a wallet the portal does not know."
        )
        holder_name = serializers.SerializerMethodField()
        wallet = serializers.CharField()
        quantity = serializers.IntegerField(source="remaining", help_text="Units of the lot left at the point.")
        original_quantity = serializers.IntegerField(source="quantity", help_text="Units the lot opened with.")
        issued_at = serializers.DateTimeField(help_text="When the units were first issued.")
        acquired_at = serializers.DateTimeField(help_text="When this holder acquired them.")
        exemption = serializers.CharField(allow_blank=True)
        lockup_release = serializers.DateTimeField(allow_null=True)
        transaction_hash = serializers.CharField()

        def get_holder(self, obj: Lot) -> str | None:
            return obj.investor.reference if obj.investor else None

        def get_holder_name(self, obj: Lot) -> str | None:
            return obj.investor.legal_name if obj.investor else None

    serializer_class = OutputSerializer

    def get_queryset(self) -> Any:
        query = _query(AsOfInput, self.request)
        return holdings_as_of(
            offering=self.get_access_object(), as_of=query.as_of(), search=query.validated_data.get("search", "")
        )

    @extend_schema(
        parameters=[AsOfInput], summary="Holdings (lots with units left) as of a date or block", tags=["registry"]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# --------------------------------------------------------------------------- journal


class PeriodInput(serializers.Serializer):
    class Meta:
        ref_name = "JournalPeriod"

    since = serializers.DateTimeField(required=False, help_text="From this moment of block time (included).")
    until = serializers.DateTimeField(required=False, help_text="To this moment of block time (included).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("since") and attrs.get("until") and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError("The period starts after it ends.")
        return attrs


class JournalApi(RegistryApi, ListAPIView):
    pagination_class = ChainOrderCursor

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "JournalPosting"

        block_number = serializers.IntegerField()
        log_index = serializers.IntegerField()
        transaction_hash = serializers.CharField()
        kind = serializers.CharField()
        from_wallet = serializers.CharField(allow_blank=True)
        to_wallet = serializers.CharField(allow_blank=True)
        from_holder = serializers.SerializerMethodField()
        to_holder = serializers.SerializerMethodField()
        quantity = serializers.IntegerField()
        via_portal = serializers.BooleanField(help_text="Sent by the portal, not made on-chain some other way.")
        reason = serializers.CharField(allow_blank=True)
        chain_time = serializers.DateTimeField(help_text="The block's time.")
        posted_at = serializers.DateTimeField(help_text="When the ledger posted it.")
        posted_late = serializers.BooleanField(
            source="late", help_text="Posted more than 30 calendar days after the block (17Ad-10)."
        )

        def get_from_holder(self, obj: LedgerPosting) -> str | None:
            return obj.from_investor.reference if obj.from_investor else None

        def get_to_holder(self, obj: LedgerPosting) -> str | None:
            return obj.to_investor.reference if obj.to_investor else None

    serializer_class = OutputSerializer

    def get_queryset(self) -> Any:
        query = _query(PeriodInput, self.request)
        return journal_postings(
            offering=self.get_access_object(),
            since=query.validated_data.get("since"),
            until=query.validated_data.get("until"),
        )

    @extend_schema(parameters=[PeriodInput], summary="The transaction journal for a period", tags=["registry"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# --------------------------------------------------------------------------- control book


class ControlBookApi(RegistryApi):
    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ControlBook"

        authorized = serializers.IntegerField(
            allow_null=True, help_text="Units authorized in effect; null until a written authorization takes effect."
        )
        issued = serializers.IntegerField(help_text="Issued less cancelled, as the control book entered it.")
        ledger_total = serializers.IntegerField()
        ledger_block = serializers.IntegerField(allow_null=True)
        on_chain_supply = serializers.IntegerField(allow_null=True, help_text="From the last reconciliation.")
        reconciled_at = serializers.DateTimeField(allow_null=True)
        reconciled_block = serializers.IntegerField(allow_null=True)
        authorizations_url = serializers.CharField(help_text="Every written authorization, by cursor.")
        entries_url = serializers.CharField(help_text="Every issuance and cancellation entry, by cursor.")
        entries_count = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer, summary="The control book of a token", tags=["registry"])
    def get(self, request: Request, public_id: Any) -> Response:
        offering = self.get_access_object()
        book = control_book(offering=offering)
        last = book.last_reconciliation
        data = {
            "authorized": book.authorized,
            "issued": book.issued,
            "ledger_total": book.ledger_total,
            "ledger_block": book.ledger_block,
            "on_chain_supply": last.on_chain_supply if last else None,
            "reconciled_at": last.ran_at if last else None,
            "reconciled_block": last.ledger_block if last else None,
            "authorizations_url": reverse("api_registry_control_book_authorizations", args=[offering.public_id]),
            "entries_url": reverse("api_registry_control_book_entries", args=[offering.public_id]),
            "entries_count": book.entries_count,
        }
        return Response(self.OutputSerializer(data).data)


class ControlBookEntryListApi(RegistryApi, ListAPIView):
    pagination_class = ByIdCursor

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ControlBookEntry"

        id = serializers.IntegerField()
        kind = serializers.CharField(help_text="issue or cancel")
        quantity = serializers.IntegerField()
        transaction_hash = serializers.CharField(allow_blank=True)
        authorization = serializers.IntegerField(source="authorization_id", allow_null=True)
        recorded_at = serializers.DateTimeField()

    serializer_class = OutputSerializer

    def get_queryset(self) -> Any:
        return control_book_entries(offering=self.get_access_object())

    @extend_schema(summary="Every control book entry of a token, oldest first", tags=["registry"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ControlBookAuthorizationListApi(RegistryApi, ListAPIView):
    pagination_class = ByIdCursor

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "IssuerAuthorization"

        id = serializers.IntegerField(source="authorization.id")
        authorized_quantity = serializers.IntegerField(source="authorization.authorized_quantity")
        description = serializers.CharField(source="authorization.description")
        authorized_on = serializers.DateField(source="authorization.authorized_on")
        recorded_at = serializers.DateTimeField(source="authorization.recorded_at")
        state = serializers.SerializerMethodField(
            help_text="effective (in effect), pending (waiting for a second admin) or not_approved."
        )
        effective_at = serializers.DateTimeField(source="authorization.effective_at", allow_null=True)
        decided_at = serializers.SerializerMethodField(help_text="When the second admin approved or declined it.")
        document_sha256 = serializers.CharField(source="authorization.document_sha256")
        document_url = serializers.SerializerMethodField()

        def get_state(self, obj: AuthorizationRow) -> str:
            return obj.state.replace(" ", "_")

        @extend_schema_field(OpenApiTypes.DATETIME)
        def get_decided_at(self, obj: AuthorizationRow) -> Any:
            decided = obj.approval.decided_at if obj.approval else None
            return serializers.DateTimeField().to_representation(decided) if decided else None

        def get_document_url(self, obj: AuthorizationRow) -> str:
            a = obj.authorization
            return reverse("api_registry_authorization_document", args=[self.context["public_id"], a.pk])

    serializer_class = OutputSerializer

    def get_queryset(self) -> Any:
        return control_book_authorizations(offering=self.get_access_object())

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "public_id": self.get_access_object().public_id}

    @extend_schema(
        summary="Every written issuer authorization of a token, oldest first, with its state", tags=["registry"]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = authorization_rows(records=list(page or []))
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


class AuthorizationDocumentApi(RegistryApi):
    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The signed authorization as recorded; its SHA-256 is in the X-Document-SHA256 header.",
            )
        },
        summary="Download the written issuer authorization behind a control book change",
        tags=["registry"],
    )
    def get(self, request: Request, public_id: Any, authorization_id: int) -> Any:
        authorization = get_object_or_404(IssuerAuthorization, pk=authorization_id, offering=self.get_access_object())
        return authorization_document_response(authorization)


# --------------------------------------------------------------------------- record differences


class DifferenceInput(serializers.Serializer):
    class Meta:
        ref_name = "RecordDifferenceFilter"

    state = serializers.ChoiceField(choices=list(DIFFERENCE_STATES), required=False, default="open")


class DifferenceListApi(RegistryApi, ListAPIView):
    pagination_class = ByIdCursor

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RecordDifference"

        id = serializers.IntegerField()
        kind = serializers.CharField()
        description = serializers.CharField(source="get_kind_display")
        transaction_hash = serializers.CharField(allow_blank=True, help_text="The transaction that caused it.")
        expected = serializers.IntegerField()
        actual = serializers.IntegerField()
        difference = serializers.IntegerField()
        arose_at = serializers.DateTimeField()
        first_found_at = serializers.DateTimeField()
        last_found_at = serializers.DateTimeField()
        resolved_at = serializers.DateTimeField(allow_null=True)
        age_days = serializers.SerializerMethodField()
        aged = serializers.SerializerMethodField(help_text=f"Open more than {AGED_AFTER_DAYS} calendar days (17Ad-9).")

        def get_age_days(self, obj: RecordDifference) -> int:
            return max(0, obj.age(self.context["now"]).days)  # a block stamped ahead of this clock is new

        def get_aged(self, obj: RecordDifference) -> bool:
            return obj.resolved_at is None and obj.aged(self.context["now"])

    serializer_class = OutputSerializer

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": self.now}

    def get_queryset(self) -> Any:
        query = _query(DifferenceInput, self.request)
        self.now = timezone.now()
        return record_differences(offering=self.get_access_object(), state=query.validated_data["state"], now=self.now)

    @extend_schema(
        parameters=[DifferenceInput], summary="Record differences, open, aged or resolved", tags=["registry"]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# --------------------------------------------------------------------------- export jobs


class ExportJobOutput(serializers.Serializer):
    class Meta:
        ref_name = "ExportJob"

    id = serializers.UUIDField(source="public_id")
    token = serializers.UUIDField(source="offering.public_id")
    exporter = serializers.CharField()
    format = serializers.CharField()
    params = serializers.DictField(help_text="The as-of point or period the export covers.")
    state = serializers.ChoiceField(choices=ExportState.choices)
    rows_done = serializers.IntegerField()
    rows_total = serializers.IntegerField(allow_null=True)
    percent = serializers.IntegerField()
    filename = serializers.CharField(allow_blank=True)
    size = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True, help_text="When the file is deleted.")
    status_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(help_text="Null until the file is ready.")

    def get_status_url(self, obj: ExportJob) -> str:
        return reverse("api_registry_export", args=[obj.public_id])

    def get_download_url(self, obj: ExportJob) -> str | None:
        if obj.state != ExportState.DONE or not obj.file:
            return None
        return reverse("api_registry_export_download", args=[obj.public_id])


class ExportJobsApi(RegistryApi, ListAPIView):
    """List a token's exports; POST asks for one (the only write open to a transfer agent: a read of the
    register, made by a worker). Follow `status_url` until `state` is done, then fetch `download_url`."""

    pagination_class = type("ExportCursor", (RegistryCursorPagination,), {"ordering": ("-id",)})
    read_only_roles_may_post = True  # an export reads the register; nothing on it changes

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "NewExportJob"

        exporter = serializers.CharField(
            max_length=40,
            help_text="master_file, journal, control_book, record_differences, cap_table_ocf, distribution_register, "
            "form_1099_div, form_1099_int or form_1042s.",
        )
        format = serializers.ChoiceField(choices=list(FORMAT_LABELS))
        as_of_date = serializers.DateField(required=False, allow_null=True)
        as_of_block = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=MAX_BLOCK)
        since = serializers.DateField(required=False, allow_null=True)
        until = serializers.DateField(required=False, allow_null=True, help_text="Included.")
        include_closed = serializers.BooleanField(required=False, default=False)
        tax_year = serializers.IntegerField(
            required=False, allow_null=True, min_value=2000, max_value=9999, help_text="Forms 1099 and 1042-S."
        )
        distribution = serializers.UUIDField(
            required=False, allow_null=True, help_text="The distribution register: the distribution's id."
        )

    serializer_class = ExportJobOutput

    def get_queryset(self) -> Any:
        return ExportJob.objects.filter(offering=self.get_access_object()).select_related("offering")

    @extend_schema(summary="A token's export jobs, newest first", tags=["registry"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=InputSerializer,
        responses={201: ExportJobOutput},
        summary="Ask for an export of the register (made by a worker; poll its status)",
        tags=["registry"],
    )
    def post(self, request: Request, public_id: Any) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        job = export_job_request(
            offering=self.get_access_object(),
            exporter_id=values["exporter"],
            fmt=values["format"],
            params=ExportParams(
                as_of_block=values.get("as_of_block"),
                as_of_date=values.get("as_of_date"),
                since=values.get("since"),
                until=values.get("until"),
                include_closed=values.get("include_closed", False),
                tax_year=values.get("tax_year"),
                distribution=values.get("distribution"),
            ),
            actor=signed_in_user(request),
        )
        location = reverse("api_registry_export", args=[job.public_id])
        return Response(ExportJobOutput(job).data, status=201, headers={"Location": location})


class ExportJobAccess(RegistryApi):
    def job(self) -> ExportJob:
        if not hasattr(self, "_job"):
            self._job = get_object_or_404(
                ExportJob.objects.select_related("offering__issuer"), public_id=self.kwargs["job_id"]
            )
        return self._job

    def get_access_object(self) -> Offering:
        return self.job().offering


class ExportJobApi(ExportJobAccess):
    @extend_schema(responses=ExportJobOutput, summary="An export job's state and progress", tags=["registry"])
    def get(self, request: Request, job_id: Any) -> Response:
        return Response(ExportJobOutput(self.job()).data)


class ExportJobDownloadApi(ExportJobAccess):
    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")},
        summary="Download a finished export (audited: who took which holders' data)",
        tags=["registry"],
    )
    def get(self, request: Request, job_id: Any) -> Any:
        job = self.job()
        if job.state != ExportState.DONE or not job.file:
            raise NotFound("This export is not ready, or its file has expired.")
        export_download_record(job=job, actor=signed_in_user(request))
        response = FileResponse(
            job.file.open("rb"), as_attachment=True, filename=job.filename, content_type=CONTENT_TYPES[job.format]
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        response["X-Export-SHA256"] = job.sha256
        return response
