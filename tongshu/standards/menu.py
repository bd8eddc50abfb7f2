"""Labels of the standards section of the side menu (core/menus.py), kept here so their translations live in this
app's catalogue."""

from django.utils.translation import gettext_lazy as _

SECTION = _("Standards")
CODE_SETS = _("Code sets")
DATA_ELEMENTS = _("Data elements")
CATEGORIES = _("Resource categories")
