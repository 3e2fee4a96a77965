"""The transparency report as JSON for integrators: anyone may read it, without a session or a token, at the
"transparency" rate per client address. The same public facts as the page, nothing else."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backing.transparency import transparency_offering, transparency_report
from backing.views.public import PAGE_MAX_AGE, public_cache
from core.throttling import SettingsScopedRateThrottle


class QuantityOutput(serializers.Serializer):
    class Meta:
        ref_name = "ReserveQuantity"

    amount = serializers.IntegerField(help_text="Exact, in counts of 10^-scale of the unit (cents for USD at 2).")
    scale = serializers.IntegerField(help_text="Decimal places counted.")
    unit = serializers.CharField(help_text="A currency code (USD) or a unit (g, oz).")
    decimal = serializers.CharField(help_text="The same amount as exact decimal text in the unit.")


class AttestationOutput(serializers.Serializer):
    class Meta:
        ref_name = "ReserveAttestation"

    id = serializers.CharField(source="public_id")
    as_of = serializers.DateField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    attestor_name = serializers.CharField()
    attestor_kind = serializers.CharField()
    total = QuantityOutput()
    document_url = serializers.SerializerMethodField()
    document_sha256 = serializers.CharField()
    document_size = serializers.IntegerField(help_text="Bytes.")
    current = serializers.BooleanField(help_text="The token's current statement (false: superseded).")
    approved_at = serializers.DateTimeField(allow_null=True)

    def get_document_url(self, obj: Any) -> str:
        path = reverse("transparency_document", args=[self.context["offering_id"], obj.public_id])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class NavPointOutput(serializers.Serializer):
    class Meta:
        ref_name = "TransparencyNavPoint"

    class OracleRoundOutput(serializers.Serializer):
        class Meta:
            ref_name = "TransparencyNavOracleRound"

        address = serializers.CharField(source="oracle_address", help_text="The AggregatorV3 contract.")
        round_id = serializers.CharField(source="oracle_round_id", help_text="A uint80, as decimal text.")
        updated_at = serializers.DateTimeField(source="oracle_updated_at", help_text="The round's updatedAt.")

    id = serializers.CharField(source="public_id")
    dealing_day = serializers.DateField()
    nav_per_unit = QuantityOutput(source="nav", help_text="Exact, in counts of 10^-scale of the currency.")
    current = serializers.BooleanField(help_text="In force for its day (false: a later point corrected it).")
    published_by = serializers.CharField()
    origin = serializers.ChoiceField(
        source="source",
        choices=["document", "oracle"],
        help_text="Where it comes from: a statement (its PDF and SHA-256) or an oracle's round.",
    )
    document_url = serializers.SerializerMethodField()
    document_sha256 = serializers.CharField(allow_blank=True, help_text="Empty for an oracle's point.")
    oracle = serializers.SerializerMethodField()

    def get_document_url(self, obj: Any) -> str | None:
        if obj.source != "document":
            return None
        path = reverse("transparency_nav_document", args=[self.context["offering_id"], obj.public_id])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field(OracleRoundOutput(allow_null=True))
    def get_oracle(self, obj: Any) -> dict[str, Any] | None:
        return dict(self.OracleRoundOutput(obj).data) if obj.source == "oracle" else None


class NavOracleOutput(serializers.Serializer):
    class Meta:
        ref_name = "TransparencyNavOracle"

    address = serializers.CharField()
    description = serializers.CharField()
    decimals = serializers.IntegerField()
    last_round_id = serializers.CharField(help_text="The last round read; empty before the first.")
    last_read_at = serializers.DateTimeField(allow_null=True)


class TransparencyOutput(serializers.Serializer):
    class Meta:
        ref_name = "TransparencyReport"

    class ProfileOutput(serializers.Serializer):
        class Meta:
            ref_name = "TransparencyBackingProfile"

        class CustodianOutput(serializers.Serializer):
            class Meta:
                ref_name = "TransparencyCustodian"

            name = serializers.CharField()
            role = serializers.CharField()

        asset_kind = serializers.CharField()
        asset_details = serializers.CharField()
        legal_structure = serializers.CharField()
        structure_name = serializers.CharField()
        holder_claim = serializers.CharField()
        reserves_segregated = serializers.BooleanField()
        custodians = serializers.SerializerMethodField()
        redemption_terms = serializers.CharField(help_text="In the issuer's words.")

        @extend_schema_field(CustodianOutput(many=True))
        def get_custodians(self, obj: Any) -> list[dict[str, str]]:
            return [{"name": name, "role": role} for name, role in obj.custodians]

    class RuleOutput(serializers.Serializer):
        class Meta:
            ref_name = "TransparencyBackingRule"

        unit_code = serializers.CharField()
        unit_scale = serializers.IntegerField()
        reserve_per_token = serializers.CharField(help_text="Reserve one token unit needs, exact, in the unit.")
        numerator = serializers.IntegerField(help_text="Counts of the unit per `denominator` token units.")
        denominator = serializers.IntegerField()
        staleness_days = serializers.IntegerField(help_text="Mints stop when the attestation is older.")

    class ShareOutput(serializers.Serializer):
        class Meta:
            ref_name = "ReserveCompositionShare"

        asset_kind = serializers.CharField()
        asset_label = serializers.CharField(source="label")
        amount = QuantityOutput()
        share_bps = serializers.IntegerField(
            help_text="Of the statement's total, in basis points; a statement's shares add up to 10,000."
        )

    class LineOutput(serializers.Serializer):
        class Meta:
            ref_name = "ReserveCompositionLine"

        asset_kind = serializers.CharField()
        custodian = serializers.CharField()
        amount = QuantityOutput()

    class PointOutput(serializers.Serializer):
        class Meta:
            ref_name = "SupplyReservesPoint"

        day = serializers.DateField()
        supply = serializers.IntegerField(help_text="Units on the ledger at the end of the day.")
        reserves_required = serializers.IntegerField(
            source="required", help_text="Counts of the reserve unit that supply needs."
        )
        reserves = serializers.IntegerField(allow_null=True, help_text="The latest attested counts by that day.")

    class ContractOutput(serializers.Serializer):
        class Meta:
            ref_name = "TokenContractControls"

        class RoleOutput(serializers.Serializer):
            class Meta:
                ref_name = "TokenContractRole"

            role = serializers.CharField()
            role_label = serializers.CharField(source="label")
            holders = serializers.ListField(child=serializers.CharField())

        class ControlOutput(serializers.Serializer):
            class Meta:
                ref_name = "TokenContractControl"

            control = serializers.CharField(source="label")
            functions = serializers.ListField(child=serializers.CharField())
            present = serializers.BooleanField()

        address = serializers.CharField()
        roles = RoleOutput(many=True)
        functions = ControlOutput(many=True)
        upgradeable = serializers.BooleanField()
        upgradeability = serializers.CharField()
        registry = serializers.CharField(help_text="The investor registry the token trusts.")
        read_at_block = serializers.IntegerField()

    class FeedOutput(serializers.Serializer):
        class Meta:
            ref_name = "ReserveFeedReport"

        address = serializers.CharField()
        minter_address = serializers.CharField(help_text="The reserve-guarded minter that consults it; may be empty.")
        reserve = QuantityOutput(allow_null=True)
        as_of = serializers.DateTimeField(allow_null=True)
        round_id = serializers.IntegerField(allow_null=True)

    token_id = serializers.CharField(source="offering_public_id")
    token_name = serializers.CharField()
    token_symbol = serializers.CharField()
    issuer = serializers.CharField(source="issuer_name")
    generated_at = serializers.DateTimeField()
    supply = serializers.IntegerField(help_text="Units outstanding on the holdings ledger, from final blocks.")
    supply_block = serializers.IntegerField(allow_null=True, help_text="The last block the ledger has posted.")
    condition = serializers.CharField(
        help_text="backed, under_collateralised, stale, no_statement, or unguarded (no backing rule)."
    )
    condition_label = serializers.CharField()
    condition_detail = serializers.CharField()
    reserves = QuantityOutput(allow_null=True)
    reserves_required = QuantityOutput(
        source="required", allow_null=True, help_text="What the supply needs under the backing rule."
    )
    ratio_bps = serializers.IntegerField(allow_null=True, help_text="Reserves over required, in basis points.")
    attestation_age_days = serializers.IntegerField(allow_null=True)
    stale = serializers.BooleanField()
    checked_at = serializers.DateTimeField(allow_null=True, help_text="The last daily check.")
    profile = ProfileOutput(allow_null=True)
    rule = RuleOutput(allow_null=True)
    composition = ShareOutput(many=True)
    lines = LineOutput(many=True)
    history = PointOutput(many=True)
    history_step = serializers.CharField(help_text="day, or month (the month's last day with a change).")
    attestations = AttestationOutput(many=True)
    contract = ContractOutput(allow_null=True)
    contract_problem = serializers.CharField()
    feed = FeedOutput(allow_null=True)
    feed_problem = serializers.CharField()
    minting = serializers.CharField(help_text="Who can mint the token, from the roles read on-chain, in words.")
    minting_guarded_on_chain = serializers.BooleanField(
        help_text="True when the reserve-guarded minter is the only holder of the token's minter role."
    )
    nav = NavPointOutput(many=True, help_text="The NAV per unit of each dealing day, newest first.")
    nav_oracle = NavOracleOutput(allow_null=True, help_text="The contract that publishes the NAV, if any.")


class TransparencyApi(APIView):
    # Public facts only: no session read, no CSRF, counted per client address.
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [SettingsScopedRateThrottle]
    throttle_scope = "transparency"

    @extend_schema(
        responses={200: TransparencyOutput},
        summary="A token's public transparency report: supply, reserves, attestations, contract controls",
        auth=[],
    )
    def get(self, request: Request, public_id: Any) -> Response:
        offering = transparency_offering(public_id=public_id)
        if offering is None:
            raise Http404("This token has no transparency report.")
        report = transparency_report(offering=offering)
        data = TransparencyOutput(report, context={"request": request, "offering_id": offering.public_id}).data
        response = Response(data)
        public_cache(response, request, max_age=PAGE_MAX_AGE)
        return response
