from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from celery.signals import worker_ready
        from django.contrib.auth.signals import user_logged_in

        from core.middleware import idle_clock_start
        from core.task_context import task_context_connect

        # The idle clock of a privileged session starts at sign-in.
        user_logged_in.connect(idle_clock_start, weak=False, dispatch_uid="tessera_idle_clock_start")
        # A request's id goes with the tasks it queues and the work they do.
        task_context_connect()

        @worker_ready.connect(weak=False)
        def _announce(**kwargs: object) -> None:
            # The health page shows workers as up from the moment one starts, not a minute later.
            from core.tasks import worker_heartbeat

            worker_heartbeat.delay()
