import importlib
import importlib.util

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "tongshu.catalog"
    label = "catalog"
    verbose_name = _("Catalog")

    def ready(self) -> None:
        from . import dashboards  # noqa: F401  (registers the home-page panels)

        # Signal receivers of other parts of the catalog (the search index), when installed.
        if importlib.util.find_spec(f"{self.name}.receivers") is not None:
            importlib.import_module(f"{self.name}.receivers")
