"""Settings of the example EDMS: a small Django document management system.

The database file comes from EDMS_DB (default: edms.sqlite3 beside manage.py).
EDMS_TARGET_DB adds a second alias, ``target``, used to compare a restored
database with the source through the ORM.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "example-only-not-secret"
DEBUG = False
ALLOWED_HOSTS: list[str] = []
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "accounts",
    "documents",
    "workflows",
    "audit",
    "restore_ledger_django",
]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "edms.urls"
AUTH_USER_MODEL = "accounts.User"
# What the project knows and no model says: the seed creates these rows again on every
# re-initialisation, so a backup row with the same natural key is mapped onto the seeded row.
RESTORE_LEDGER_PROFILE = {
    "accounts.role": {"policy": "map", "seeded": True},
    "documents.documenttype": {"policy": "map", "seeded": True},
    "workflows.workflowtype": {"policy": "map", "seeded": True},
}
MEDIA_ROOT = os.environ.get("EDMS_MEDIA_ROOT", str(BASE_DIR / "media"))


def _database(url_or_path: str) -> dict[str, object]:
    if url_or_path.startswith("postgresql://"):
        from urllib.parse import urlsplit

        parts = urlsplit(url_or_path)
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parts.path.lstrip("/"),
            "USER": parts.username or "",
            "PASSWORD": parts.password or "",
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
        }
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": url_or_path}


DATABASES = {"default": _database(os.environ.get("EDMS_DB", str(BASE_DIR / "edms.sqlite3")))}
if os.environ.get("EDMS_TARGET_DB"):
    DATABASES["target"] = _database(os.environ["EDMS_TARGET_DB"])
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
