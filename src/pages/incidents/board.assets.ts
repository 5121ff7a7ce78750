/**
 * The incident board's script and styles, served as assets (CSP: script-src 'self', no inline
 * script). The script follows the live feed (GET /v1/incidents/stream, Server-Sent Events, read
 * with the person's session cookie) and, for each change, fetches the incident's card as the server
 * renders it (GET /incidents/:id/card: the same words, buttons and form token as the page), puts it
 * in its list (open ones first) and announces it in the page's polite live region. Without the
 * script the page is the same list; a reload shows what changed. The style sheet serves the
 * sensors page too.
 */

export const BOARD_JS = `"use strict";
(function () {
  var board = document.querySelector("[data-incident-board]");
  if (!board || typeof EventSource !== "function") return;
  var lists = { open: document.getElementById("open-incidents"), closed: document.getElementById("closed-incidents") };
  var live = document.getElementById("board-announce");
  var status = document.getElementById("board-status");
  var queue = Promise.resolve();

  function setStatus(on) {
    status.textContent = on ? board.getAttribute("data-live-on") : board.getAttribute("data-live-off");
    status.hidden = false;
  }

  function syncEmpty() {
    for (var key in lists) {
      var list = lists[key];
      var empty = document.getElementById(key + "-incidents-empty");
      var has = list.querySelector("li.incident") !== null;
      list.hidden = !has;
      if (empty) empty.hidden = has;
    }
  }

  function place(change) {
    return fetch("/incidents/" + encodeURIComponent(change.id) + "/card", {
      credentials: "same-origin",
      headers: { accept: "text/html" },
    }).then(function (res) {
      if (!res.ok) return;
      return res.text().then(function (html) {
        var t = document.createElement("template");
        t.innerHTML = html.trim();
        var card = t.content.firstElementChild;
        if (!card) return;
        var old = document.getElementById(card.id);
        var target = card.getAttribute("data-state") === "open" ? lists.open : lists.closed;
        // A card that stays in its list keeps its place (and whatever the person was choosing in it
        // is replaced only when it changed); one that opened or ended goes to the top of its list.
        if (old && old.parentElement === target) old.replaceWith(card);
        else {
          if (old) old.remove();
          target.prepend(card);
        }
        card.classList.add("fresh");
        syncEmpty();
        live.textContent = card.getAttribute(old ? "data-announce-changed" : "data-announce-opened");
      });
    });
  }

  function onChange(event) {
    var change;
    try { change = JSON.parse(event.data); } catch (e) { return; }
    queue = queue.then(function () { return place(change); }).catch(function () {});
  }

  var source = new EventSource(board.getAttribute("data-feed"));
  ["opened", "updated", "closed", "acknowledged"].forEach(function (kind) {
    source.addEventListener("incident." + kind, onChange);
  });
  source.addEventListener("open", function () { setStatus(true); });
  source.addEventListener("error", function () { setStatus(false); });
  window.addEventListener("pagehide", function () { source.close(); });
})();
`;

export const BOARD_CSS = `ol.incidents { list-style: none; padding: 0; margin: 0; }
li.incident { border-left: 6px solid var(--line); }
li.incident.halt { border-left-color: var(--bad); background: #fff5f4; }
li.incident.offline { border-left-color: var(--warn); }
li.incident h3 { margin: 0 0 4px; display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
li.incident .place { margin: 0 0 8px; color: var(--muted); }
li.incident .halt-now { color: var(--bad); font-weight: 700; margin: 0 0 8px; }
li.incident form.classify { flex: 1 1 300px; display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin: 0; }
li.incident form.classify > div { flex: 1 1 120px; }
li.incident form.classify > div:last-child { flex: 0 0 auto; }
@media (min-width: 720px) {
  ol.incidents { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 0 12px; }
}
li.incident.fresh { animation: incident-fresh 3s ease-out; }
table .badge, table button { white-space: nowrap; }
@keyframes incident-fresh { from { box-shadow: 0 0 0 4px var(--bad); } to { box-shadow: none; } }
@media (prefers-reduced-motion: reduce) { li.incident.fresh { animation: none; outline: 3px solid var(--bad); } }
`;
