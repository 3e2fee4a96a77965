from django.apps import AppConfig


class DistributionsConfig(AppConfig):
    name = "distributions"
    verbose_name = "Distributions"

    def ready(self) -> None:
        # Registers the four-eyes kind "distribution.approve" with core.approvals.
        from distributions.services import approval  # noqa: F401
