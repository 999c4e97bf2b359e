from django.apps import AppConfig


class Config(AppConfig):
    name = "site_pages"
    default_auto_field = "django.db.models.BigAutoField"
