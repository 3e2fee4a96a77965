from django.apps import AppConfig


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = "Holder transfers"

    def ready(self) -> None:
        from tokens.services import transaction_retry_guard
        from transfers.services.transfers import transfer_retry_guard

        # A custodial transfer that failed on-chain is instructed (and checked) again, never re-sent as it was.
        transaction_retry_guard(key_prefix="transfer:", guard=transfer_retry_guard)
