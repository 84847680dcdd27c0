/* DJAMMS fleet console: venue cards kept live over /fleet/ws (FLEET_SNAPSHOT, then one
 * VENUE_UPDATE per changed venue), search and filter, and bulk commands through
 * POST /api/fleet/command. No dependencies. */
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const ALERTS = {
    offline: 'Offline (cloud link down)', player_disconnected: 'Player disconnected',
    emergency_stop: 'Emergency stop', storage_failed: 'Storage failed', ytdlp_failing: 'yt-dlp failing',
  };
  const venues = new Map();
  const selected = new Set();
  let me = null;
  let backoff = 500;

  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') node.textContent = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const kid of kids) if (kid) node.append(kid);
    return node;
  }
  const ago = (iso) => {
    if (!iso) return 'unknown';
    const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (s < 60) return Math.round(s) + ' s ago';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    if (s < 86400) return Math.round(s / 3600) + ' h ago';
    return new Date(iso).toLocaleString();
  };

  function matches(v) {
    const f = $('filter').value;
    if (f === 'online' && !v.online) return false;
    if (f === 'offline' && v.online) return false;
    if (f === 'alerts' && !v.alerts.length) return false;
    const q = $('search').value.trim().toLowerCase();
    if (!q) return true;
    const np = v.now_playing || {};
    return [v.venue_name, v.venue_id, np.title, np.artist].some((s) => (s || '').toLowerCase().includes(q));
  }

  function card(v) {
    const np = v.now_playing;
    const box = el('input', { type: 'checkbox', 'aria-label': 'Select ' + v.venue_name });
    box.checked = selected.has(v.venue_id);
    box.addEventListener('change', () => { box.checked ? selected.add(v.venue_id) : selected.delete(v.venue_id); counts(); });
    const state = el('span', { class: 'badge', 'data-state': v.online ? 'ws' : 'offline',
      text: (v.online ? 'online' : 'offline') + (v.since ? ' since ' + ago(v.since) : '') });
    const alerts = el('div', { class: 'row' }, ...v.alerts.map((a) => el('span', { class: 'pill', text: ALERTS[a] || a })));
    return el('div', { class: 'c', 'data-venue': v.venue_id },
      el('div', { class: 'row' }, box, el('b', { class: 'grow', text: v.venue_name }), state),
      el('div', { class: 'muted', text: np ? (np.title || np.video_id) + (np.artist ? ' — ' + np.artist : '') : 'Nothing playing' }),
      el('div', { class: 'muted', text: 'Volume ' + (v.master_volume ?? '—') + ' · last seen ' + ago(v.last_seen) }),
      alerts,
      el('a', { class: 'btn', href: '/venue/' + encodeURIComponent(v.venue_id) + '/', text: 'Open console' }));
  }

  // many updates in one frame (a burst across the fleet) redraw the cards once
  let pending = false;
  function soon() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; render(); });
  }

  function render() {
    const shown = [...venues.values()].filter(matches)
      .sort((a, b) => a.venue_name.localeCompare(b.venue_name) || a.venue_id.localeCompare(b.venue_id));
    $('venues').replaceChildren(...shown.map(card));
    $('empty').classList.toggle('hidden', shown.length > 0);
    const names = new Set([...venues.values()].flatMap((v) => v.playlists || []));
    $('playlist-names').replaceChildren(...[...names].sort().map((n) => el('option', { value: n })));
    counts();
  }
  function counts() {
    const all = [...venues.values()];
    const online = all.filter((v) => v.online).length;
    $('counts').textContent = online + ' / ' + all.length + ' online';
    $('selected-count').textContent = selected.size + ' selected';
  }

  function connect() {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/fleet/ws');
    ws.onopen = () => { backoff = 500; $('conn').textContent = 'live'; $('conn').dataset.state = 'ws'; };
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.type === 'FLEET_SNAPSHOT') { venues.clear(); msg.venues.forEach((v) => venues.set(v.venue_id, v)); soon(); }
      else if (msg.type === 'VENUE_UPDATE') { venues.set(msg.venue.venue_id, msg.venue); soon(); }
    };
    ws.onclose = () => {
      $('conn').textContent = 'reconnecting…'; $('conn').dataset.state = 'offline';
      if (me) setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  async function bulk(command) {
    const ids = [...selected];
    if (!ids.length) { $('bulk-msg').textContent = 'Select one or more venues first.'; return; }
    if (command === 'EMERGENCY_STOP' && !confirm('Stop the music at ' + ids.length + ' venue(s)?')) return;
    let value = command === 'SET_VOLUME' ? Number($('bulk-volume').value) : null;
    if (command === 'LOAD_PLAYLIST') value = $('bulk-playlist').value.trim();
    if (command === 'APPLY_SCHEDULE') {
      try { value = JSON.parse($('bulk-schedule').value); } catch (err) { $('bulk-msg').textContent = 'The schedule is not valid JSON.'; return; }
    }
    $('bulk-msg').textContent = 'Sending…';
    const r = await fetch('/api/fleet/command', { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrfToken },
      body: JSON.stringify({ venueIds: ids, command, value }) });
    const data = await r.json();
    if (!r.ok) { $('bulk-msg').textContent = data.error.message; return; }
    const failed = data.results.filter((x) => !x.ok);
    $('bulk-msg').textContent = (data.results.length - failed.length) + ' done' +
      (failed.length ? '; failed: ' + failed.map((x) => (venues.get(x.venue_id) || { venue_name: x.venue_id }).venue_name + ' (' + x.error + ')').join(', ') : '');
  }

  function showFleet() {
    $('login-card').classList.add('hidden');
    $('fleet').classList.remove('hidden');
    $('logout').classList.remove('hidden');
    connect();
  }

  async function start() {
    const r = await fetch('/api/auth/session', { credentials: 'same-origin' });
    const data = await r.json();
    if (data.authenticated && (data.role === 'admin' || data.role === 'moderator')) { me = data; showFleet(); }
    else $('login-card').classList.remove('hidden');
  }

  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await fetch('/api/auth/login', { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ pin: $('pin').value }) });
    const data = await r.json();
    if (!r.ok) { $('login-msg').textContent = data.error.message; return; }
    me = data; $('pin').value = ''; showFleet();
  });
  $('logout').addEventListener('click', async () => {
    await fetch('/api/auth/logout', { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': me.csrfToken } });
    location.reload();
  });
  $('search').addEventListener('input', render);
  $('filter').addEventListener('change', render);
  $('select-all').addEventListener('change', (e) => {
    for (const v of venues.values()) if (matches(v)) { e.target.checked ? selected.add(v.venue_id) : selected.delete(v.venue_id); }
    render();
  });
  $('bulk-volume').addEventListener('input', (e) => { $('bulk-volume-value').textContent = e.target.value; });
  document.querySelectorAll('[data-bulk]').forEach((b) => b.addEventListener('click', () => bulk(b.dataset.bulk)));
  setInterval(render, 30000); // keeps the "since" times honest
  start();
}());
