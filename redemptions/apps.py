from django.apps import AppConfig


class RedemptionsConfig(AppConfig):
    name = "redemptions"
    verbose_name = "Redemptions"

    def ready(self) -> None:
        from redemptions.selectors import redemption_posting_reasons
        from redemptions.services import approval  # noqa: F401 - registers the four-eyes kind
        from redemptions.services.requesting import redemption_retry_guard
        from redemptions.services.wallets import redemption_requests_recovered, redemption_wallet_claims
        from registry.services.ledger import posting_reasons_register
        from registry.services.token_admin import recovery_followers_register, wallet_claims_register
        from tokens.services import transaction_retry_guard

        transaction_retry_guard(key_prefix="redemption:", guard=redemption_retry_guard)
        posting_reasons_register(redemption_posting_reasons)
        wallet_claims_register(redemption_wallet_claims)
        recovery_followers_register(redemption_requests_recovered)
