"""Backup readers, the target database, ledger settings and the projection writer."""
