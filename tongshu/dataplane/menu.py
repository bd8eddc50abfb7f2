"""Labels of the data plane's menu entries (kept here so their translations live in this app's catalogue)."""

from django.utils.translation import gettext_lazy as _

SECTION = _("Data management")
DATA_MANAGEMENT = _("Data management")
