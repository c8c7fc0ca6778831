// CRM Insights: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // The user menu is a <details>: close it on a click elsewhere or on Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
    });
  });

  // A submit button with data-busy-label shows it and refuses a second submit (uploads
  // can take a while, and a double click would import the file twice).
  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("button[data-busy-label]");
    if (!button) return;
    if (button.getAttribute("aria-busy") === "true") {
      event.preventDefault();
      return;
    }
    button.setAttribute("aria-busy", "true");
    button.textContent = button.getAttribute("data-busy-label");
  });

  // A select with data-submit-on-change submits its form (a filter without an Apply button;
  // the Content-Security-Policy refuses an onchange= attribute).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (!field.matches || !field.matches("select[data-submit-on-change]") || !field.form) return;
    field.form.submit();
  });

  // A failed HTMX request says so instead of failing silently.
  function showError(message) {
    var main = document.getElementById("main");
    if (!main) return;
    var box = main.querySelector(".messages");
    if (!box) {
      box = document.createElement("div");
      box.className = "messages";
      box.setAttribute("role", "status");
      main.prepend(box);
    }
    if (box.querySelector("[data-htmx-error]")) return;
    var alert = document.createElement("div");
    alert.className = "alert alert--error";
    alert.setAttribute("data-htmx-error", "");
    alert.textContent = message;
    box.append(alert);
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : "";
    showError("The page could not be updated (error " + status + "). Reload it to try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    showError("The server could not be reached. Check your connection; the page retries by itself.");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!event.detail.successful) return;
    document.querySelectorAll("[data-htmx-error]").forEach(function (node) {
      node.remove();
    });
  });
})();
