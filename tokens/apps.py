from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "Tokens and chain"

    def ready(self) -> None:
        from celery.signals import worker_init, worker_process_init, worker_ready
        from django.conf import settings

        from tokens.chain.signer import signing_enable

        # Only workers sign: a web process knows the senders' addresses and never loads a key.
        @worker_init.connect(weak=False)
        @worker_process_init.connect(weak=False)
        def _allow_signing(**kwargs: object) -> None:
            signing_enable()

        if getattr(settings, "CHAIN_BOOTSTRAP_ON_WORKER_START", False):

            @worker_ready.connect(weak=False)
            def _bootstrap(**kwargs: object) -> None:
                from tokens.tasks import chain_bootstrap_task

                chain_bootstrap_task.delay()
