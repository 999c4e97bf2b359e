#!/bin/sh
# The main job on the embedded default: build a fresh, re-initialised example EDMS target
# (SQLite; seeded roles, types and admin with new UUIDs and pks), restore the bundled
# example backup package into it (made by manage.py restore_ledger_backup: it carries its own
# restore profile, so no --profile is needed), and print every decision that was taken.
# Runs from the repository root with restore-ledger on PATH.
set -eu
work=${RESTORE_LEDGER_DEMO_DIR:-$(mktemp -d)}
mkdir -p "$work"
rm -f "$work/edms-target.sqlite3" "$work/restore-ledger.sqlite3"
rm -rf "$work/media"
python3 examples/edms/build_target.py --reinitialised "$work/edms-target.sqlite3"
restore-ledger restore examples/edms/backup \
  --target "sqlite:///$work/edms-target.sqlite3" \
  --ledger "$work/restore-ledger.sqlite3" \
  --media-root "$work/media" \
  --actor demo --reason "example restore into a re-initialised EDMS"
restore_id=$(restore-ledger ledger list --ledger "$work/restore-ledger.sqlite3" | tail -n 1 | cut -d' ' -f1)
restore-ledger ledger show "$restore_id" --ledger "$work/restore-ledger.sqlite3"
restore-ledger ledger show "$restore_id" --ledger "$work/restore-ledger.sqlite3" --decisions
echo "target: $work/edms-target.sqlite3  ledger: $work/restore-ledger.sqlite3  media: $work/media"
