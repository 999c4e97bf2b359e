"""restore-ledger's optional Django app: the exact restore profile and verified backup packages.

``INSTALLED_APPS += ["restore_ledger_django"]`` gives ``manage.py restore_ledger_profile``
and ``manage.py restore_ledger_backup``. Needs Django (``pip install restore-ledger[django]``);
restore-ledger itself never imports it.
"""
