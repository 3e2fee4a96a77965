"""Voting with a wallet: the EIP-712 typed data to sign for a ballot's option, and the signed vote."""

from __future__ import annotations

import time
from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import AccessPermission, Perm, ballot_visible_to_investor, signed_in_user
from governance.selectors import investor_ballot
from governance.services.voting import vote_cast_signed, vote_message
from investors.models import InvestorProfile


def _found(request: Request, ballot_id: Any) -> tuple[InvestorProfile, Any]:
    user = signed_in_user(request)
    investor = InvestorProfile.objects.filter(user=user).first()
    found = investor_ballot(investor=investor, public_id=ballot_id) if investor else None
    if investor is None or found is None or not ballot_visible_to_investor(user, found.ballot):
        raise Http404("No such ballot for you.")
    return investor, found


class VoteTypedDataApi(APIView):
    access_perm = Perm.INVESTOR_SELF
    permission_classes = [AccessPermission]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "VoteTypedData"

        typed_data = serializers.JSONField(help_text="The argument of eth_signTypedData_v4.")
        nonce = serializers.IntegerField()
        wallets = serializers.ListField(
            child=serializers.CharField(), help_text="The wallets that held your units at the record date."
        )

    @extend_schema(
        parameters=[OpenApiParameter("option", int, required=True, description="The option's position (1, 2, …).")],
        responses={200: OutputSerializer},
        summary="The EIP-712 message to sign for a vote",
    )
    def get(self, request: Request, ballot_id: Any) -> Response:
        _, found = _found(request, ballot_id)
        try:
            option = int(request.query_params.get("option", ""))
        except ValueError:
            raise serializers.ValidationError({"option": "Give the option's position (1, 2, …)."}) from None
        nonce = time.time_ns() // 1_000_000
        typed = vote_message(ballot=found.ballot, option=option, nonce=nonce)
        body = {"typed_data": typed, "nonce": nonce, "wallets": found.power.wallets}
        return Response(self.OutputSerializer(body).data)


class SignedVoteApi(APIView):
    access_perm = Perm.INVESTOR_SELF
    permission_classes = [AccessPermission]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SignedVoteInput"

        option = serializers.IntegerField(min_value=1)
        nonce = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
        signature = serializers.CharField(max_length=140)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SignedVote"

        option = serializers.CharField()
        power = serializers.IntegerField()
        signer_wallet = serializers.CharField()
        cast_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, summary="Cast a vote signed by a wallet")
    def post(self, request: Request, ballot_id: Any) -> Response:
        investor, found = _found(request, ballot_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        vote = vote_cast_signed(
            ballot=found.ballot,
            investor=investor,
            option=data.validated_data["option"],
            nonce=data.validated_data["nonce"],
            signature=data.validated_data["signature"],
            actor=signed_in_user(request),
        )
        body = {
            "option": vote.option.label,
            "power": vote.power,
            "signer_wallet": vote.signer_wallet,
            "cast_at": vote.cast_at,
        }
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)
