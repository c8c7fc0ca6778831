/* Live metrics (docs/live.md): the dashboard's tiles follow WS /ws/bi-dashboard.
   The element with data-live-types names the metric types and shows the state; elements with
   data-live-value / data-live-trend="<catalogue name>" take the server's text (the server
   formats every number: this file never does). Reconnects with backoff (1 s doubling to 30 s);
   a 4401 close (signed out) stops. */
(function () {
  "use strict";
  var status = document.querySelector("[data-live-types]");
  if (!status || !("WebSocket" in window)) return;
  var types = status.getAttribute("data-live-types").split(",");
  var delay = 1000;
  var lastSeq = 0;

  function setState(state, text) {
    status.setAttribute("data-state", state);
    status.textContent = text;
  }

  function apply(data) {
    var display = data.display || {};
    Object.keys(display).forEach(function (name) {
      var shown = display[name];
      document.querySelectorAll('[data-live-value="' + name + '"]').forEach(function (el) {
        if (el.textContent !== shown.value) {
          el.textContent = shown.value;
          el.classList.add("is-updated");
          setTimeout(function () { el.classList.remove("is-updated"); }, 1500);
        }
      });
      document.querySelectorAll('[data-live-trend="' + name + '"]').forEach(function (el) {
        el.textContent = shown.trend;
        el.className = el.className.replace(/trend--\w+/, "trend--" + shown.sense);
      });
    });
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/bi-dashboard");
    socket.onopen = function () {
      delay = 1000;
      lastSeq = 0;
      setState("live", "Live");
      socket.send(JSON.stringify({ type: "subscribe", client_id: "dashboard", metric_types: types, update_frequency: 5 }));
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      // A gap in the sequence cannot lose a number: every message carries the whole block.
      lastSeq = message.seq || lastSeq;
      if (message.type === "metrics") apply(message.data);
      if (message.type === "error") setState("error", "Live: " + message.message);
    };
    socket.onclose = function (event) {
      if (event.code === 4401) {
        setState("off", "Live off (sign in again)");
        return;
      }
      setState("retry", "Reconnecting…");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  connect();
})();
