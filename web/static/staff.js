/* Staff console: transport, sound, queue (drag to reorder), search & add, playlists,
 * content, schedule, settings, live log, backup/restore. Every control sends a command
 * through the shared client; the page repaints only from what the box broadcasts. */
(function () {
  'use strict';
  const { Client, el, fmtTime, toast, transportBadge, paintNowPlaying } = window.Djamms;
  const client = new Client();
  const $ = (id) => document.getElementById(id);
  const EQ = ['60', '230', '910', '3600', '14000'];
  const DISPLAY = ['brightness', 'contrast', 'saturation', 'gamma'];
  const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  const DAY_KEYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];  // schedule_data's names
  let extraActive = [];  // queue items paged in beyond the first window
  let dragId = null;

  const say = (r, okText) => {
    if (r.ok) { if (okText) toast(okText, 'ok'); }
    else toast((r.error && r.error.message) || 'That did not work.', 'error');
    return r;
  };
  const ui = (cmd, value, extra) => client.ui(cmd, value, extra).then((r) => say(r));
  const setting = (name, value) => client.command('/api/settings/update', { setting: name, value }).then((r) => say(r));
  const playlist = (action, body) => client.command('/api/playlist/manage', Object.assign({ action }, body)).then((r) => say(r));
  const setIfIdle = (input, value) => { if (document.activeElement !== input && !input.dataset.busy) input.value = value; };

  // -- session -----------------------------------------------------------------------
  function paintSession() {
    const staff = client.isStaff;
    $('login-card').classList.toggle('hidden', staff);
    $('console').classList.toggle('hidden', !staff);
    $('logout').classList.toggle('hidden', !staff);
    $('who').textContent = staff ? client.me.role + (client.me.username ? ' · ' + client.me.username : '') : '';
  }
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await client.login($('pin').value);
    $('pin').value = '';
    $('login-msg').textContent = r.ok ? '' : (r.data.error || {}).message || 'Login failed.';
  });
  $('logout').addEventListener('click', () => client.logout());

  // -- now playing and sound ---------------------------------------------------------
  function paintTop() {
    const v = client.venue;
    if (!v) return;
    paintNowPlaying(client);
    $('venue-name').textContent = v.venue_name;
    $('player-conn').textContent = v.player_connected ? 'player ok' : 'player offline';
    $('player-conn').dataset.state = v.player_connected ? 'ws' : 'offline';
    $('playpause').textContent = v.transport === 'playing' ? '❚❚ Pause' : '▶ Play';
    const s = v.player_settings;
    setIfIdle($('volume'), s.master_volume); $('volume-val').textContent = s.master_volume;
    setIfIdle($('crossfade'), s.crossfade_time); $('crossfade-val').textContent = s.crossfade_time;
    $('mute').classList.toggle('on', s.is_muted); $('mute').textContent = s.is_muted ? 'Muted' : 'Mute';
    $('shuffle').classList.toggle('on', s.shuffle_enabled);
    $('repeat').classList.toggle('on', s.repeat_mode !== 'none'); $('repeat').textContent = 'Repeat: ' + s.repeat_mode;
  }
  document.querySelectorAll('[data-cmd]').forEach((b) => b.addEventListener('click', () => {
    const cmd = b.dataset.cmd;
    if (cmd === 'EMERGENCY_STOP' && !confirm('Stop all sound now?')) return;
    ui(cmd);
  }));
  $('skip').addEventListener('click', () => {
    const np = client.venue && client.venue.now_playing;
    ui('PLAY_NEXT', null, np ? { playId: np.play_id } : {});   // two taps on one track skip once
  });
  function slider(input, send) {
    input.addEventListener('input', () => { input.dataset.busy = '1'; });
    input.addEventListener('change', async () => { await send(Number(input.value)); delete input.dataset.busy; });
  }
  slider($('volume'), (v) => ui('SET_VOLUME', v));
  slider($('crossfade'), (v) => setting('crossfade_time', v));

  // -- queue -------------------------------------------------------------------------
  function queueRow(item, index, kind) {
    const li = el('li', { draggable: 'true', 'data-id': item.id, 'data-video-id': item.video_id },
      el('span', { class: 'handle', 'aria-hidden': 'true', text: '⠿' }),
      el('div', { class: 't' }, el('b', { text: item.title || item.video_id }),
        el('span', { text: (item.artist || '') + (item.duration ? ' · ' + fmtTime(item.duration) : '') + (item.unplayable ? ' · unplayable' : '') })),
      kind === 'priority' ? el('span', { class: 'pill', text: 'request' }) : null,
      el('button', { 'aria-label': 'Move up', text: '↑', onclick: () => move(item.id, Math.max(0, index - 1)) }),
      el('button', { 'aria-label': 'Remove', text: '✕', onclick: () => client.command('/api/queue/remove', { queueItemId: item.id }).then((r) => say(r)) }));
    li.addEventListener('dragstart', () => { dragId = item.id; li.classList.add('dragging'); });
    li.addEventListener('dragend', () => { dragId = null; li.classList.remove('dragging'); });
    li.addEventListener('dragover', (e) => { e.preventDefault(); li.classList.add('over'); });
    li.addEventListener('dragleave', () => li.classList.remove('over'));
    li.addEventListener('drop', (e) => { e.preventDefault(); li.classList.remove('over'); if (dragId && dragId !== item.id) move(dragId, index); });
    return li;
  }
  const move = (id, toIndex) => client.command('/api/queue/move', { queueItemId: id, toIndex }).then((r) => say(r));
  function paintQueue() {
    const v = client.venue;
    if (!v) return;
    const prio = $('priority'); prio.replaceChildren();
    v.priority_queue.forEach((item, i) => prio.append(queueRow(item, i, 'priority')));
    if (!v.priority_queue.length) prio.append(el('li', { class: 'muted', text: 'No requests waiting.' }));
    const act = $('active'); act.replaceChildren();
    const items = v.active_queue.concat(extraActive.filter((x) => !v.active_queue.some((y) => y.id === x.id)));
    items.forEach((item, i) => act.append(queueRow(item, i, 'active')));
    const total = v.active_queue_total || items.length;
    $('prio-count').textContent = '(' + v.priority_queue.length + ')';
    $('active-count').textContent = '(' + items.length + ' of ' + total + ')';
    $('more').classList.toggle('hidden', items.length >= total);
  }
  $('more').addEventListener('click', async () => {
    const v = client.venue;
    const offset = v.active_queue.length + extraActive.length;
    const r = await client.get('/api/queue?offset=' + offset + '&limit=100');
    if (r.ok) { extraActive = extraActive.concat(r.data.active_queue); paintQueue(); }
  });
  $('clear').addEventListener('click', () => {
    if (confirm('Clear the whole queue? Requests stay.')) client.command('/api/queue/clear', {}).then((r) => say(r, 'Queue cleared.'));
  });

  // -- search & add ------------------------------------------------------------------
  $('search-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const q = $('q').value.trim();
    if (!q) return;
    const r = await client.get('/api/search?q=' + encodeURIComponent(q));
    const list = $('results'); list.replaceChildren();
    if (!r.ok) return toast((r.data.error || {}).message || 'Search failed.', 'error');
    if (!r.data.results.length) list.append(el('li', { class: 'muted', text: 'Nothing found.' }));
    for (const t of r.data.results) {
      const add = (position) => client.command('/api/queue/add', Object.assign({ videoId: t.video_id, position }, meta(t))).then((x) => say(x, 'Added.'));
      list.append(el('li', {},
        el('div', { class: 't' }, el('b', { text: t.title || t.video_id }), el('span', { text: (t.artist || '') + (t.duration ? ' · ' + fmtTime(t.duration) : '') })),
        el('button', { text: 'Preview', onclick: () => preview(t.video_id) }),
        el('button', { text: 'Play next', onclick: () => add('next') }),
        el('button', { class: 'primary', text: 'Add', onclick: () => add('end') })));
    }
  });
  const meta = (t) => ({ title: t.title || '', artist: t.artist || '', duration: t.duration || 0, thumbnail: t.thumbnail || '' });
  async function preview(videoId) {
    const r = await client.get('/api/preview?videoId=' + encodeURIComponent(videoId));
    if (r.ok) window.open(r.data.url, '_blank', 'noopener');
    else toast((r.data.error || {}).message || 'No preview.', 'error');
  }
  $('add-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = $('add-id').value.trim();
    if (!id) return;
    client.command('/api/queue/add', { videoId: id, title: $('add-title').value.trim(), position: 'end' })
      .then((r) => { say(r, 'Added.'); if (r.ok) { $('add-id').value = ''; $('add-title').value = ''; } });
  });

  // -- playlists ---------------------------------------------------------------------
  function paintPlaylists() {
    const box = $('playlists'); box.replaceChildren();
    const lists = (client.state && client.state.playlists) || [];
    if (!lists.length) box.append(el('p', { class: 'muted', text: 'No playlists yet.' }));
    for (const p of lists) {
      box.append(el('div', { class: 'c', 'data-playlist-id': p.playlist_id },
        el('b', { text: (p.is_starred ? '★ ' : '') + p.name }),
        el('div', { class: 'muted', text: p.track_count + ' tracks · ' + fmtTime(p.total_duration) + (p.is_default ? ' · default' : '') }),
        el('div', { class: 'row', style: 'margin-top:8px' },
          el('button', { class: 'primary', text: 'Load', onclick: () => playlist('load', { playlistId: p.playlist_id }).then((r) => r.ok && toast('Loaded ' + p.name, 'ok')) }),
          el('button', { text: p.is_starred ? 'Unstar' : 'Star', onclick: () => playlist(p.is_starred ? 'unstar' : 'star', { playlistId: p.playlist_id }) }),
          el('button', { text: 'Default', onclick: () => playlist('set_default', { playlistId: p.playlist_id }) }),
          el('button', { text: 'Open', onclick: () => openPlaylist(p.playlist_id) }),
          el('button', { class: 'danger', text: '✕', 'aria-label': 'Delete playlist', onclick: () => confirm('Delete ' + p.name + '?') && playlist('delete', { playlistId: p.playlist_id }) }))));
    }
    const sel = $('sched-playlist');
    const keep = sel.value;
    sel.replaceChildren(...lists.map((p) => el('option', { value: p.playlist_id, text: p.name })));
    if (keep) sel.value = keep;
  }
  async function openPlaylist(id) {
    const r = await client.get('/api/playlist?playlistId=' + encodeURIComponent(id));
    const box = $('pl-detail'); box.replaceChildren();
    if (!r.ok) return;
    const p = r.data.playlist;
    box.append(el('h2', { style: 'margin-top:14px', text: p.name }),
      el('ol', { class: 'queue' }, p.tracks.map((t, i) => el('li', {},
        el('div', { class: 't' }, el('b', { text: t.title || t.video_id }), el('span', { text: t.artist || '' })),
        el('button', { text: 'Queue', onclick: () => client.command('/api/queue/add', Object.assign({ videoId: t.video_id }, meta(t))).then((x) => say(x, 'Added.')) }),
        el('button', { text: '✕', 'aria-label': 'Remove from playlist', onclick: () => playlist('remove_track', { playlistId: p.playlist_id, index: i }).then(() => openPlaylist(id)) })))));
  }
  $('pl-create').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = $('pl-name').value.trim();
    if (name) playlist('create', { name, tracks: [] }).then((r) => { if (r.ok) $('pl-name').value = ''; });
  });
  $('pl-import').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const url = $('pl-url').value.trim();
    if (!url) return;
    $('import-msg').textContent = 'Importing…';
    $('import-bar').style.width = '10%';
    const r = await playlist('import', { url });
    if (!r.ok) { $('import-bar').style.width = '0'; $('import-msg').textContent = (r.error && r.error.message) || 'Import failed.'; return; }
    const res = r.result || {};
    if (res.status === 'running') { importing = res.importId; $('import-msg').textContent = 'Importing… (the box keeps playing)'; }
    else { $('import-bar').style.width = '100%'; $('import-msg').textContent = 'Imported.'; }
  });
  let importing = null;
  function paintImport(p) {  // SYSTEM_STATUS import_progress / import_complete / import_failed
    if (!p.importId || (importing && p.importId !== importing)) return;
    const failed = p.failedCount ? ', ' + p.failedCount + ' could not be used' : '';
    if (p.status === 'import_progress') {
      const total = p.total || p.found || 0;
      $('import-bar').style.width = total ? Math.min(100, 100 * p.imported / total) + '%' : '50%';
      $('import-msg').textContent = 'Imported ' + p.imported + (total ? ' of ' + total : '') + failed + '…';
    } else if (p.status === 'import_complete') {
      $('import-bar').style.width = '100%'; $('import-msg').textContent = 'Imported ' + p.imported + ' tracks' + failed + '.'; importing = null;
    } else if (p.status === 'import_failed') {
      $('import-bar').style.width = '0'; $('import-msg').textContent = 'Import failed' + (p.message ? ': ' + p.message : '.'); importing = null;
    }
  }

  // -- content gallery ---------------------------------------------------------------
  function paintContent() {
    const box = $('gallery'); box.replaceChildren();
    const items = (client.state && client.state.content) || [];
    const clipSel = $('sched-clip'), keepClip = clipSel.value;
    clipSel.replaceChildren(...items.filter((c) => c.kind === 'audio').map((c) => el('option', { value: c.content_id, text: c.filename })));
    if (keepClip) clipSel.value = keepClip;
    const logoSel = $('tv-logo');
    logoSel.replaceChildren(el('option', { value: '', text: 'None' }),
      ...items.filter((c) => c.kind === 'image').map((c) => el('option', { value: c.content_id, text: c.filename })));
    paintSettings();
    if (!items.length) box.append(el('p', { class: 'muted', text: 'No content uploaded.' }));
    for (const c of items) {
      box.append(el('figure', {},
        c.thumbnail ? el('img', { src: c.thumbnail, alt: '' }) : el('div', { class: 'thumb', style: 'height:80px' }),
        el('label', {}, el('input', { type: 'checkbox', 'data-content-id': c.content_id }), ' ' + c.filename),
        c.kind === 'audio' ? el('button', { type: 'button', 'data-announce': c.content_id, text: 'Announce now' }) : null));
    }
  }
  $('gallery').addEventListener('click', (ev) => {
    const id = ev.target.dataset && ev.target.dataset.announce;
    if (id) client.command('/api/announcement/play', { contentId: id }).then((r) => say(r, 'Announcement playing.'));
  });
  $('upload-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const file = $('upload-file').files[0];
    if (!file || !client.venue) return;
    upload('/api/content/upload', file, $('upload-bar'), (ok, msg) => toast(ok ? 'Uploaded.' : msg, ok ? 'ok' : 'error'));
  });
  $('content-delete').addEventListener('click', () => {
    const ids = [...document.querySelectorAll('[data-content-id]:checked')].map((x) => x.dataset.contentId);
    if (ids.length && confirm('Delete ' + ids.length + ' item(s)?')) client.command('/api/content/delete', { contentIds: ids }).then((r) => say(r, 'Deleted.'));
  });
  function upload(path, file, bar, done) {
    const form = new FormData();
    form.append('file', file);
    form.append('venueId', client.venue.venue_id);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('X-CSRF-Token', client.csrf());
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.style.width = (100 * e.loaded / e.total) + '%'; };
    xhr.onload = () => {
      let body = {}; try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      done(xhr.status < 300, (body.error && body.error.message) || 'Failed (' + xhr.status + ').');
    };
    xhr.onerror = () => done(false, 'The box cannot be reached.');
    xhr.send(form);
  }

  // -- schedule ----------------------------------------------------------------------
  function rules() { const s = (client.venue && client.venue.schedule_data) || {}; return Array.isArray(s.rules) ? s.rules : []; }
  function paintSchedule() {
    const cal = $('calendar');
    const head = el('tr', {}, el('th', { text: '' }), DAYS.map((d) => el('th', { text: d })));
    const rows = [];
    for (let h = 0; h < 24; h += 2) {
      rows.push(el('tr', {}, el('th', { text: String(h).padStart(2, '0') }), DAYS.map((d, day) => {
        const hit = rules().find((r) => (r.days || DAY_KEYS).includes(DAY_KEYS[day]) && hourIn(h, r.start, r.end));
        return el('td', { class: hit ? 'slot' : '', title: hit ? slotName(hit) : '' }, hit ? '●' : '');
      })));
    }
    cal.replaceChildren(head, ...rows);
    $('sched-list').replaceChildren(...rules().map((r, i) => el('li', {},
      el('div', { class: 't' }, el('b', { text: (r.days || DAY_KEYS).map((d) => DAYS[DAY_KEYS.indexOf(d)]).join(', ') + ' ' + r.start + '–' + r.end }), el('span', { text: slotName(r) })),
      el('button', { text: '✕', 'aria-label': 'Remove slot', onclick: () => saveRules(rules().filter((_, j) => j !== i)) }))));
  }
  const hourIn = (h, start, end) => { const a = parseInt(start, 10), b = parseInt(end, 10); return a <= b ? h >= a && h < b : h >= a || h < b; };
  const slotName = (r) => {
    if (r.action === 'announcement') {
      const c = ((client.state && client.state.content) || []).find((x) => x.content_id === r.contentId);
      return 'announce ' + (c ? c.filename : r.contentId) + (r.everyMinutes ? ' every ' + r.everyMinutes + ' min' : ' once');
    }
    if (r.action !== 'playlist') return r.action + (r.volume !== undefined ? ' ' + r.volume : '') + (r.message ? ': ' + r.message : '');
    const p = ((client.state && client.state.playlists) || []).find((x) => x.playlist_id === r.playlistId);
    return p ? p.name : r.playlistId || '';
  };
  function saveRules(list) {
    const data = Object.assign({}, (client.venue && client.venue.schedule_data) || {}, { rules: list });
    return client.command('/api/schedule/update', { scheduleData: data }).then((r) => say(r, 'Schedule saved.'));
  }
  $('sched-day').replaceChildren(...DAYS.map((d, i) => el('option', { value: i, text: d })));
  $('sched-announce').addEventListener('click', () => {
    if (!$('sched-clip').value) { toast('Upload an audio clip in the Content tab first.', 'error'); return; }
    const every = Number($('sched-every').value);
    const r = { days: [DAY_KEYS[Number($('sched-day').value)]], start: $('sched-start').value, end: $('sched-end').value, action: 'announcement', contentId: $('sched-clip').value };
    if (every > 0) r.everyMinutes = every;
    saveRules(rules().concat([r]));
  });
  $('sched-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    saveRules(rules().concat([{ days: [DAY_KEYS[Number($('sched-day').value)]], start: $('sched-start').value, end: $('sched-end').value, action: 'playlist', playlistId: $('sched-playlist').value }]));
  });

  // -- settings ----------------------------------------------------------------------
  function buildSliders() {
    $('eq').replaceChildren(...EQ.map((b) => el('div', {}, el('label', { for: 'eq-' + b, text: b + ' Hz' }),
      el('input', { id: 'eq-' + b, type: 'range', min: -12, max: 12, step: 1 }))));
    EQ.forEach((b) => slider($('eq-' + b), (v) => setting('eq_settings', { [b]: v })));
    $('display').replaceChildren(...DISPLAY.map((k) => el('div', {}, el('label', { for: 'disp-' + k, text: k }),
      el('input', { id: 'disp-' + k, type: 'range', min: -100, max: 100 }))));
    DISPLAY.forEach((k) => slider($('disp-' + k), (v) => setting('display_sliders', { [k]: v })));
    slider($('fade'), (v) => setting('fade_out_time', v));
    $('compressor').addEventListener('change', () => setting('dynamic_compressor_enabled', $('compressor').checked));
    $('loudness').addEventListener('change', () => setting('loudness_normalization', $('loudness').checked));
    slider($('loudness-target'), (v) => setting('loudness_target', v));
    for (const [id, key] of [['tv-now-playing', 'tv_now_playing'], ['tv-coming-up', 'tv_coming_up'], ['tv-qr-code', 'tv_qr_code']]) {
      $(id).addEventListener('change', () => setting(key, $(id).checked));
    }
    $('tv-logo').addEventListener('change', () => setting('tv_logo', $('tv-logo').value));
    $('requests-open').addEventListener('change', () => setting('request_rules', { requests_open: $('requests-open').checked }));
    $('max-pending').addEventListener('change', () => setting('request_rules', { max_pending_per_user: Number($('max-pending').value) }));
    $('venue-input').addEventListener('change', () => setting('venue_name', $('venue-input').value));
  }
  function paintSettings() {
    const v = client.venue;
    if (!v) return;
    const s = v.player_settings;
    EQ.forEach((b) => setIfIdle($('eq-' + b), (s.eq_settings || {})[b] || 0));
    DISPLAY.forEach((k) => setIfIdle($('disp-' + k), (s.display_sliders || {})[k] || 0));
    setIfIdle($('fade'), s.fade_out_time); $('fade-val').textContent = s.fade_out_time;
    $('compressor').checked = s.dynamic_compressor_enabled;
    $('loudness').checked = s.loudness_normalization;
    setIfIdle($('loudness-target'), s.loudness_target); $('loudness-target-val').textContent = s.loudness_target;
    $('tv-now-playing').checked = s.tv_now_playing;
    $('tv-coming-up').checked = s.tv_coming_up;
    $('tv-qr-code').checked = s.tv_qr_code;
    setIfIdle($('tv-logo'), s.tv_logo || '');
    $('requests-open').checked = v.request_rules.requests_open;
    setIfIdle($('max-pending'), v.request_rules.max_pending_per_user);
    setIfIdle($('venue-input'), v.venue_name);
  }

  // -- log and system ----------------------------------------------------------------
  function paintLog() {
    $('log').textContent = client.logs.slice(-200).reverse().map((e) =>
      e.timestamp.slice(11, 19) + '  ' + e.event_type + '  ' + JSON.stringify(e.event_data)).join('\n');
  }
  $('logs-download').addEventListener('click', (ev) => {
    ev.currentTarget.href = '/api/logs/download?venueId=' + encodeURIComponent(client.venue ? client.venue.venue_id : '');
  });
  $('backup').addEventListener('click', async () => {
    $('system-msg').textContent = 'Backing up…';
    const r = await fetch('/api/system/backup', { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': client.csrf() }, body: JSON.stringify({ venueId: client.venue.venue_id }) });
    if (!r.ok) { const b = await r.json().catch(() => ({})); $('system-msg').textContent = (b.error || {}).message || 'Backup failed.'; return; }
    const type = r.headers.get('Content-Type') || '';
    if (type.includes('json')) { const b = await r.json(); $('system-msg').textContent = 'Backup made: ' + JSON.stringify(b.result || b); return; }
    const blob = await r.blob();
    const a = el('a', { href: URL.createObjectURL(blob), download: 'djamms-backup' });
    document.body.append(a); a.click(); a.remove();
    $('system-msg').textContent = 'Backup downloaded.';
  });
  async function paintYtdlp() {
    const r = await fetch('/api/system/ytdlp', { credentials: 'same-origin' }).catch(() => null);
    if (!r || !r.ok) { $('ytdlp-status').textContent = 'Not available.'; return; }
    const s = await r.json(); const u = s.last_update;
    $('ytdlp-status').textContent = 'yt-dlp ' + s.version + (s.side_environment ? ' (updated)' : ' (built in)') +
      '. Daily update ' + (s.update_enabled ? 'at ' + s.update_hour + ':00' : 'off') + '. Last: ' +
      (u ? u.at + ' ' + u.result + (u.version ? ' ' + u.version : '') + (u.error ? ' (' + u.error + ')' : '') : 'none yet') + '.';
  }
  $('restore').addEventListener('click', () => {
    const file = $('restore-file').files[0];
    if (!file || !confirm('Restore this backup? The current state is replaced.')) return;
    upload('/api/system/restore', file, { style: {} }, (ok, msg) => { $('system-msg').textContent = ok ? 'Restored.' : msg; });
  });
  $('pin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    client.command('/api/auth/settings', { setting: 'pin', value: $('new-pin').value }).then((r) => { say(r, 'PIN changed.'); $('new-pin').value = ''; });
  });
  $('mod-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    client.command('/api/auth/settings', { setting: 'moderator', value: { username: $('mod-name').value, pin: $('mod-pin').value } })
      .then((r) => { say(r, 'Moderator added.'); $('mod-pin').value = ''; });
  });

  // -- tabs and wiring ---------------------------------------------------------------
  document.querySelectorAll('nav.tabs button').forEach((b) => b.addEventListener('click', () => {
    document.querySelectorAll('nav.tabs button').forEach((x) => x.classList.toggle('on', x === b));
    document.querySelectorAll('.tab').forEach((t) => t.classList.toggle('on', t.id === 'tab-' + b.dataset.tab));
    if (b.dataset.tab === 'system') paintYtdlp();
  }));
  buildSliders();
  transportBadge(client, $('conn'));
  client.on((kind, f) => {
    if (kind === 'session') paintSession();
    if (kind !== 'change') return;
    const t = f.type;
    if (t === 'SNAPSHOT') extraActive = [];
    if (t === 'SNAPSHOT' || t === 'NOW_PLAYING_UPDATE' || t === 'PLAYER_SETTINGS_UPDATE' || t === 'PLAYER_DISCONNECTED' || t === 'SYSTEM_STATUS') paintTop();
    if (t === 'SNAPSHOT' || t === 'QUEUE_UPDATE') { if (t === 'QUEUE_UPDATE') extraActive = []; paintQueue(); }
    if (t === 'SNAPSHOT' || t === 'PLAYLIST_CONTENT_UPDATE') { paintPlaylists(); paintSchedule(); }
    if (t === 'SNAPSHOT' || t === 'CONTENT_GALLERY_UPDATE') paintContent();
    if (t === 'SNAPSHOT' || t === 'SCHEDULE_DATA_UPDATE') paintSchedule();
    if (t === 'SNAPSHOT' || t === 'PLAYER_SETTINGS_UPDATE') paintSettings();
    if (t === 'LOG_ENTRY') paintLog();
    if (t === 'SYSTEM_STATUS' && f.payload.status) {
      if (String(f.payload.status).startsWith('import_')) paintImport(f.payload);
      else if (f.payload.status === 'announcement_started') toast('Announcement: ' + (f.payload.filename || ''), 'ok');
      else $('system-msg').textContent = 'Status: ' + f.payload.status;
      if (String(f.payload.status).startsWith('ytdlp_')) paintYtdlp();
    }
  });
  setInterval(() => { if (client.venue) paintNowPlaying(client); }, 1000);
  client.loadSession(false).then(paintSession).finally(() => client.start());
  window.djammsClient = client;
})();
