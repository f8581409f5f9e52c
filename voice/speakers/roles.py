"""Household roles: each enrolled person is the owner, an adult or a child, with one owner per
household. A voice nobody enrolled is a guest, the least trusted answer, so a permission check never
fails open on a name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import OwnerExistsError, SpeakerRoleError, UnknownSpeakerError

if TYPE_CHECKING:
    from .profiles import ProfileStore, SpeakerProfile

UNKNOWN = "unknown"  # the name identification answers when it abstains
ROLES = ("owner", "adult", "child")
GUEST = "guest"  # what role_of() answers for a voice that is not enrolled


def check_role(role: str) -> None:
    if role not in ROLES:
        raise SpeakerRoleError(f"'{role}' is not a household role", f"use one of: {', '.join(ROLES)}")


def resolve_roles(profiles: dict[str, SpeakerProfile]) -> None:
    """Profiles written before roles existed: the first-created one reads as the owner (unless an
    owner is already set), the others as adults. Nothing is rewritten until a profile changes."""
    unset = [p for p in profiles.values() if p.role not in ROLES]
    if not unset:
        return
    has_owner = any(p.role == "owner" for p in profiles.values())
    first = min(profiles.values(), key=lambda p: (p.created, p.name))
    for p in unset:
        p.role = "owner" if (p is first and not has_owner) else "adult"


class Household:
    """The roles of the profiles in one store, and the one-owner rule over them."""

    def __init__(self, store: ProfileStore) -> None:
        self.store = store

    def owner_names(self) -> list[str]:
        return sorted(p.name for p in self.store.profiles.values() if p.role == "owner")

    def role_of(self, name: str | None) -> str:
        """The person's household role, "owner", "adult" or "child"; "guest" for "unknown" or anyone
        not enrolled (the least trusted answer: a permission check never fails open on a name)."""
        if not name or name == UNKNOWN:
            return GUEST
        try:
            return self.store.get(name).role
        except UnknownSpeakerError:
            return GUEST

    def set_role(self, name: str, role: str, force: bool = False) -> SpeakerProfile:
        """Change a person's role. One owner per household: making someone the owner while another
        is enrolled raises OwnerExistsError unless `force`, which makes the other an adult."""
        check_role(role)
        profile = self.store.get(name)
        if role == "owner":
            self.check_owner_change(profile.name, force)
        if profile.role != role:
            profile.role = role
            self.store.write(profile)
        if role == "owner":
            self.demote_other_owners(profile.name)
        return profile

    def check_owner_change(self, name: str, force: bool) -> None:
        others = [o for o in self.owner_names() if o.lower() != name.lower()]
        if others and not force:
            raise OwnerExistsError(
                f"{' and '.join(others)} is already the owner; a household has one owner",
                f"to make {name} the owner instead, repeat with --force ({others[0]} becomes an adult)",
            )

    def demote_other_owners(self, name: str) -> None:
        for p in list(self.store.profiles.values()):
            if p.role == "owner" and p.name.lower() != name.lower():
                p.role = "adult"
                self.store.write(p)
