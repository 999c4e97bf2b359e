"""Many-to-many links as loaddata's ``set()`` leaves them, and what the links say of a self relation's
symmetry where no profile does."""

from __future__ import annotations

from domain.links import Change, SymmetricLinks
from domain.symmetry import BackupLinks, Pairing, decide


def test_a_symmetrical_link_given_by_one_row_is_written_in_both_directions() -> None:
    links = SymmetricLinks({})
    links.assign(1, 7, [], replace=True)
    links.assign(2, 8, [7], replace=True)

    added, removed = links.changes()

    assert [(c.source, c.target, c.reverse) for c in added] == [(7, 8, True), (8, 7, False)]
    assert removed == []


def test_a_later_record_takes_away_in_both_directions_what_an_earlier_one_gave_as_loaddata_does() -> None:
    links = SymmetricLinks({})
    links.assign(1, 7, [8], replace=True)
    links.assign(2, 8, [], replace=True)  # 8.related.set([]) removes 8 -> 7 and 7 -> 8

    assert links.changes() == ([], [])


def test_an_updated_row_loses_its_existing_links_in_both_directions_each_with_its_id() -> None:
    links = SymmetricLinks({10: {11: 1}, 11: {10: 2}})
    links.assign(5, 10, [], replace=True)

    added, removed = links.changes()

    assert added == []
    assert removed == [Change(10, 11, 5, 1, False), Change(11, 10, 5, 2, True)]


def test_a_kept_row_only_gains_links() -> None:
    links = SymmetricLinks({10: {11: 1}, 11: {10: 2}})
    links.assign(5, 10, [12], replace=False)

    added, removed = links.changes()

    assert [(c.source, c.target) for c in added] == [(10, 12), (12, 10)] and removed == []


def test_links_of_a_backup_are_paired_across_pks_and_natural_keys() -> None:
    backup = BackupLinks()
    backup.add("t", 1, None, ("first",), [["second"]])
    backup.add("t", 2, 9, ("second",), [["first"]])
    assert backup.pairing("t") == Pairing(2, 0, "")

    one_sided = BackupLinks()
    one_sided.add("t", 1, "7", None, [])
    one_sided.add("t", 2, "8", None, ["7"])
    assert one_sided.pairing("t") == Pairing(1, 1, "record 2 links to record 1")


def test_symmetry_is_told_by_the_links_or_left_unknown() -> None:
    assert decide(Pairing(2, 1, "t: 1 -> 2 without 2 -> 1"), Pairing())[0] is False
    assert decide(Pairing(2, 0), Pairing(1, 1, "record 2 links to record 1"))[0] is None
    assert decide(Pairing(2, 0), Pairing())[0] is True
    assert decide(Pairing(), Pairing(4, 0))[0] is True
    unknown, why = decide(Pairing(), Pairing())
    assert unknown is None and "no link" in why
