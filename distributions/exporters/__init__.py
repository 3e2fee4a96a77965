"""Distribution exports through the registry's exporter interface (listed in `settings.REGISTRY_EXPORTERS`):
one distribution's register, and the yearly data of Forms 1099-DIV, 1099-INT and 1042-S."""
