/* Patron page: now playing, up next, search, request with feedback, like. */
(function () {
  'use strict';
  const { Client, el, fmtTime, toast, transportBadge, paintNowPlaying } = window.Djamms;
  const client = new Client();
  const $ = (id) => document.getElementById(id);
  const likedKey = (np) => 'djamms-liked-' + np.play_id;

  function paint() {
    const v = client.venue;
    paintNowPlaying(client);
    const np = v && v.now_playing;
    $('like').disabled = !np;
    const liked = np && localStorage.getItem(likedKey(np)) === '1';
    $('like').classList.toggle('on', !!liked);
    $('like').setAttribute('aria-pressed', liked ? 'true' : 'false');
    $('likes').textContent = np && np.vote_count ? '(' + np.vote_count + ')' : '';
    const list = $('upnext');
    list.replaceChildren();
    if (!v) return;
    const me = client.me ? client.me.userId : '';
    const items = [...v.priority_queue.map((i) => [i, true]), ...v.active_queue.slice(0, 10).map((i) => [i, false])];
    if (!items.length) list.append(el('li', { class: 'muted', text: 'Nothing queued yet — request something!' }));
    items.forEach(([item, req], n) => list.append(el('li', { 'data-video-id': item.video_id },
      el('span', { class: 'muted', text: String(n + 1) }),
      el('div', { class: 't' }, el('b', { text: item.title || item.video_id }), el('span', { text: item.artist || '' })),
      req ? el('span', { class: 'pill', text: item.added_by_user_id === me ? 'your request' : 'request' }) : null)));
  }

  async function search(ev) {
    ev.preventDefault();
    const q = $('q').value.trim();
    if (!q) return;
    $('feedback').textContent = 'Searching…';
    const r = await client.get('/api/search?q=' + encodeURIComponent(q));
    const results = $('results');
    results.replaceChildren();
    if (!r.ok) { $('feedback').textContent = (r.data.error || {}).message || 'Search failed.'; return; }
    $('feedback').textContent = r.data.results.length ? '' : 'No songs found for “' + q + '”.';
    for (const t of r.data.results) {
      const btn = el('button', { class: 'primary', text: 'Request', onclick: () => request(t, btn) });
      results.append(el('li', {},
        t.thumbnail ? el('img', { src: t.thumbnail, alt: '', width: 64, height: 36, style: 'border-radius:6px;object-fit:cover' }) : null,
        el('div', { class: 't' }, el('b', { text: t.title || t.video_id }),
          el('span', { text: (t.artist || '') + (t.duration ? ' · ' + fmtTime(t.duration) : '') })),
        btn));
    }
  }

  async function request(track, btn) {
    btn.disabled = true;
    const r = await client.command('/api/queue/add', { videoId: track.video_id });
    btn.disabled = false;
    if (r.ok) {
      const res = r.result || {};
      const eta = res.eta_minutes ? ', about ' + res.eta_minutes + ' min' : '';
      const msg = res.position ? 'Requested! You are #' + res.position + eta + '.' : 'Requested!';
      $('feedback').textContent = msg;
      toast(msg, 'ok');
    } else {
      const msg = (r.error && r.error.message) || 'That did not work; try again.';
      $('feedback').textContent = msg;
      toast(msg, 'error');
    }
  }

  async function like() {
    const np = client.venue && client.venue.now_playing;
    if (!np) return;
    const liked = localStorage.getItem(likedKey(np)) === '1';
    const r = await client.command('/api/track/vote', { videoId: np.video_id, voteType: liked ? 'unlike' : 'like' });
    if (r.ok) localStorage.setItem(likedKey(np), liked ? '0' : '1');
    else toast((r.error && r.error.message) || 'Could not like that.', 'error');
    paint();
  }

  $('search-form').addEventListener('submit', search);
  $('like').addEventListener('click', like);
  transportBadge(client, $('conn'));
  client.on((kind) => { if (kind === 'change' || kind === 'session') paint(); });
  setInterval(() => paintNowPlaying(client), 1000);
  client.loadSession(true).finally(() => client.start());
  window.djammsClient = client;
})();
