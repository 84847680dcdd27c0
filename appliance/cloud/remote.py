"""A venue seen from the cloud: the runtime's port the web console needs
(`appliance.runtime_port.RuntimePort`: `state`, `subscribe`, `submit`, `submit_async`),
backed by MQTT.

The state is rebuilt from the venue's retained `state/*` topics (so a console that starts
late is current at once) and from the `events` that carry the same pieces (not coalesced,
so they are the first news), newest `rev` per piece winning; it is pushed to subscribers
as it changes. Events that carry their own payload (LOG_ENTRY, SYSTEM_STATUS, ...) pass
through. Commands are sent on `cmd`
as the HTTP route they mirror (`appliance.commands.command_for`) and answered from
`cmd/ack`. The remote console's own staff (its own PINs) live only here: logins and PIN
changes never travel to the venue.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import paho.mqtt.client as mqtt

from appliance.cloud.settings import LinkSettings, Topics
from appliance.cloud.wire import PIECE_TYPES, PIECES, apply_piece, event_from_envelope
from appliance.commands import command_for
from appliance.core import messages as m
from appliance.core.codec import from_data
from appliance.core.handling import iso
from appliance.core.model import Playlist, State, User, frozen_map
from appliance.core.outputs import Event
from appliance.pins import hash_pin
from appliance.runtime import Published, Reply, Subscription

log = logging.getLogger(__name__)
REV_WINDOW = 10_000  # how far a piece may lag behind events; more is not lag but a lie

# events whose payload is a state piece's (or part of it): applied as they come
EVENT_PIECE: dict[str, str] = {t: p for p, t in PIECE_TYPES.items()}
READ_YOUR_WRITE = 3.0  # seconds a command's answer waits for the state that shows it


def console_staff(pin: str, username: str = "remote") -> dict[str, User]:
    """The remote console's own admin, with its own PIN."""
    user = User(user_id="console-admin", username=username, role="admin", pin_hash=hash_pin(pin))
    return {user.user_id: user}


class RemoteVenue:
    def __init__(
        self,
        settings: LinkSettings,
        venue_id: str,
        staff: Mapping[str, User],
        *,
        command_timeout: float = 10.0,
    ) -> None:
        self.settings = settings
        self.topics = Topics(venue_id)
        self._state = State(users=frozen_map(staff))
        self._cond = threading.Condition()
        self._subs: list[Subscription] = []
        self._pending: dict[str, Future[dict[str, Any]]] = {}
        self._pieces: set[str] = set()
        self._piece_rev: dict[str, int] = {}
        self._full_playlists: dict[str, Playlist] = {}  # with tracks, from state/playlists/+
        self._timeout = command_timeout
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="remote-submit")
        self._connected = threading.Event()
        self.online = False
        self.client: mqtt.Client | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        from appliance.cloud.link import make_client

        client_id = f"djamms-console-{uuid.uuid4().hex[:12]}"
        client = make_client(self.settings, client_id, self.settings.broker.username)
        client.on_connect = self._on_connect
        client.on_disconnect = lambda *_: self._connected.clear()
        client.on_message = self._on_message
        self.client = client
        b = self.settings.broker
        client.connect_async(b.host, b.port, self.settings.keepalive)
        client.loop_start()

    def stop(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        for sub in list(self._subs):
            sub.close()

    def wait_ready(self, timeout: float) -> bool:
        """True once every retained state piece has arrived."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._pieces) < len(PIECES):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    # -- the runtime's port (RuntimePort) ---------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    def subscribe(self, maxsize: int = 256, name: str = "") -> Subscription:
        sub = Subscription(self, maxsize, name)
        with self._cond:
            self._subs = [*self._subs, sub]
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._cond:
            self._subs = [s for s in self._subs if s is not sub]

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def submit_async(self, msg: m.Message) -> Future[Reply]:
        return self._pool.submit(self.submit, msg)

    def submit(self, msg: m.Message, timeout: float = 10.0) -> Reply:
        local = self._local(msg)
        if local is not None:
            return local
        route = command_for(msg)
        if route is None:
            return _refusal("not_remote", f"{type(msg).__name__} cannot be sent to a venue.", 400)
        if not self._connected.is_set() or self.client is None:
            return _refusal("cloud_unreachable", "The console is not connected to the broker.", 503)
        command_id = _command_id(msg.command_id)
        fut: Future[dict[str, Any]] = Future()
        with self._cond:
            self._pending[command_id] = fut
        payload = {
            "commandId": command_id,
            "issuedAt": iso(time.time()),
            "path": route[0],
            "body": route[1],
            "actor": {"userId": msg.actor.user_id, "role": msg.actor.role},
        }
        self.client.publish(self.topics.cmd, json.dumps(payload, default=str), qos=1)
        try:
            ack = fut.result(timeout=min(timeout, self._timeout))
        except TimeoutError:
            return _refusal("venue_timeout", "The venue did not answer in time.", 504)
        finally:
            with self._cond:
                self._pending.pop(command_id, None)
        return self._reply(ack)

    def _reply(self, ack: Mapping[str, Any]) -> Reply:
        acked_rev = ack.get("rev")
        rev = acked_rev if isinstance(acked_rev, int) else self._state.rev
        if ack.get("ok"):
            self._wait_rev(rev)
            return Reply(True, rev, result=ack.get("result"), status=int(ack.get("status", 200)))
        status = int(ack.get("status", 400))
        error = ack.get("error") if isinstance(ack.get("error"), dict) else {"code": "refused"}
        return Reply(False, rev, error=error, status=status,
                     state=self._state if status == 409 else None)  # fmt: skip

    def _wait_rev(self, rev: int) -> None:
        deadline = time.monotonic() + READ_YOUR_WRITE
        with self._cond:
            while self._state.rev < rev and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())

    def _local(self, msg: m.Message) -> Reply | None:
        """Console-side bookkeeping that never goes to the venue."""
        if isinstance(msg, m.UserLoggedIn | m.SystemNotice):
            return Reply(True, self._state.rev)
        if isinstance(msg, m.RegisterUser):
            if msg.role == "user":
                return _refusal("staff_only", "The remote console is for staff only.", 403)
            user = User(user_id=msg.user_id, username=msg.username, role=msg.role,
                        pin_hash=msg.pin_hash)  # fmt: skip
            with self._cond:
                users = dict(self._state.users)
                users[user.user_id] = user
                self._state = replace(self._state, users=frozen_map(users))
            return Reply(True, self._state.rev, result={"user_id": user.user_id})
        return None

    # -- MQTT (network thread) -------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.warning("remote console: broker refused us: %s", rc)
            return
        t = self.topics
        client.subscribe(
            [(f"{t.base}/state/+", 1), (t.playlist("+"), 1), (t.events, 1), (t.ack, 1),
             (t.status, 1)]
        )  # fmt: skip
        self._connected.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        t = self.topics
        if msg.topic == t.status:
            self.online = msg.payload == b"online"
            self._publish(Event("SYSTEM_STATUS", frozen_map(
                {"status": "venue_online" if self.online else "venue_offline"})))  # fmt: skip
            return
        if msg.topic.startswith(t.playlist("")):
            self._playlist(msg.topic[len(t.playlist("")) :], bytes(msg.payload))
            return
        try:
            data = json.loads(msg.payload)
        except ValueError:
            log.warning("remote console: not JSON on %s", msg.topic)
            return
        if not isinstance(data, dict):
            return
        if msg.topic == t.ack:
            with self._cond:
                fut = self._pending.pop(str(data.get("commandId")), None)
            if fut is not None and not fut.done():
                fut.set_result(data)
        elif msg.topic == t.events:
            piece = EVENT_PIECE.get(str(data.get("type")))
            if piece is not None:  # not coalesced: the fastest news of that piece
                self._apply(piece, data)
                return
            event = event_from_envelope(data)
            if event is not None:
                self._publish(event)
        elif msg.topic.startswith(f"{t.base}/state/"):
            self._apply(msg.topic.rsplit("/", 1)[-1], data)

    def _apply(self, piece: str, data: Mapping[str, Any]) -> None:
        if piece not in PIECES:
            return
        rev = data.get("rev")
        try:
            with self._cond:
                held = self._piece_rev.get(piece, -1)
                # an older copy (a retained piece behind an event): keep ours. Far older
                # means the rev we hold is not the venue's (forged, or a new box): theirs wins
                if isinstance(rev, int) and held - REV_WINDOW <= rev < held:
                    return
                self._state = apply_piece(self._state, piece, data)
                if piece == "settings":  # summaries replaced the map: put the tracks back
                    self._state = self._with_full_playlists(self._state)
                self._piece_rev[piece] = int(rev) if isinstance(rev, int) else 0
                self._pieces.add(piece)
                self._cond.notify_all()
        except (ValueError, TypeError) as exc:
            log.warning("remote console: bad %s piece (%s)", piece, exc)
            return
        self._publish(Event(PIECE_TYPES[piece]))

    def _with_full_playlists(self, state: State) -> State:
        pls = {pid: self._full_playlists.get(pid, pl) for pid, pl in state.playlists.items()}
        return replace(state, playlists=frozen_map(pls))

    def _playlist(self, playlist_id: str, payload: bytes) -> None:
        if not payload:  # cleared: deleted at the venue
            with self._cond:
                self._full_playlists.pop(playlist_id, None)
            return
        try:
            data = json.loads(payload)
            pl = from_data(Playlist, data["payload"])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("remote console: bad playlist %s (%s)", playlist_id, exc)
            return
        with self._cond:
            self._full_playlists[playlist_id] = pl
            if playlist_id in self._state.playlists:
                self._state = self._with_full_playlists(self._state)
        changed = frozen_map({"playlist_id": playlist_id, "action": "update"})
        self._publish(Event("PLAYLIST_CONTENT_UPDATE", changed))

    def _publish(self, event: Event) -> None:
        state = self._state
        pub = Published(state.rev, (event,), state)
        for sub in self._subs:
            sub._offer(pub)


def _command_id(given: str) -> str:
    """The venue's commandId: the console's own (so a retry is applied once), at most 100
    characters; a fresh one for a command without."""
    if not given:
        return uuid.uuid4().hex
    return given if len(given) <= 100 else hashlib.sha256(given.encode()).hexdigest()


def _refusal(code: str, message: str, status: int) -> Reply:
    return Reply(False, 0, error={"code": code, "message": message}, status=status)
