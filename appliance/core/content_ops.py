"""The content gallery (images and videos for the screen's idle loop and branding).

The content adapter sniffs, stores and thumbnails the file first; the core only records
what is in the gallery, so an upload that fails leaves no record behind."""

from __future__ import annotations

from dataclasses import replace

from appliance.core import messages as m
from appliance.core.handling import Step, require_staff, rule, table
from appliance.core.model import frozen_map
from appliance.core.outputs import Rejected

MAX_ITEMS = 1000
KINDS = ("image", "video", "audio")


def add_content(s: Step, msg: m.AddContent) -> None:
    require_staff(s)
    item = msg.item
    if not item.content_id or item.kind not in KINDS or item.size < 0:
        raise Rejected("invalid_content", "A content item needs an id, a kind and a size.")
    if item.content_id in s.state.content:
        raise Rejected("duplicate_content", "That content id is already in the gallery.", 409)
    if len(s.state.content) >= MAX_ITEMS:
        raise Rejected("gallery_full", f"The gallery holds at most {MAX_ITEMS} items.", 409)
    item = replace(item, uploaded_by=msg.actor.user_id, created_at=s.now_iso)
    s.set_state(content=frozen_map({**s.state.content, item.content_id: item}))
    s.emit("CONTENT_GALLERY_UPDATE")
    s.log("content_uploaded", content_id=item.content_id, filename=item.filename, kind=item.kind)
    s.reply = {"item": item}


def remove_content(s: Step, msg: m.RemoveContent) -> None:
    require_staff(s)
    ids = tuple(msg.content_ids)
    if not ids or not all(isinstance(i, str) for i in ids):
        raise Rejected("invalid_value", "contentIds must be a non-empty list of ids.")
    missing = [i for i in ids if i not in s.state.content]
    if missing:
        raise Rejected("not_found", f"No content item {missing[0]!r}.", 404, missing=missing)
    removed = [s.state.content[i] for i in ids]
    s.set_state(content=frozen_map({k: v for k, v in s.state.content.items() if k not in ids}))
    s.emit("CONTENT_GALLERY_UPDATE")
    s.log("content_deleted", content_ids=list(ids))
    s.reply = {"removed": removed}


HANDLERS = table(
    rule(m.AddContent, add_content),
    rule(m.RemoveContent, remove_content),
)
