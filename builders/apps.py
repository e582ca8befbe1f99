from django.apps import AppConfig


class BuildersConfig(AppConfig):
    name = "builders"
    default_auto_field = "django.db.models.BigAutoField"
