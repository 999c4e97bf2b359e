"""Event state encrypted at rest with the library's AES cipher: the ledger file then holds no e-mail
of a restored user, and reads back only with the key."""

from __future__ import annotations

import json
import sqlite3
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from eventsourcing.cryptography import AESCipher

from infrastructure.ledger_codec import ZstdCompressor
from tests.conftest import run
from tests.e2e.test_reinitialised import restore
from tests.edms import Source
from tests.targets import Target


@pytest.mark.parametrize("reinitialised", ["sqlite"], indirect=True)
@pytest.mark.parametrize("by", ["variable", "file"])
def test_an_encrypted_ledger_holds_no_email_of_a_restored_user(
    by: str, source: Source, reinitialised: Target, tmp_path: Path, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = AESCipher.create_key(32)
    if by == "variable":
        monkeypatch.setenv("RESTORE_LEDGER_CIPHER_KEY", key)
    else:
        (tmp_path / "ledger.key").write_text(key + "\n")
        monkeypatch.setenv("RESTORE_LEDGER_CIPHER_KEY_FILE", str(tmp_path / "ledger.key"))
    ledger = str(tmp_path / "ledger.sqlite3")
    restore_id = restore(cli, source.fixture(), reinitialised, ledger)
    emails = {r["fields"]["email"] for r in json.loads(source.fixture().read_text()) if r["model"] == "accounts.user"}
    [(email,)] = reinitialised.query("SELECT email FROM accounts_user WHERE username = 'user00001'")
    assert email in emails  # restored

    connection = sqlite3.connect(ledger)
    connection.execute("PRAGMA wal_checkpoint(FULL)")
    states = [bytes(state) for (state,) in connection.execute("SELECT state FROM stored_events")]
    connection.close()
    files = [Path(ledger), Path(ledger + "-wal")]
    stored = b"".join(path.read_bytes() for path in files if path.exists())
    assert not any(address.encode() in stored for address in emails)
    with pytest.raises(zlib.error):
        ZstdCompressor().decompress(states[0])  # not merely compressed: encrypted

    assert run(cli, "ledger", "verify", "--ledger", ledger).exit_code == 0
    assert run(cli, "ledger", "show", restore_id, "--ledger", ledger).exit_code == 0
    monkeypatch.delenv("RESTORE_LEDGER_CIPHER_KEY", raising=False)
    monkeypatch.delenv("RESTORE_LEDGER_CIPHER_KEY_FILE", raising=False)
    refused = run(cli, "ledger", "show", restore_id, "--ledger", ledger)
    assert refused.exit_code == 1 and "it is encrypted" in refused.output
