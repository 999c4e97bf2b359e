"""Settings of the differential test project: every construct of a Django schema restore-ledger must handle.

DIFF_DB is the ``default`` database (a SQLite path or a postgresql:// URL); DIFF_OTHER_DB, when set,
adds a second alias, ``other``, so one process can compare two databases.
"""

import os
from urllib.parse import urlsplit

SECRET_KEY = "differential-tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS: list[str] = []
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "treebeard",
    "taggit",
    "catalog",
    "cms",
    "shop_catalog",
    "restore_ledger_django",
]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "diffsite.urls"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TAGGIT_CASE_INSENSITIVE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _database(url_or_path: str) -> dict[str, object]:
    if url_or_path.startswith("postgresql://"):
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


DATABASES = {"default": _database(os.environ.get("DIFF_DB", "diffsite.sqlite3"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # PostgreSQL-only fields
    INSTALLED_APPS += ["django.contrib.postgres", "pg_arrays"]
if os.environ.get("DIFF_OTHER_DB"):
    DATABASES["other"] = _database(os.environ["DIFF_OTHER_DB"])
