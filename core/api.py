"""Kernel API: who am I, which issuers can I see, who is on an issuer's team; the error handler."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from core.access import AccessPermission, Perm, memberships_of, signed_in_user
from core.errors import ApplicationError
from core.models import Issuer
from core.money import MAX_AMOUNT_MINOR, AmountInvalid, minor_units_parse
from core.selectors import issuer_list_visible_to, issuer_team


class MinorAmountField(serializers.IntegerField):
    """An amount in whole minor units (a JSON integer), read by core.money's one parser and bounded
    by MAX_AMOUNT_MINOR, so an API client cannot send what a form would refuse."""

    def __init__(self, *, min_value: int = 0, **kwargs: Any) -> None:
        super().__init__(min_value=min_value, max_value=MAX_AMOUNT_MINOR, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        try:
            return minor_units_parse(data, label="amount", minimum=self.min_value or 0, maximum=MAX_AMOUNT_MINOR)
        except AmountInvalid as exc:
            raise serializers.ValidationError(exc.message, code="invalid_amount") from exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn service errors into JSON with a stable shape: {"error": {"code", "message", "details"}}."""
    if isinstance(exc, ApplicationError):
        return Response(
            {"error": {"code": exc.code, "message": exc.message, "details": exc.extra}}, status=exc.status_code
        )
    if isinstance(exc, DjangoValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(
            {"error": {"code": "invalid", "message": "The request is not valid.", "details": details}}, status=400
        )
    if isinstance(exc, Http404):
        exc = NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is not None:
        data = response.data
        message = (
            data.get("detail", "The request is not valid.") if isinstance(data, dict) else "The request is not valid."
        )
        details = {} if isinstance(data, dict) and set(data) == {"detail"} else data
        code = getattr(exc, "default_code", "error")
        response.data = {"error": {"code": code, "message": str(message), "details": details}}
    return response


class MeApi(APIView):
    access_perm = Perm.INVESTOR_SELF
    permission_classes = [AccessPermission]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "Me"

        id = serializers.IntegerField()
        email = serializers.EmailField()
        full_name = serializers.CharField()
        is_staff = serializers.BooleanField()
        roles = serializers.DictField(child=serializers.CharField(), help_text="issuer slug → role")

    @extend_schema(responses=OutputSerializer, summary="The signed-in user and their roles")
    def get(self, request: Request) -> Response:
        user = signed_in_user(request)
        roles = memberships_of(user)
        slugs = dict(Issuer.objects.filter(pk__in=roles).values_list("pk", "slug"))
        data = {
            "id": user.pk,
            "email": user.email,
            "full_name": user.full_name,
            "is_staff": user.is_staff,
            "roles": {slugs[pk]: role for pk, role in roles.items()},
        }
        return Response(self.OutputSerializer(data).data)


class IssuerListApi(ListAPIView):
    access_perm = Perm.INVESTOR_SELF
    permission_classes = [AccessPermission]

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Issuer
            ref_name = "Issuer"
            fields = ["slug", "name", "legal_name", "jurisdiction", "country", "website"]

    serializer_class = OutputSerializer

    def get_queryset(self) -> Any:
        return issuer_list_visible_to(user=self.request.user).order_by("name")


class IssuerTeamApi(ListAPIView):
    access_perm = Perm.ISSUER_VIEW
    permission_classes = [AccessPermission]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TeamMember"

        email = serializers.EmailField(source="user.email")
        full_name = serializers.CharField(source="user.full_name")
        role = serializers.CharField()
        since = serializers.DateTimeField(source="created_at")

    serializer_class = OutputSerializer

    def get_access_object(self) -> Issuer:
        if not hasattr(self, "_issuer"):
            self._issuer = get_object_or_404(Issuer, slug=self.kwargs["slug"])
        return self._issuer

    def get_queryset(self) -> Any:
        return issuer_team(issuer=self.get_access_object())
