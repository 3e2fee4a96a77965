from django.apps import AppConfig


class RedemptionsConfig(AppConfig):
    name = "redemptions"
    verbose_name = "Redemptions"

    def ready(self) -> None:
        from redemptions.services.requesting import redemption_retry_guard
        from tokens.services import transaction_retry_guard

        transaction_retry_guard(key_prefix="redemption:", guard=redemption_retry_guard)
