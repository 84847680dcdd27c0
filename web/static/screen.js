/* The venue's screen: now playing, coming up, the QR code to the request page. */
(function () {
  'use strict';
  const { Client, el, transportBadge, paintNowPlaying } = window.Djamms;
  const client = new Client();
  const $ = (id) => document.getElementById(id);

  function paint() {
    paintNowPlaying(client);
    const v = client.venue;
    const list = $('upnext');
    list.replaceChildren();
    if (!v) return;
    const items = [...v.priority_queue, ...v.active_queue].slice(0, 6);
    if (!items.length) list.append(el('li', { class: 'muted', text: 'Scan the code to request a song' }));
    for (const item of items) {
      list.append(el('li', { 'data-video-id': item.video_id },
        el('b', { text: item.title || item.video_id }),
        el('span', { class: 'muted', text: item.artist ? ' · ' + item.artist : '' })));
    }
  }

  transportBadge(client, $('conn'));
  client.on((kind, f) => {
    if (kind !== 'change') return;
    paint();
    // staff have logged in: the first-start PIN leaves the screen
    if (f.type === 'SYSTEM_STATUS' && f.payload.status === 'first_pin_used' && $('first-pin')) $('first-pin').remove();
  });
  setInterval(() => paintNowPlaying(client), 1000);
  client.start();
  window.djammsClient = client;
})();
