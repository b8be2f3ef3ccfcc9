// Praetor's only script: live fragments, the log tail, copy buttons,
// confirmations, the phone menu.
"use strict";

// swapKeepingFocus replaces el's content; when focus was on a link or an
// element with an id inside it, the same one in the new content gets it
// back, so keyboard users keep their place while a run updates. A link is
// known by its target and by the nearest element with an id around it, as
// one fragment may link to a run twice (its timeline bar, its Radar node).
function swapKeepingFocus(el, html) {
  const keyOf = (e) => {
    const scope = e.parentElement && e.parentElement.closest("[id]");
    return (e.getAttribute("href") || "#" + e.id) + " in " + (scope && scope !== el && el.contains(scope) ? scope.id : "");
  };
  const active = document.activeElement;
  let key = null;
  if (active && active !== el && el.contains(active) && (active.getAttribute("href") || active.id)) {
    key = keyOf(active);
  }
  el.innerHTML = html;
  if (key) {
    const again = [...el.querySelectorAll("[href], [id]")].find((e) => keyOf(e) === key);
    if (again) again.focus({ preventScroll: true });
  }
}

// Elements with data-live="URL" refresh their content from URL every
// data-interval milliseconds (default 2000) until a refreshed fragment
// carries data-final, which marks a finished run.
function startLive(el) {
  const url = el.dataset.live;
  const every = parseInt(el.dataset.interval || "2000", 10);
  let timer = null;
  async function tick() {
    try {
      const res = await fetch(url, { headers: { "Accept": "text/html" }, credentials: "same-origin", cache: "no-store" });
      if (res.redirected) {
        // The session ended: show the sign-in page instead of splicing it in.
        window.location.reload();
        return;
      }
      if (res.ok) {
        const html = await res.text();
        if (html !== el.innerHTML) {
          swapKeepingFocus(el, html);
        }
        if (el.querySelector("[data-final]")) {
          return;
        }
      }
    } catch (e) {
      // The server may be restarting; keep trying.
    }
    timer = setTimeout(tick, every);
  }
  if (!el.querySelector("[data-final]")) {
    timer = setTimeout(tick, every);
  }
  return () => clearTimeout(timer);
}

// Elements with data-tail="URL" hold a log table and append to it the
// lines that follow its last one: every data-interval milliseconds they ask
// URL&after=<the last row's data-cursor> for those lines alone, keep at
// most the table's data-max-rows rows (the oldest go), and stop once an
// answer carries data-final.
function startTail(el) {
  const every = parseInt(el.dataset.interval || "2000", 10);
  const table = el.querySelector("table.logs");
  const body = table.tBodies[0];
  const maxRows = parseInt(table.dataset.maxRows || "1000", 10);
  let timer = null;
  async function tick() {
    const last = body.rows[body.rows.length - 1];
    const url = el.dataset.tail + "&after=" + encodeURIComponent(last ? last.dataset.cursor : "");
    try {
      const res = await fetch(url, { headers: { "Accept": "text/html" }, credentials: "same-origin", cache: "no-store" });
      if (res.redirected) {
        window.location.reload();
        return;
      }
      if (res.ok) {
        const t = document.createElement("template");
        t.innerHTML = await res.text();
        const rows = t.content.querySelectorAll("tbody > tr");
        if (rows.length > 0) {
          body.append(...rows);
          let dropped = false;
          while (body.rows.length > maxRows) {
            body.deleteRow(0);
            dropped = true;
          }
          el.querySelector(".table-wrap").hidden = false;
          el.querySelector("[data-log-empty]").hidden = true;
          if (dropped) el.querySelector("[data-log-note]").hidden = false;
        }
        if (t.content.querySelector("[data-final]")) {
          return;
        }
      }
    } catch (e) {
      // The server may be restarting; keep trying.
    }
    timer = setTimeout(tick, every);
  }
  if (!el.querySelector("[data-final]")) {
    timer = setTimeout(tick, every);
  }
  return () => clearTimeout(timer);
}

// The Prefect CLI's browser login (/auth/client): once the user decided, the
// page carries the answer in data attributes and this posts it to the CLI's
// local server, {"api_key": …} to <callback>/success or {"reason": …} to
// <callback>/failure, the shape the CLI waits for. The page's
// Content-Security-Policy allows only loopback origins for this.
async function handOffToCLI(el) {
  const result = el.dataset.cliResult;
  const body = result === "success" ? { api_key: el.dataset.apiKey } : { reason: el.dataset.reason };
  // The key has no further use in the page.
  el.removeAttribute("data-api-key");
  let ok = false;
  try {
    const res = await fetch(el.dataset.cliCallback + "/" + result, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      mode: "cors",
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
    ok = res.ok;
  } catch (e) {
    ok = false;
  }
  document.getElementById("cli-sending").hidden = true;
  document.getElementById(ok ? "cli-sent" : "cli-failed").hidden = false;
  el.dataset.cliDone = ok ? "sent" : "failed";
}

// The sidebar (layout.html) is a <details> whose content the stylesheet
// shows on a wide screen, where its Menu button is hidden; a browser
// without ::details-content keeps a shut <details> shut, so open it there.
// On a phone, Escape closes the menu and returns to its button.
function setUpSidebar(sidebar) {
  const button = sidebar.querySelector("summary");
  const collapsible = () => getComputedStyle(button).display !== "none";
  if (!CSS.supports("selector(::details-content)") && !collapsible()) {
    sidebar.open = true;
  }
  sidebar.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && sidebar.open && collapsible()) {
      sidebar.open = false;
      button.focus();
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("details.sidebar").forEach(setUpSidebar);
  document.querySelectorAll("[data-cli-callback]").forEach(handOffToCLI);
  document.querySelectorAll("[data-live]").forEach(startLive);
  document.querySelectorAll("[data-tail]").forEach(startTail);
  document.querySelectorAll("[data-copy]").forEach((btn) => {
    btn.addEventListener("click", async () => {
      const target = document.getElementById(btn.dataset.copy);
      if (!target) return;
      try {
        await navigator.clipboard.writeText(target.textContent.trim());
        btn.textContent = "Copied";
      } catch (e) {
        btn.textContent = "Select and copy";
      }
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) {
        ev.preventDefault();
      }
    });
  });
});
