from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StandardsConfig(AppConfig):
    name = "tongshu.standards"
    label = "standards"
    verbose_name = _("Standards")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from . import lookups
        from .models import CodeSetVersion

        def forget(sender: object, **kwargs: object) -> None:
            lookups.invalidate()

        post_save.connect(forget, sender=CodeSetVersion, dispatch_uid="standards.lookups.version_saved")
        post_delete.connect(forget, sender=CodeSetVersion, dispatch_uid="standards.lookups.version_deleted")
