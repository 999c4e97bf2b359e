"""A package's profile against the target's schema: what the target lacks for the records of the backup."""

from __future__ import annotations

from application.package_check import profile_differences
from domain.profile import Column, Kind, ModelProfile, Profile

PROFILE = Profile({"shop.item": ModelProfile("shop.item", "shop_item", Column("id", Kind.INTEGER, False))})
COLUMNS = {"shop_item": {"id"}}


def test_a_migration_the_target_lacks_counts_for_an_app_whose_records_the_backup_holds() -> None:
    found = profile_differences(PROFILE, {"shop.item"}, COLUMNS, {"shop": ["0001", "0002"]}, {"shop": {"0001"}})

    assert found == ["app shop: the target's migrations are older than the backup's (not applied: 0002)"]


def test_an_app_left_out_of_the_backup_may_lack_its_migrations_in_the_target() -> None:
    """``dumpdata --exclude pg_arrays``: the source had the app, the backup holds none of its records."""
    migrations = {"shop": ["0001"], "pg_arrays": ["0001_initial"]}

    assert profile_differences(PROFILE, {"shop.item"}, COLUMNS, migrations, {"shop": {"0001"}}) == []
