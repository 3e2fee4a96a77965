from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "Tokens and chain"

    def ready(self) -> None:
        from celery.signals import worker_ready
        from django.conf import settings

        if getattr(settings, "CHAIN_BOOTSTRAP_ON_WORKER_START", False):

            @worker_ready.connect(weak=False)
            def _bootstrap(**kwargs: object) -> None:
                from tokens.tasks import chain_bootstrap_task

                chain_bootstrap_task.delay()
