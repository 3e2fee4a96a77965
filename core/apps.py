from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from celery.signals import worker_ready

        @worker_ready.connect(weak=False)
        def _announce(**kwargs: object) -> None:
            # The health page shows workers as up from the moment one starts, not a minute later.
            from core.tasks import worker_heartbeat

            worker_heartbeat.delay()
