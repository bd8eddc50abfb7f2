from tongshu.core.dashboards import register  # noqa: F401
