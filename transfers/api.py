"""A transfer signed in the holder's own wallet: the transaction to sign, handed over only after both sides said
yes once more, and the hash the wallet sent."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import AccessPermission, Perm, signed_in_user
from investors.models import InvestorProfile
from transfers.models import HolderTransfer
from transfers.selectors import investor_transfer
from transfers.services.transfers import transfer_prepare, transfer_submitted


def _own(request: Request, transfer_id: Any) -> HolderTransfer:
    investor = InvestorProfile.objects.filter(user=signed_in_user(request)).first()
    found = investor_transfer(investor=investor, public_id=transfer_id) if investor else None
    if found is None:
        raise Http404("No such transfer of yours.")
    return found


class TransferPrepareApi(APIView):
    access_perm = Perm.INVESTOR_SELF
    permission_classes = [AccessPermission]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PreparedTransfer"

        chain_id = serializers.IntegerField()
        transaction = serializers.DictField(help_text="The argument of eth_sendTransaction.")

    @extend_schema(
        request=None,
        responses={200: OutputSerializer},
        summary="Check a transfer once more and get the transaction for the holder's wallet to sign",
    )
    def post(self, request: Request, transfer_id: Any) -> Response:
        prepared = transfer_prepare(transfer=_own(request, transfer_id), actor=signed_in_user(request))
        body = {
            "chain_id": prepared.chain_id,
            "transaction": {"from": prepared.sender, "to": prepared.token, "data": prepared.data, "value": "0x0"},
        }
        return Response(self.OutputSerializer(body).data)


class TransferSubmittedApi(APIView):
    access_perm = Perm.INVESTOR_SELF
    permission_classes = [AccessPermission]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TransferSubmittedInput"

        tx_hash = serializers.CharField(max_length=80)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TransferSubmitted"

        state = serializers.CharField()
        tx_hash = serializers.CharField()
        message = serializers.CharField()

    @extend_schema(
        request=InputSerializer, responses={202: OutputSerializer}, summary="Record the hash the wallet sent"
    )
    def post(self, request: Request, transfer_id: Any) -> Response:
        own = _own(request, transfer_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        transfer = transfer_submitted(
            transfer=own, actor=signed_in_user(request), tx_hash=data.validated_data["tx_hash"]
        )
        body = {
            "state": transfer.state,
            "tx_hash": transfer.tx_hash,
            "message": (
                f"Sent: transaction {transfer.tx_hash}. The {transfer.quantity:,} {transfer.offering.token_symbol} "
                "show in both portfolios once the block is final."
            ),
        }
        return Response(self.OutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)
