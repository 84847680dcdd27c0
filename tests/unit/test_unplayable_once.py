"""A video reported unplayable again changes nothing: no rev, no event, no new prefetch
(a new prefetch made the library report it again, in a loop of ~1000 changes a second)."""

from __future__ import annotations

from appliance.core import messages as m
from appliance.core.engine import step
from appliance.core.model import State, TrackInfo
from appliance.core.outputs import Prefetch


def test_a_repeated_unplayable_report_is_a_no_op() -> None:
    state = step(State(), m.SetupVenue(owner_user_id="o"), 1.0).state
    for vid in ("a", "b"):
        state = step(state, m.AddToQueue(track=TrackInfo(vid)), 2.0).state
    first = step(state, m.TrackUnplayable(video_id="b", reason="gone"), 3.0)
    assert first.durable and any(isinstance(e, Prefetch) for e in first.effects)
    assert any(i.unplayable for i in first.state.venue.active_queue)
    again = step(first.state, m.TrackUnplayable(video_id="b", reason="gone"), 4.0)
    assert again.state is first.state or again.durable is False
    assert again.events == () and again.effects == ()
