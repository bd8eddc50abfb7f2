from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "tongshu.quality"
    label = "quality"
    verbose_name = _("Data quality")

    def ready(self) -> None:
        from . import (
            dashboards,  # noqa: F401  (registers the home-page panels)
            receivers,  # noqa: F401  (scores and overdue to-dos after each applied batch)
        )
