from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "tongshu.accounts"
    label = "accounts"
    verbose_name = _("Organizations and accounts")

    def ready(self) -> None:
        from . import dashboards, signals  # noqa: F401  (registers home panels and audit signal handlers)
