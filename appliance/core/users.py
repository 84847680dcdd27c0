"""Users and the venue's first start (the seed's Auth & Setup Handler, pure part)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any

from appliance.core import messages as m
from appliance.core.handling import Step, require_admin, rule, table
from appliance.core.model import ROLES, User, UserPreferences, Venue, frozen_map
from appliance.core.outputs import Rejected

PREFERENCE_TYPES = {
    f.name: type(getattr(UserPreferences(), f.name)) for f in fields(UserPreferences)
}


def setup_venue(s: Step, msg: m.SetupVenue) -> None:
    if s.state.venue is not None:
        raise Rejected("already_set_up", "The venue is already set up.", 409)
    owner = User(
        user_id=msg.owner_user_id,
        username=msg.owner_username,
        venue_id=msg.owner_user_id,
        role="admin",
        created_at=s.now_iso,
        pin_hash=msg.pin_hash,
    )
    venue = Venue(
        venue_id=msg.owner_user_id,
        owner_id=msg.owner_user_id,
        venue_name=msg.venue_name,
        created_at=s.now_iso,
        last_updated=s.now_iso,
    )
    s.set_state(venue=venue, users=frozen_map({owner.user_id: owner}))
    s.emit("PLAYER_SETTINGS_UPDATE")
    s.log("venue_created", venue_name=msg.venue_name)
    s.reply = {"venueId": venue.venue_id, "ownerId": owner.user_id}


def register_user(s: Step, msg: m.RegisterUser) -> None:
    if msg.role not in ROLES:
        raise Rejected("invalid_role", f"role must be one of {', '.join(ROLES)}.")
    if msg.role != "user":
        require_admin(s)
    existing = s.state.users.get(msg.user_id)
    if existing is not None and existing.role != msg.role and msg.actor.role != "admin":
        raise Rejected("forbidden", "Only an admin can change a role.", 403)
    username = msg.username.strip()[:40] if isinstance(msg.username, str) else ""
    user = User(
        user_id=msg.user_id,
        username=username,
        email=msg.email,
        venue_id=s.venue.venue_id,
        role=msg.role,
        created_at=existing.created_at if existing else s.now_iso,
        last_activity_at=s.now_iso,
        pin_hash=msg.pin_hash or (existing.pin_hash if existing else ""),
        preferences=existing.preferences if existing else UserPreferences(),
    )
    users = dict(s.state.users)
    users[user.user_id] = user
    s.set_state(users=frozen_map(users))
    s.log("user_registered", registered_user_id=user.user_id, role=user.role)
    s.reply = {"userId": user.user_id, "role": user.role}


def user_logged_in(s: Step, msg: m.UserLoggedIn) -> None:
    user = s.state.users.get(msg.user_id)
    if user is None:
        raise Rejected("not_found", "No such user.", 404)
    users = dict(s.state.users)
    users[user.user_id] = replace(user, last_login_at=s.now_iso, last_activity_at=s.now_iso)
    s.set_state(users=frozen_map(users))
    s.log("user_login", role=user.role)


def update_preferences(s: Step, msg: m.UpdatePreferences) -> None:
    if msg.actor.user_id != msg.user_id and msg.actor.role != "admin":
        raise Rejected("forbidden", "You can only change your own preferences.", 403)
    user = s.state.users.get(msg.user_id)
    if user is None:
        raise Rejected("not_found", "No such user.", 404)
    prefs = _valid_preferences(msg.preferences)
    user = replace(user, preferences=replace(user.preferences, **prefs), last_activity_at=s.now_iso)
    users = dict(s.state.users)
    users[user.user_id] = user
    s.set_state(users=frozen_map(users))
    s.log("preferences_updated", keys=sorted(prefs))
    s.reply = {"userId": user.user_id, "preferences": user.preferences}


def _valid_preferences(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not value:
        raise Rejected("invalid_value", "preferences must be a non-empty object.")
    out: dict[str, Any] = {}
    for key, v in value.items():
        expected = PREFERENCE_TYPES.get(key)
        if expected is None:
            raise Rejected("unknown_preference", f"Unknown preference {key!r}.")
        if type(v) is not expected:
            raise Rejected("invalid_value", f"{key} must be {expected.__name__}.")
        if key == "default_volume" and not 0 <= v <= 100:
            raise Rejected("out_of_range", "default_volume must be from 0 to 100.")
        if isinstance(v, str) and len(v) > 64:
            raise Rejected("invalid_value", f"{key} is too long.")
        out[key] = v
    return out


HANDLERS = table(
    rule(m.SetupVenue, setup_venue),
    rule(m.RegisterUser, register_user),
    rule(m.UserLoggedIn, user_logged_in),
    rule(m.UpdatePreferences, update_preferences),
)
