from django.apps import AppConfig


class Config(AppConfig):
    name = "pg_arrays"
    default_auto_field = "django.db.models.BigAutoField"
