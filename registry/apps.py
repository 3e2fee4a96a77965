from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Registry"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, pre_delete

        from registry.models import LedgerPosting
        from registry.services import positions, token_admin
        from tokens.services import transaction_retry_guard

        # Registers the four-eyes actions (a forced transfer, a wallet recovery) with core.approvals.
        # A failed token administration call is proposed again, never retried as it was.
        transaction_retry_guard(key_prefix="token-admin:", guard=token_admin.token_admin_retry_guard)
        # Postings go by CASCADE when the indexer rolls its events back (tokens may not call the registry):
        # the positions and day totals kept with the ledger follow them in the same transaction.
        pre_delete.connect(positions.on_posting_pre_delete, sender=LedgerPosting, dispatch_uid="positions_pre")
        post_delete.connect(positions.on_posting_post_delete, sender=LedgerPosting, dispatch_uid="positions_post")

        # Registers the four-eyes action that puts a raised authorized quantity into effect.
        from registry.services import control_book  # noqa: F401
