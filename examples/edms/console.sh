#!/bin/sh
# The web console on the example: a fresh, re-initialised example EDMS target (SQLite), a ledger,
# a targets file naming the target "edms", an operator and an auditor, then the server on
# http://127.0.0.1:${RESTORE_LEDGER_CONSOLE_PORT:-8000}/ . Upload examples/edms/backup as a .zip
# (this script writes one next to the target). Demo passwords: set RESTORE_LEDGER_DEMO_PASSWORD.
# Runs from the repository root with restore-ledger on PATH; Ctrl-C stops the server.
set -eu
work=${RESTORE_LEDGER_DEMO_DIR:-$(mktemp -d)}
port=${RESTORE_LEDGER_CONSOLE_PORT:-8000}
password=${RESTORE_LEDGER_DEMO_PASSWORD:-example-password}
mkdir -p "$work"
rm -rf "$work/edms-target.sqlite3" "$work/restore-ledger.sqlite3"* "$work/media" "$work/jobs"
python3 examples/edms/build_target.py --reinitialised "$work/edms-target.sqlite3"
(cd examples/edms/backup && python3 -m zipfile -c "$work/edms-backup.zip" manifest.json data media)
cat > "$work/targets.toml" <<TOML
[targets.edms]
url = "sqlite:///$work/edms-target.sqlite3"
media_root = "media"
profile = "$PWD/examples/edms/profile.toml"
description = "example EDMS, re-initialised"
TOML
for account in operator:operator auditor:auditor; do
  echo "$password" | restore-ledger accounts add "${account%%:*}" --role "${account##*:}" --password-stdin \
    --ledger "$work/restore-ledger.sqlite3" --actor console.sh
done
echo "console: http://127.0.0.1:$port/  accounts: operator, auditor (password: $password)"
echo "backup to upload: $work/edms-backup.zip"
exec restore-ledger serve --ledger "$work/restore-ledger.sqlite3" --targets "$work/targets.toml" \
  --jobs-dir "$work/jobs" --port "$port"
