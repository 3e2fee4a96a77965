"""Ballot exports through the registry's exporter interface (listed in `settings.REGISTRY_EXPORTERS`)."""
