"""Pure restore logic and the ledger's aggregate: standard library and eventsourcing.domain only."""
