from django.apps import AppConfig


class Config(AppConfig):
    name = "shop_catalog"
    default_auto_field = "django.db.models.BigAutoField"
