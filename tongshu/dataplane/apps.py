from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataplaneConfig(AppConfig):
    name = "tongshu.dataplane"
    label = "dataplane"
    verbose_name = _("Data plane")

    def ready(self) -> None:
        from . import receivers  # noqa: F401
