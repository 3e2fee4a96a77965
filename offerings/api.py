"""Offerings API: list open offerings, check eligibility, subscribe. One view per operation."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.eligibility import ReasonCode
from core.access import AccessPermission, Perm, signed_in_user
from core.api import MinorAmountField
from core.errors import ApplicationError
from investors.models import InvestorProfile
from offerings.models import Offering, OfferingStatus
from offerings.selectors.offerings import offerings_public
from offerings.services.subscriptions import NotEligible, subscription_check, subscription_create


class OfferingOutput(serializers.Serializer):
    class Meta:
        ref_name = "Offering"

    id = serializers.UUIDField(source="public_id")
    title = serializers.CharField()
    issuer = serializers.CharField(source="issuer.name")
    exemption = serializers.CharField()
    security_type = serializers.CharField()
    status = serializers.CharField()
    currency = serializers.CharField()
    price_minor = serializers.IntegerField()
    min_investment_minor = serializers.IntegerField()
    max_investment_minor = serializers.IntegerField(allow_null=True)
    soft_cap_minor = serializers.IntegerField()
    hard_cap_minor = serializers.IntegerField()
    committed_minor = serializers.IntegerField()
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    token_symbol = serializers.CharField()


class OfferingListApi(ListAPIView):
    access_perm = Perm.INVESTOR_SELF
    permission_classes = [AccessPermission]
    serializer_class = OfferingOutput

    def get_queryset(self) -> Any:
        return offerings_public()


def _offering(public_id: Any) -> Offering:
    return get_object_or_404(
        Offering.objects.select_related("issuer").exclude(status=OfferingStatus.DRAFT), public_id=public_id
    )


class AmountInput(serializers.Serializer):
    class Meta:
        ref_name = "SubscriptionAmount"

    amount_minor = MinorAmountField(min_value=1)
    annual_income_minor = MinorAmountField(required=False, allow_null=True)
    net_worth_minor = MinorAmountField(required=False, allow_null=True)


def _investor(request: Request) -> InvestorProfile:
    investor = InvestorProfile.objects.filter(user=signed_in_user(request)).first()
    if investor is None:
        raise ApplicationError("Set up your investor account first.", code="no_investor_profile")
    return investor


class ReasonOutput(serializers.Serializer):
    """One reason the investor may not subscribe: a stable code to act on, the sentence to show, its figures."""

    class Meta:
        ref_name = "EligibilityReason"

    code = serializers.ChoiceField(choices=ReasonCode.choices)
    message = serializers.CharField()
    params = serializers.DictField(child=serializers.JSONField())


class EligibilityApi(APIView):
    access_perm = Perm.INVESTOR_SELF
    permission_classes = [AccessPermission]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Eligibility"

        allowed = serializers.BooleanField()
        reasons = ReasonOutput(many=True)
        limit_remaining_minor = serializers.IntegerField(allow_null=True)

    @extend_schema(request=AmountInput, responses=OutputSerializer)
    def post(self, request: Request, public_id: Any) -> Response:
        offering = _offering(public_id)
        data = AmountInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = subscription_check(offering=offering, investor=_investor(request), **data.validated_data)
        return Response(self.OutputSerializer(result).data)


class SubscriptionCreateApi(APIView):
    access_perm = Perm.INVESTOR_SELF
    permission_classes = [AccessPermission]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SubscriptionCreated"

        id = serializers.UUIDField(source="public_id")
        status = serializers.CharField()
        amount_minor = serializers.IntegerField()
        currency = serializers.CharField()
        quantity = serializers.IntegerField()
        wire_reference = serializers.CharField()

    @extend_schema(request=AmountInput, responses={201: OutputSerializer})
    def post(self, request: Request, public_id: Any) -> Response:
        offering = _offering(public_id)
        data = AmountInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            subscription = subscription_create(
                offering=offering, investor=_investor(request), actor=signed_in_user(request), **data.validated_data
            )
        except NotEligible as exc:
            return Response(
                {"error": {"code": exc.code, "message": "You cannot subscribe.", "details": exc.extra}},
                status=400,
            )
        return Response(self.OutputSerializer(subscription).data, status=201)
