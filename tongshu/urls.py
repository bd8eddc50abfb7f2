from django.urls import include, path

from tongshu.api import api
from tongshu.catalog.views_exchange import dcat_jsonld

urlpatterns = [
    path("", include("tongshu.core.urls")),
    path("accounts/", include("tongshu.accounts.urls")),
    path("security/", include("tongshu.security.urls")),
    path("standards/", include("tongshu.standards.urls")),
    path("catalog/search/", include("tongshu.catalog.urls_search")),
    path("catalog/exchange/", include("tongshu.catalog.urls_exchange")),
    path("catalog/dcat.jsonld", dcat_jsonld, name="catalog_dcat"),
    path("catalog/", include("tongshu.catalog.urls")),
    path("data/", include("tongshu.dataplane.urls")),
    path("quality/", include("tongshu.quality.urls")),
    path("data/browse/", include("tongshu.dataplane.urls_browse")),
    path("data/ways/", include("tongshu.dataplane.urls_ways")),
    path("collect/", include("tongshu.dataplane.urls_collect")),
    path("api/v1/", api.urls),
    path("captcha/", include("captcha.urls")),
]

handler400 = "tongshu.core.views.bad_request"
handler403 = "tongshu.core.views.permission_denied"
handler404 = "tongshu.core.views.page_not_found"
