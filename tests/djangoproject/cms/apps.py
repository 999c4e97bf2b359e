from django.apps import AppConfig


class Config(AppConfig):
    name = "cms"
    default_auto_field = "django.db.models.BigAutoField"
