/* Live metrics (docs/live.md): a page follows WS /ws/bi-dashboard.
   The element with data-live-types names the metric types to subscribe to and shows the state.
   Two ways a page follows the numbers, and the server formats every number in both:
   - tiles: elements with data-live-value / data-live-trend="<catalogue name>" take the text of
     the message's `display` block (the dashboard's Overview tiles);
   - regions: elements with data-live-region and an id are rendered again by the server after
     a change (the page's own URL, fetched once for all its regions), so sections that are more
     than a number (an agent's KPI cards, the activity timeline, the insights counters) follow
     without a script of their own. A region with data-live-merge="items" keeps what the
     reader loaded ("Load more") and inserts the new items (data-live-key) in time order.
   Reconnects with backoff (1 s doubling to 30 s); a 4401 close (signed out) stops. */
(function () {
  "use strict";
  var status = document.querySelector("[data-live-types]");
  if (!status || !("WebSocket" in window)) return;
  var types = status.getAttribute("data-live-types").split(",");
  var frequency = parseInt(status.getAttribute("data-live-frequency") || "5", 10);
  var delay = 1000;
  var connectedBefore = false;
  var snapshotSeen = {};
  var refreshTimer = null;

  function setState(state, text) {
    status.setAttribute("data-state", state);
    status.textContent = text;
  }

  function flash(el) {
    el.classList.add("is-updated");
    setTimeout(function () { el.classList.remove("is-updated"); }, 1500);
  }

  function applyTiles(data) {
    var display = data.display || {};
    Object.keys(display).forEach(function (name) {
      var shown = display[name];
      document.querySelectorAll('[data-live-value="' + name + '"]').forEach(function (el) {
        if (el.textContent !== shown.value) {
          el.textContent = shown.value;
          flash(el);
        }
      });
      document.querySelectorAll('[data-live-trend="' + name + '"]').forEach(function (el) {
        el.textContent = shown.trend;
        el.className = el.className.replace(/trend--\w+/, "trend--" + shown.sense);
      });
    });
  }

  function mergeItems(current, fresh) {
    // New items go where their time puts them (newest first, by data-live-sort); an item older
    // than everything loaded so far waits for "Load more".
    var list = current.querySelector("[data-live-list]");
    var freshList = fresh.querySelector("[data-live-list]");
    if (!list || !freshList) return false;
    var known = {};
    list.querySelectorAll("[data-live-key]").forEach(function (el) { known[el.getAttribute("data-live-key")] = true; });
    var more = list.querySelector("[data-live-more]");
    freshList.querySelectorAll("[data-live-key]").forEach(function (el) {
      if (known[el.getAttribute("data-live-key")]) return;
      var sort = el.getAttribute("data-live-sort") || "";
      var before = Array.prototype.find.call(list.querySelectorAll("[data-live-key]"), function (item) {
        return (item.getAttribute("data-live-sort") || "") < sort;
      });
      if (!before && more) return;
      var copy = document.importNode(el, true);
      list.insertBefore(copy, before || null);
      flash(copy);
      if (window.htmx) window.htmx.process(copy);
    });
    return true;
  }

  function refreshRegions() {
    var regions = document.querySelectorAll("[data-live-region][id]");
    if (!regions.length) return;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live-Refresh": "1" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        regions.forEach(function (current) {
          var fresh = doc.getElementById(current.id);
          // A region the reader is typing in stays as it is until the next change.
          if (!fresh || current.contains(document.activeElement)) return;
          if (current.getAttribute("data-live-merge") === "items" && mergeItems(current, fresh)) return;
          if (current.innerHTML === fresh.innerHTML) return;
          var copy = document.importNode(fresh, true);
          current.replaceWith(copy);
          flash(copy);
          if (window.htmx) window.htmx.process(copy);
        });
      })
      .catch(function () { /* the next change tries again */ });
  }

  function scheduleRefresh() {
    // The messages of one change (one per type) make one request.
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refreshRegions, 150);
  }

  function onMetrics(message) {
    applyTiles(message.data || {});
    // The first message of a type is the snapshot the page was rendered with, unless the
    // socket came back after a break (data may have changed meanwhile).
    var isSnapshot = !snapshotSeen[message.metric_type];
    snapshotSeen[message.metric_type] = true;
    if (!isSnapshot || connectedBefore) scheduleRefresh();
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/bi-dashboard");
    socket.onopen = function () {
      delay = 1000;
      snapshotSeen = {};
      setState("live", "Live");
      socket.send(JSON.stringify({ type: "subscribe", client_id: "page", metric_types: types, update_frequency: frequency }));
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      // A gap in `seq` cannot lose a number: every message carries its whole block, and
      // regions are fetched whole from the server.
      if (message.type === "metrics") onMetrics(message);
      if (message.type === "error") setState("error", "Live: " + message.message);
    };
    socket.onclose = function (event) {
      if (event.code === 4401) {
        setState("off", "Live off (sign in again)");
        return;
      }
      if (status.getAttribute("data-state") === "live") connectedBefore = true;
      setState("retry", "Reconnecting…");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  connect();
})();
