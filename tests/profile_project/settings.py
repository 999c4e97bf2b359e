"""A small Django project whose models hold what only the model registry can tell:
an app label with an underscore, custom db_table, natural keys by UUID and through a
foreign key, to_field, a generic foreign key, a proxy, multi-table inheritance."""

SECRET_KEY = "test-only"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "tests.profile_project.shop_items",
    "restore_ledger_django",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
RESTORE_LEDGER_PROFILE = {"shop_items.category": {"policy": "map", "seeded": True}}
