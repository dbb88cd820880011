"""flaskfleet.platform.postgresql_login(s): the login role of each database password.

The postgresql role creates these roles and the services layer builds the database
URLs with the same filter; the names must be stable, distinct per password, and
valid PostgreSQL identifiers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError
from source_module import load_source

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "collections/ansible_collections/flaskfleet/platform/plugins/filter"
filters = load_source("postgresql_login", PLUGIN / "postgresql_login.py")


def test_a_login_is_the_owner_and_ten_hex_digits_and_the_same_on_every_run() -> None:
    login = filters.postgresql_login("user_service", "s3cret-password")
    assert re.fullmatch(r"user_service_[0-9a-f]{10}", login)
    assert filters.postgresql_login("user_service", "s3cret-password") == login


def test_a_new_password_is_a_new_login_and_owners_never_share_one() -> None:
    names = {
        filters.postgresql_login("user_service", "one"),
        filters.postgresql_login("user_service", "two"),
        filters.postgresql_login("order_service", "one"),
    }
    assert len(names) == 3


def test_the_longest_owner_gives_a_name_within_postgresql_limit() -> None:
    assert len(filters.postgresql_login("o" * 52, "x")) == 63


@pytest.mark.parametrize("owner", ["", "User", "o" * 53, "drop table;", None])
def test_an_owner_that_is_no_short_identifier_is_refused(owner) -> None:
    with pytest.raises(AnsibleFilterError, match="owner"):
        filters.postgresql_login(owner, "x")


def test_an_empty_password_is_refused_and_the_message_names_the_owner() -> None:
    with pytest.raises(AnsibleFilterError, match="user_service"):
        filters.postgresql_login("user_service", "")


def test_logins_lists_one_per_password_and_skips_an_empty_previous() -> None:
    logins = filters.postgresql_logins([
        {"name": "users", "owner": "user_service", "password": "new", "password_previous": "old"},
        {"name": "orders", "owner": "order_service", "password": "p", "password_previous": ""},
    ])
    assert [(entry["database"], entry["password"]) for entry in logins] == [
        ("users", "new"), ("users", "old"), ("orders", "p")]
    assert logins[0]["login"] == filters.postgresql_login("user_service", "new")
    assert logins[1]["login"] == filters.postgresql_login("user_service", "old")
