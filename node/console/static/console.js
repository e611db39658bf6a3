// Partial refresh: every table marked data-refresh reloads its body from the
// page's fragment URL, without reloading the page. A lost session (the
// fragment request is redirected to the login page) reloads the page.
(function () {
  "use strict";
  var every = 3000;
  var meta = document.querySelector("meta[name=refresh-ms]");
  if (meta) { every = parseInt(meta.content, 10) || every; }
  function refresh(tbl) {
    var url = tbl.getAttribute("data-refresh");
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) {
        if (r.redirected || r.status === 401 || r.status === 403) { window.location.reload(); return null; }
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        var tmp = document.createElement("table");
        tmp.innerHTML = html;
        var body = tmp.querySelector("tbody");
        var old = tbl.querySelector("tbody");
        if (body && old) { tbl.replaceChild(body, old); }
        tbl.classList.remove("stale");
        recount();
        tbl.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { tbl.classList.add("stale"); });
  }
  // recount updates the page's counters (data-count="up" ...) from the
  // rows of the refreshed tables.
  function recount() {
    document.querySelectorAll("[data-count]").forEach(function (el) {
      var n = document.querySelectorAll("table[data-refresh] tbody tr.r-" + el.getAttribute("data-count")).length;
      el.textContent = String(n);
    });
  }
  function start() {
    var tables = document.querySelectorAll("table[data-refresh]");
    if (!tables.length) { return; }
    setInterval(function () {
      if (document.hidden) { return; }
      tables.forEach(refresh);
    }, every);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
