"""Child process for the crash test: applies mutations through Runtime + FileStore and
reports each one on stdout once `submit()` has acknowledged it. The parent kill -9s it.

Usage: crash_child.py DATA_DIR RUN_ID
Output lines: `cleared` (the queue was cleared at start), `ready`, then
`ack <command_id> <kind> <value>` per acknowledged mutation.
"""

from __future__ import annotations

import random
import sys

from appliance.core import messages as m
from appliance.core.model import TrackInfo
from appliance.runtime import Runtime
from appliance.store import FileStore

ADMIN = m.Actor(user_id="owner", role="admin", source="web")
MAX_QUEUE = 400


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(data_dir: str, run_id: str) -> None:
    rng = random.Random(run_id)
    store = FileStore(data_dir)
    rt = Runtime(store, checkpoint_every=0.05)
    rt.start(boot=False)
    if rt.state.venue is None:
        assert rt.submit(m.SetupVenue(owner_user_id="owner")).ok
    if len(rt.state.venue.active_queue) > MAX_QUEUE:  # keep long soaks fast
        assert rt.submit(m.ClearQueue(actor=ADMIN)).ok
        say("cleared")
    say("ready")
    k = 0
    while True:
        k += 1
        cid = f"{run_id}-{k}"
        roll = rng.random()
        if roll < 0.6:
            video = f"c{run_id}-{k}"
            reply = rt.submit(m.AddToQueue(track=TrackInfo(video), command_id=cid, actor=ADMIN))
            kind, value = "add", video
        elif roll < 0.8:
            volume = rng.randint(0, 100)
            msg = m.UiCommand(command="SET_VOLUME", value=volume, command_id=cid, actor=ADMIN)
            reply = rt.submit(msg)
            kind, value = "volume", str(volume)
        elif roll < 0.98:
            np = rt.state.venue.now_playing
            rt.post(m.Heartbeat(position=rng.random() * 100, play_id=np.play_id if np else ""))
            continue
        else:
            store.request_snapshot()  # snapshots and pruning happen under fire too
            continue
        if reply.ok:
            say(f"ack {cid} {kind} {value}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
