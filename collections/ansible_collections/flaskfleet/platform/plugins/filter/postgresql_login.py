"""The login role a service connects as, for one of its database passwords.

postgresql_login
    ``owner | flaskfleet.platform.postgresql_login(password)`` is
    ``<owner>_<10 hex digits>``, the digits from the SHA-256 of the owner and the
    password. The postgresql role creates one such login role per password of a
    database (``password`` and, during a rotation, ``password_previous``), a member
    of the database's owner role (which itself cannot log in); the services layer
    builds each service's database URL with the same filter. A new password is
    therefore a new login role, and both logins work while the services are
    replaced one at a time: no connection is refused during a rotation.

postgresql_logins
    ``postgresql_databases | flaskfleet.platform.postgresql_logins``: every login
    role the databases need, ``{database, owner, login, password}``, one per
    non-empty ``password`` and ``password_previous`` of each database.

    Passwords are random vault values (32 characters or more): ten hex digits of
    their digest tell nothing usable about them.
"""

from __future__ import annotations

import hashlib
import re

from ansible.errors import AnsibleFilterError

_OWNER_RE = re.compile(r"^[a-z_][a-z0-9_]{0,51}$")  # 52 + 11 = PostgreSQL's 63
SUFFIX_DIGITS = 10


def postgresql_login(owner: str, password: str) -> str:
    if not isinstance(owner, str) or not _OWNER_RE.match(owner):
        raise AnsibleFilterError(
            "postgresql_login: the owner must be a lowercase identifier of at most 52 "
            f"characters, got {owner!r}"
        )
    if not isinstance(password, str) or not password:
        raise AnsibleFilterError(f"postgresql_login: {owner}: the password is empty")
    digest = hashlib.sha256(f"{owner}:{password}".encode()).hexdigest()
    return f"{owner}_{digest[:SUFFIX_DIGITS]}"


def postgresql_logins(databases: list) -> list[dict]:
    logins = []
    for db in databases:
        for key in ("password", "password_previous"):
            password = db.get(key)
            if password is None or str(password) == "":
                continue
            logins.append({
                "database": db.get("name"),
                "owner": db.get("owner"),
                "login": postgresql_login(db.get("owner"), str(password)),
                "password": str(password),
            })
    return logins


class FilterModule:
    def filters(self):
        return {"postgresql_login": postgresql_login, "postgresql_logins": postgresql_logins}
