from django.apps import AppConfig


class OfferingsConfig(AppConfig):
    name = "offerings"
    verbose_name = "Offerings"

    def ready(self) -> None:
        from offerings.services.closing import mint_transaction_retry_guard
        from tokens.services import transaction_retry_guard

        # A closing mint is retried only through the offering, which checks the chain first.
        transaction_retry_guard(key_prefix="close:", guard=mint_transaction_retry_guard)

        # Registers the four-eyes actions (a wire recorded by hand, a refund marked sent, a case's release).
        from offerings.services import cases, payments, wires  # noqa: F401
