"""Wallet linking for the browser: a Sign-In with Ethereum challenge, then the signed answer."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import AccessPermission, Perm, signed_in_user
from investors.services.profiles import investor_profile_ensure
from investors.services.wallets import wallet_challenge_issue, wallet_link_by_signature


class WalletChallengeApi(APIView):
    access_perm = Perm.INVESTOR_SELF
    permission_classes = [AccessPermission]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "WalletChallengeInput"

        address = serializers.CharField(max_length=64)
        chain_id = serializers.IntegerField(min_value=1)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "WalletChallenge"

        message = serializers.CharField(help_text="The EIP-4361 text to sign with personal_sign.")
        nonce = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, summary="Start linking a wallet")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = signed_in_user(request)
        challenge = wallet_challenge_issue(
            investor=investor_profile_ensure(user=user),
            actor=user,
            address=data.validated_data["address"],
            chain_id=data.validated_data["chain_id"],
            domain=request.get_host(),
            uri=request.build_absolute_uri("/"),
        )
        body = {"message": challenge.message, "nonce": challenge.nonce, "expires_at": challenge.expires_at}
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


class WalletLinkApi(APIView):
    access_perm = Perm.INVESTOR_SELF
    permission_classes = [AccessPermission]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "WalletLinkInput"

        message = serializers.CharField(max_length=2000, trim_whitespace=False)
        signature = serializers.CharField(max_length=140)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "WalletLinked"

        address = serializers.CharField()
        kind = serializers.CharField()
        linked_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer}, summary="Link a wallet by signature")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = signed_in_user(request)
        wallet = wallet_link_by_signature(
            investor=investor_profile_ensure(user=user),
            actor=user,
            message=data.validated_data["message"],
            signature=data.validated_data["signature"],
        )
        return Response(self.OutputSerializer(wallet).data, status=status.HTTP_201_CREATED)
