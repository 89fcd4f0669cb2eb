// The inbox says how many items arrived since it was opened. Without this script the page
// works the same; it only saves a reload. The count comes from /staff/inbox/new (JSON).
(function () {
  "use strict";
  var news = document.getElementById("inbox-news");
  if (!news || !window.fetch) { return; }
  var url = news.getAttribute("data-url");
  var every = 1000 * (parseInt(news.getAttribute("data-every") || "30", 10) || 30);
  var stopped = false;

  function show(count, capped) {
    if (count < 1) { return; }
    var words = (capped ? "More than " + (count - 1) : String(count)) +
      (count === 1 ? " new item" : " new items") + " since you opened this page.";
    news.textContent = words + " ";
    var link = document.createElement("a");
    link.href = window.location.pathname + window.location.search.replace(/([?&])after=\d+&?/, "$1");
    link.textContent = "Show them";
    news.appendChild(link);
    news.hidden = false;
  }

  function poll() {
    if (stopped) { return; }
    if (document.hidden) { window.setTimeout(poll, every); return; }
    window.fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        // Signed out or refused: stop asking rather than hammer the server.
        if (!response.ok || response.redirected) { stopped = true; return null; }
        return response.json();
      })
      .then(function (body) {
        if (body) { show(body["new"], body.capped); }
      })
      .catch(function () { /* offline for a moment: try again at the next tick */ })
      .then(function () { if (!stopped) { window.setTimeout(poll, every); } });
  }

  window.setTimeout(poll, every);
}());
