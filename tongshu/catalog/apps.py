from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "tongshu.catalog"
    label = "catalog"
    verbose_name = _("Catalog")

    def ready(self) -> None:
        from . import dashboards  # noqa: F401  (registers the home-page panels)
        from .search import receivers  # noqa: F401  (keeps the search index current on publish/retire)
