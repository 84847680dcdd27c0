/* DJAMMS console client: one live copy of the venue's state for a page.
 * Websocket first (SNAPSHOT, then events with rev); reconnects with backoff; a rev gap
 * triggers a resync; falls back to Server-Sent Events, then long-poll, when websockets
 * are blocked. Commands carry a commandId and are retried with the same id, so a tap is
 * applied once whatever path it takes. No dependencies. */
(function () {
  'use strict';
  const MAX_BACKOFF = 10000;
  const WS_FAILS_BEFORE_FALLBACK = 3;
  const ACK_TIMEOUT = 4000;
  const LOG_KEEP = 300;
  // paths the websocket accepts as COMMANDs; anything else goes over HTTP
  const WS_PATHS = new Set(['/api/ui/command', '/api/settings/update', '/api/queue/add',
    '/api/queue/remove', '/api/queue/move', '/api/queue/clear', '/api/track/vote',
    '/api/playlist/manage', '/api/user/preferences']);

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const newId = () => (crypto.randomUUID ? crypto.randomUUID()
    : Date.now().toString(36) + Math.random().toString(36).slice(2));

  class Client {
    constructor(opts) {
      // ?transport=sse|poll pins a fallback path (for a network that blocks websockets)
      const pinned = new URLSearchParams(location.search).get('transport');
      const transports = pinned ? [pinned] : ['ws', 'sse', 'poll'];
      this.opts = Object.assign({ transports }, opts || {});
      this.state = null;     // {venue, playlists, content}
      this.rev = -1;
      this.me = null;        // {userId, role, csrfToken, ...}
      this.logs = [];
      this.status = null;    // last SYSTEM_STATUS payload
      this.transport = 'connecting';
      this.listeners = new Set();
      this.pending = new Map();
      this.backoff = 500;
      this.wsFails = 0;
      this.sseFails = 0;
      this.ws = null;
      this.es = null;
      this.polling = false;
      this.generation = 0;
      this.stopped = false;
    }

    on(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }
    emit(kind, detail) {
      for (const fn of this.listeners) {
        try { fn(kind, detail, this); } catch (e) { console.error(e); }
      }
    }
    get venue() { return this.state ? this.state.venue : null; }
    get isStaff() { return !!this.me && (this.me.role === 'admin' || this.me.role === 'moderator'); }

    // -- sessions ---------------------------------------------------------------------
    async loadSession(asGuest) {
      const r = await fetch('/api/auth/session', { credentials: 'same-origin' });
      const data = await r.json();
      if (data.authenticated) { this.me = data; }
      else if (asGuest) { await this.joinAsGuest(''); }
      else { this.me = null; }
      this.emit('session', this.me);
      return this.me;
    }
    async joinAsGuest(name) {
      const r = await fetch('/api/auth/guest', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: name || '' }),
      });
      const data = await r.json();
      if (r.ok) { this.me = data; this.emit('session', this.me); }
      return { ok: r.ok, status: r.status, data };
    }
    async login(pin) {
      const r = await fetch('/api/auth/login', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ pin }),
      });
      const data = await r.json().catch(() => ({}));
      if (r.ok) { this.me = data; this.emit('session', this.me); this.reconnect(); }
      return { ok: r.ok, status: r.status, data };
    }
    async logout() {
      await fetch('/api/auth/logout', {
        method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': this.csrf() },
      });
      this.me = null;
      this.emit('session', null);
      this.reconnect();
    }
    csrf() { return this.me ? this.me.csrfToken : ''; }

    // -- connection -------------------------------------------------------------------
    start() { this.connect(); return this; }
    stop() { this.stopped = true; this.closeAll(); }
    reconnect() { this.backoff = 500; this.closeAll(); this.connect(); }

    closeAll() {
      this.generation++;
      if (this.ws) { const ws = this.ws; this.ws = null; ws.onclose = null; ws.close(); }
      if (this.es) { this.es.close(); this.es = null; }
      this.polling = false;
    }

    connect() {
      if (this.stopped) return;
      const t = this.opts.transports;
      if (t.includes('ws') && this.wsFails < WS_FAILS_BEFORE_FALLBACK && 'WebSocket' in window) {
        this.openWs();
      } else if (t.includes('sse') && this.sseFails < 3 && 'EventSource' in window) {
        this.openSse();
      } else if (t.includes('poll')) {
        this.startPoll();
      }
    }

    setTransport(name) {
      if (this.transport !== name) { this.transport = name; this.emit('transport', name); }
    }

    retryLater() {
      if (this.stopped) return;
      const delay = this.backoff * (0.75 + Math.random() * 0.5);
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF);
      const gen = this.generation;
      setTimeout(() => { if (gen === this.generation) this.connect(); }, delay);
    }

    openWs() {
      const gen = ++this.generation;
      const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
      let opened = false;
      let ws;
      try { ws = new WebSocket(url); } catch (e) { this.wsFails++; this.retryLater(); return; }
      this.ws = ws;
      ws.onopen = () => { opened = true; this.setTransport('ws'); };
      ws.onmessage = (e) => {
        if (gen !== this.generation) return;
        this.wsFails = 0;
        this.backoff = 500;
        this.onFrame(JSON.parse(e.data));
      };
      ws.onclose = () => {
        if (gen !== this.generation) return;
        this.ws = null;
        if (!opened) this.wsFails++;
        this.setTransport('offline');
        for (const [, p] of this.pending) p.resolve(null);  // retried over HTTP, same id
        this.pending.clear();
        this.retryLater();
      };
    }

    openSse() {
      const gen = ++this.generation;
      const since = this.rev >= 0 ? '?since=' + this.rev : '';
      const es = new EventSource('/api/events' + since);
      this.es = es;
      let opened = false;
      es.onopen = () => { opened = true; this.sseFails = 0; this.backoff = 500; this.setTransport('sse'); };
      es.onmessage = (e) => { if (gen === this.generation) this.onFrame(JSON.parse(e.data)); };
      es.onerror = () => {
        if (gen !== this.generation) return;
        if (!opened) { this.sseFails++; es.close(); this.es = null; this.setTransport('offline'); this.retryLater(); }
        else { this.setTransport('offline'); }  // EventSource reconnects by itself
      };
      this.probeWsLater(gen);
    }

    async startPoll() {
      const gen = ++this.generation;
      this.polling = true;
      this.probeWsLater(gen);
      while (this.polling && gen === this.generation && !this.stopped) {
        try {
          const q = this.rev >= 0 ? '?since=' + this.rev + '&wait=25' : '';
          const r = await fetch('/api/state' + q, { credentials: 'same-origin', cache: 'no-store' });
          if (!r.ok) throw new Error('HTTP ' + r.status);
          const data = await r.json();
          if (gen !== this.generation) return;
          this.setTransport('poll');
          this.backoff = 500;
          if (data.events) data.events.forEach((f) => this.onFrame(f));
          else this.applySnapshot(data.snapshot || data);
        } catch (e) {
          this.setTransport('offline');
          await sleep(this.backoff);
          this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF);
        }
      }
    }

    probeWsLater(gen) {
      // on a fallback, try the websocket again now and then: the network may have changed
      setTimeout(() => {
        if (gen === this.generation && !this.stopped) { this.wsFails = 0; this.sseFails = 0; this.closeAll(); this.connect(); }
      }, 60000);
    }

    resync() {
      if (this.ws && this.ws.readyState === 1) { this.ws.send(JSON.stringify({ type: 'RESYNC' })); return; }
      fetch('/api/state', { credentials: 'same-origin', cache: 'no-store' })
        .then((r) => r.json()).then((d) => this.applySnapshot(d)).catch(() => {});
    }

    // -- frames -----------------------------------------------------------------------
    applySnapshot(data) {
      this.state = { venue: data.venue, playlists: data.playlists || [], content: data.content || [] };
      this.rev = data.rev;
      this.emit('snapshot', this.state);
      this.emit('change', { type: 'SNAPSHOT' });
    }

    onFrame(f) {
      switch (f.type) {
        case 'SNAPSHOT': this.applySnapshot(Object.assign({ rev: f.rev }, f.payload)); return;
        case 'ACK': { const p = this.pending.get(f.commandId); if (p) { this.pending.delete(f.commandId); p.resolve(f); } return; }
        case 'AUTH_SUCCESS': this.emit('auth', f.payload); return;
        case 'SEARCH_RESULTS_UPDATE': this.emit('search', f.payload); return;
        case 'PONG': case 'ERROR': return;
      }
      if (!this.state) return;                     // wait for the snapshot
      if (f.rev < this.rev) return;                 // already have it
      if (typeof f.prev === 'number' && f.prev > this.rev) { this.emit('gap', f); this.resync(); return; }
      this.apply(f.type, f.payload || {});
      this.rev = f.rev;
      this.emit('change', f);
    }

    apply(type, p) {
      const v = this.state.venue;
      if (!v && type !== 'PLAYLIST_CONTENT_UPDATE' && type !== 'CONTENT_GALLERY_UPDATE' && type !== 'LOG_ENTRY') return;
      switch (type) {
        case 'NOW_PLAYING_UPDATE':
          v.now_playing = p.now_playing; v.transport = p.transport; v.player_connected = p.player_connected; break;
        case 'QUEUE_UPDATE':
          v.active_queue = p.active_queue; v.priority_queue = p.priority_queue; v.active_queue_total = p.active_total; break;
        case 'PLAYER_SETTINGS_UPDATE':
          v.player_settings = p.player_settings; v.request_rules = p.request_rules; v.venue_name = p.venue_name; break;
        case 'SCHEDULE_DATA_UPDATE': v.schedule_data = p.schedule; break;
        case 'PLAYLIST_CONTENT_UPDATE': this.state.playlists = p.playlists || this.state.playlists; this.lastPlaylist = p.playlist; break;
        case 'CONTENT_GALLERY_UPDATE': this.state.content = p.items || []; break;
        case 'LOG_ENTRY': this.logs.push(p.entry); if (this.logs.length > LOG_KEEP) this.logs.shift(); break;
        case 'PLAYER_DISCONNECTED': v.player_connected = false; break;
        case 'SYSTEM_STATUS': this.status = p; if (p.status === 'player_connected') v.player_connected = true; break;
      }
    }

    // -- commands ---------------------------------------------------------------------
    command(path, body) {
      const payload = Object.assign({}, body || {});
      payload.commandId = payload.commandId || newId();
      if (this.venue && payload.venueId === undefined) payload.venueId = this.venue.venue_id;
      return this.send(path, payload, 0);
    }
    ui(command, value, extra) { return this.command('/api/ui/command', Object.assign({ command, value }, extra || {})); }

    async send(path, payload, attempt) {
      if (this.ws && this.ws.readyState === 1 && WS_PATHS.has(path) && !(path === '/api/playlist/manage' && payload.action === 'import')) {
        const ack = await this.wsCommand(path, payload);
        if (ack) return { ok: ack.ok, status: ack.status, result: ack.result, error: ack.error, rev: ack.rev };
      }
      try {
        const r = await fetch(path, {
          method: 'POST', credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': this.csrf() },
          body: JSON.stringify(payload),
        });
        const data = await r.json().catch(() => ({}));
        if (r.ok) return { ok: true, status: r.status, result: data.result, rev: data.rev };
        if (r.status === 409 && data.state) this.applySnapshot(data.state);
        if (r.status >= 500 && attempt < 3) { await sleep(400 * 2 ** attempt); return this.send(path, payload, attempt + 1); }
        return { ok: false, status: r.status, error: data.error || { code: 'http_' + r.status, message: 'Request failed.' } };
      } catch (e) {
        if (attempt < 4) { await sleep(500 * 2 ** attempt); return this.send(path, payload, attempt + 1); }
        return { ok: false, status: 0, error: { code: 'offline', message: 'The box cannot be reached; try again.' } };
      }
    }

    wsCommand(path, body) {
      return new Promise((resolve) => {
        const id = body.commandId;
        const timer = setTimeout(() => { this.pending.delete(id); resolve(null); }, ACK_TIMEOUT);
        this.pending.set(id, { resolve: (ack) => { clearTimeout(timer); resolve(ack); } });
        try { this.ws.send(JSON.stringify({ type: 'COMMAND', commandId: id, path, body })); }
        catch (e) { clearTimeout(timer); this.pending.delete(id); resolve(null); }
      });
    }

    async get(path) {
      const r = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
      const data = await r.json().catch(() => ({}));
      return { ok: r.ok, status: r.status, data };
    }
  }

  // -- small helpers the pages share ------------------------------------------------
  function el(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') n.className = v;
      else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
      else if (k === 'text') n.textContent = v;
      else n.setAttribute(k, v === true ? '' : v);
    }
    for (const kid of kids.flat()) if (kid !== null && kid !== undefined && kid !== false) n.append(kid);
    return n;
  }
  function fmtTime(s) {
    s = Math.max(0, Math.floor(s || 0));
    return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
  }
  function elapsed(np, venue) {
    if (!np) return 0;
    if (np.state !== 'playing' || venue.transport !== 'playing' || !np.start_timestamp) return np.position || 0;
    const t = Date.parse(np.start_timestamp);
    const e = isNaN(t) ? np.position || 0 : (Date.now() - t) / 1000;
    return np.duration ? Math.min(e, np.duration) : e;
  }
  function toast(text, kind) {
    let box = document.getElementById('toast');
    if (!box) { box = el('div', { id: 'toast', role: 'status', 'aria-live': 'polite' }); document.body.append(box); }
    box.textContent = text;
    box.className = 'show ' + (kind || '');
    clearTimeout(box._t);
    box._t = setTimeout(() => { box.className = ''; }, 4000);
  }
  function transportBadge(client, node) {
    const names = { ws: 'live', sse: 'live (SSE)', poll: 'live (polling)', offline: 'reconnecting…', connecting: 'connecting…' };
    const paint = () => { node.textContent = names[client.transport] || client.transport; node.dataset.state = client.transport; };
    client.on((kind) => { if (kind === 'transport') paint(); });
    paint();
  }

  // Now playing into the elements #np-thumb, #np-title, #np-artist, #np-bar, #np-pos, #np-dur.
  function paintNowPlaying(client) {
    const v = client.venue;
    const np = v ? v.now_playing : null;
    const $ = (id) => document.getElementById(id);
    const thumb = $('np-thumb');
    const ph = $('np-ph');
    if (thumb) {
      const has = !!(np && np.thumbnail);
      if (has && thumb.getAttribute('src') !== np.thumbnail) thumb.src = np.thumbnail;
      thumb.classList.toggle('hidden', !has);
      if (ph) ph.classList.toggle('hidden', has);
    }
    const stopped = v && (v.transport === 'stopped' || v.transport === 'emergency');
    $('np-title').textContent = np ? (np.title || np.video_id) : (v ? 'Nothing playing' : '—');
    $('np-artist').textContent = np ? (np.artist || '') + (stopped ? ' · stopped' : v.transport === 'paused' ? ' · paused' : '') : '';
    const pos = np ? elapsed(np, v) : 0;
    const dur = np ? np.duration || 0 : 0;
    if ($('np-bar')) $('np-bar').style.width = dur ? Math.min(100, (pos / dur) * 100) + '%' : '0';
    if ($('np-pos')) $('np-pos').textContent = fmtTime(pos);
    if ($('np-dur')) $('np-dur').textContent = fmtTime(dur);
  }

  window.Djamms = { Client, el, fmtTime, elapsed, toast, transportBadge, newId, paintNowPlaying };
})();
