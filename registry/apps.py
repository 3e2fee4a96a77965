from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Registry"

    def ready(self) -> None:
        from registry.services import token_admin
        from tokens.services import transaction_retry_guard

        # Registers the four-eyes actions (a forced transfer, a wallet recovery) with core.approvals.
        # A failed token administration call is proposed again, never retried as it was.
        transaction_retry_guard(key_prefix="token-admin:", guard=token_admin.token_admin_retry_guard)
