// safeguard web UI: keyboard shortcuts and live progress. No framework, no build step;
// every action is also a plain link or form, so the pages work without this script.
(function () {
  "use strict";

  function typing(e) {
    var t = e.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  function press(selector) {
    var el = document.querySelector(selector);
    if (el) { el.click(); return true; }
    return false;
  }

  // the queue: j / k move the selection, Enter opens, c claims the selected case
  var rows = Array.prototype.slice.call(document.querySelectorAll("table[data-nav=rows] tbody tr"));
  var at = -1;
  function select(i) {
    if (!rows.length) return;
    at = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r, j) { r.classList.toggle("selected", j === at); });
    var link = rows[at].querySelector("a");
    if (link) link.focus();
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
    var k = e.key;
    if (rows.length && (k === "j" || k === "k")) {
      select(at + (k === "j" ? 1 : -1)); e.preventDefault(); return;
    }
    if (k === "c") {
      var scope = at >= 0 && rows.length ? rows[at] : document;
      var b = scope.querySelector("[data-key=claim]");
      if (b) { b.click(); e.preventDefault(); }
      return;
    }
    if (k === "r") { if (press("[data-key=reveal]")) e.preventDefault(); return; }
    if (k === "h") { if (press("[data-key=hide]")) e.preventDefault(); return; }
    if (k === "1" || k === "2" || k === "3") {
      var choice = document.querySelector("input[data-key='" + k + "']");
      if (choice) {
        choice.checked = true;
        var go = document.getElementById("decide-button");
        if (go) go.focus();
        e.preventDefault();
      }
      return;
    }
    if (k === "q") { window.location.assign("/ui/queue"); return; }
    if (k === "?") { window.location.assign("/ui/help"); }
  });

  // a table row with data-href opens on click anywhere in it (the link inside is the
  // keyboard's way in)
  rows.forEach(function (r) {
    r.addEventListener("click", function (e) {
      if (e.target.closest("a, button, form, input, select")) return;
      if (r.dataset.href) window.location.assign(r.dataset.href);
    });
  });

  // live progress: an element with data-progress-url is refreshed from that JSON until
  // the job it shows is finished, then the page reloads to show the outcome
  document.querySelectorAll("[data-progress-url]").forEach(function (box) {
    var url = box.getAttribute("data-progress-url");
    var bar = box.querySelector("progress");
    var label = box.querySelector("[data-progress-label]");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (job) {
          if (bar && job.total) { bar.max = job.total; bar.value = job.done; }
          if (label) label.textContent = job.message || "";
          if (job.state === "running") { window.setTimeout(poll, 700); }
          else { window.location.reload(); }
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    }
    poll();
  });
})();
