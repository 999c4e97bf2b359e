from django.apps import AppConfig


class RestoreLedgerConfig(AppConfig):
    name = "restore_ledger_django"
    label = "restore_ledger_django"
    verbose_name = "restore-ledger"
