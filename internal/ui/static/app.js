// Praetor's only script: live fragments, copy buttons, confirmations.
"use strict";

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
      if (res.ok) {
        const html = await res.text();
        if (html !== el.innerHTML) {
          el.innerHTML = html;
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

document.addEventListener("DOMContentLoaded", () => {
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
