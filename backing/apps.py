from django.apps import AppConfig


class BackingConfig(AppConfig):
    name = "backing"
    verbose_name = "Backing"

    def ready(self) -> None:
        from backing.guard import token_mint_guard
        from backing.services import nav, nav_oracle, rule, statements  # noqa: F401 - register their four-eyes kinds
        from tokens.services import token_mint_guard_register

        token_mint_guard_register(token_mint_guard)
