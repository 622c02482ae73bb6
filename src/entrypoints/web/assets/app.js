// Octostage dashboard: progressive enhancement. Every page works without this file; with it,
// tables and pages update live (Server-Sent Events), deletes ask first, and the staging form
// offers the chart's keys and checks each override as it is typed.
"use strict";
(() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";
  const fragment = (markup, wrapper) => {
    const t = document.createElement("template");
    t.innerHTML = wrapper ? `<table><tbody>${markup}</tbody></table>` : markup;
    return wrapper ? t.content.querySelector("tr") : t.content;
  };

  // The stagings table: rows replaced or added on top as they change.
  const table = document.querySelector("table[data-live]");
  if (table && window.EventSource) {
    const body = table.tBodies[0];
    const count = document.getElementById("count");
    const events = new EventSource(table.dataset.live);
    events.addEventListener("row", (e) => {
      const { name, html } = JSON.parse(e.data);
      const row = fragment(html, true);
      const old = document.getElementById(`row-${name}`);
      if (old) old.remove();
      body.prepend(row);
      if (count) count.textContent = String(body.rows.length);
    });
    events.addEventListener("remove", (e) => {
      document.getElementById(`row-${JSON.parse(e.data).name}`)?.remove();
      if (count) count.textContent = String(body.rows.length);
    });
  }

  // A staging's page: its live part re-rendered by the server as it changes.
  const live = document.querySelector("#live[data-live]");
  if (live && window.EventSource) {
    const events = new EventSource(live.dataset.live);
    events.addEventListener("live", (e) => {
      // Keep a person's place: do not replace what they are using.
      if (live.contains(document.activeElement) && document.activeElement !== document.body) {
        live.dataset.pending = e.data;
        return;
      }
      live.replaceChildren(fragment(JSON.parse(e.data).html));
    });
    live.addEventListener("focusout", () => {
      setTimeout(() => {
        if (live.dataset.pending && !live.contains(document.activeElement)) {
          live.replaceChildren(fragment(JSON.parse(live.dataset.pending).html));
          delete live.dataset.pending;
        }
      }, 0);
    });
    events.addEventListener("gone", () => {
      events.close();
      live.insertAdjacentHTML("afterbegin", '<p class="warn" role="status">This staging is gone. <a href="/stagings">All stagings</a></p>');
    });
  }

  // Destructive buttons ask first.
  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) e.preventDefault();
  });

  // The staging form: keys of the chosen repository's chart, more rows, checks as you type.
  const form = document.querySelector("form.staging-form");
  if (!form) return;
  const repoField = form.querySelector('[name="repo"]');
  const list = document.getElementById("chart-keys");
  const rows = form.querySelector(".override-rows");
  let keys = new Map();
  const describe = (k) => [k.type, "default" in k ? `default ${JSON.stringify(k.default)}` : "", k.description ?? ""].filter(Boolean).join(" · ");
  const loadKeys = async () => {
    keys = new Map();
    const res = await fetch(`${form.dataset.keys}?repo=${encodeURIComponent(repoField.value)}`, { headers: { accept: "application/json" } }).catch(() => null);
    if (!res || !res.ok) return;
    const data = await res.json();
    list.replaceChildren(...data.keys.map((k) => {
      keys.set(k.key, k);
      const o = document.createElement("option");
      o.value = k.key;
      o.textContent = describe(k);
      return o;
    }));
    for (const li of rows.children) showKey(li);
  };
  const showKey = (li) => {
    const k = keys.get(li.querySelector('[name="key"]').value.trim());
    const info = li.querySelector(".key-info");
    info.textContent = k ? describe(k) : "";
  };
  const showProblem = (li, problem) => {
    const out = li.querySelector(".field-error");
    out.textContent = problem ?? "";
    out.hidden = !problem;
    li.classList.toggle("has-error", Boolean(problem));
    li.querySelector('[name="key"]').toggleAttribute("aria-invalid", Boolean(problem));
    if (problem) li.querySelector('[name="key"]').setAttribute("aria-invalid", "true");
  };
  const timers = new WeakMap();
  const check = (li) => {
    clearTimeout(timers.get(li));
    timers.set(li, setTimeout(async () => {
      const key = li.querySelector('[name="key"]').value.trim();
      const value = li.querySelector('[name="value"]').value;
      if (!key) return showProblem(li, null);
      const staging = form.action.match(/\/stagings\/([^/]+)\/edit$/)?.[1];
      const res = await fetch(form.dataset.check, {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": csrf(), accept: "application/json" },
        body: JSON.stringify({ repo: repoField.value, key, value, ...(staging ? { staging } : {}) }),
      }).catch(() => null);
      if (!res || !res.ok) return;
      const data = await res.json();
      // Only the latest answer for what is typed now counts.
      if (li.querySelector('[name="key"]').value.trim() === key && li.querySelector('[name="value"]').value === value) showProblem(li, data.problem);
    }, 300));
  };
  rows.addEventListener("input", (e) => {
    const li = e.target.closest("li");
    if (!li) return;
    if (e.target.name === "key") showKey(li);
    check(li);
  });
  const add = form.querySelector(".add-override");
  add.hidden = false;
  add.addEventListener("click", () => {
    const last = rows.lastElementChild;
    const copy = last.cloneNode(true);
    const n = rows.children.length;
    for (const input of copy.querySelectorAll("input")) {
      input.value = "";
      input.removeAttribute("aria-invalid");
      input.setAttribute("aria-describedby", `e-override-${n}`);
    }
    copy.querySelector(".field-error").id = `e-override-${n}`;
    showProblem(copy, null);
    copy.querySelector(".key-info").textContent = "";
    rows.append(copy);
    copy.querySelector('[name="key"]').focus();
  });
  repoField.addEventListener("change", loadKeys);
  void loadKeys();
})();
