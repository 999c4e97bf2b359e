"""The ``restore-ledger`` command line: parse, make one application call, print."""
