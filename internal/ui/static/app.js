// Praetor's only script: live fragments, copy buttons, confirmations, the
// phone menu.
"use strict";

// swapKeepingFocus replaces el's content; when focus was on a link or an
// element with an id inside it, the same one in the new content gets it
// back, so keyboard users keep their place while a run updates.
function swapKeepingFocus(el, html) {
  const active = document.activeElement;
  let key = null;
  if (active && active !== el && el.contains(active)) {
    key = active.getAttribute("href") || (active.id ? "#" + active.id : null);
  }
  el.innerHTML = html;
  if (key) {
    const again = [...el.querySelectorAll("[href], [id]")].find((e) => (e.getAttribute("href") || "#" + e.id) === key);
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
