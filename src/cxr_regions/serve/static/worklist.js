// Worklist: drag-and-drop / picker upload through fetch, live processing status by polling, keyboard
// navigation (j k or arrows, Enter or o opens, / searches, [ ] pages, u urgent), and a mark on films
// with an unsaved verdict draft in this tab.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const table = document.getElementById("worklist");
  const drop = document.getElementById("drop");
  const form = document.getElementById("upload-form");
  const log = document.getElementById("upload-log");
  const reader = (document.getElementById("reader") || {}).textContent || "local";
  let cursor = -1;

  function note(text, cls) {
    const li = document.createElement("li");
    li.textContent = text;
    if (cls) li.className = cls;
    log.appendChild(li);
  }

  async function send(files) {
    if (!files.length) return;
    const body = new FormData();
    // the file names stay in the browser (they often carry the patient's name): the server gets neutral ones
    Array.from(files).forEach((f, i) => body.append("files", f, `file-${i + 1}`));
    body.append("report", form.querySelector("textarea[name=report]").value);
    if (document.getElementById("upload-urgent").checked) body.append("urgent", "1");
    note(`uploading ${files.length} file(s)…`);
    try {
      const res = await fetch("/upload", { method: "POST", body, headers: { "X-CSRF-Token": csrf, Accept: "application/json" }, credentials: "same-origin" });
      const data = await res.json();
      if (!res.ok) { note(`upload refused: ${data.detail}`, "error"); return; }
      for (const r of data.results) {
        const name = files[r.index - 1] ? files[r.index - 1].name : `file ${r.index}`;
        note(`${name}: ${r.status}${r.reason ? " — " + r.reason : ""}`, ["refused", "failed"].includes(r.status) ? "error" : "");
      }
      refresh(true);
    } catch (err) { note(`upload failed: ${err}`, "error"); }
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); send(document.getElementById("files").files); });
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => send(e.dataTransfer.files));

  function cell(content, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    if (content) td.append(content);
    return td;
  }

  function chip(text, cls, title) {
    const s = document.createElement("span");
    s.className = `chip ${cls}`; s.textContent = text;
    if (title) s.title = title;
    return s;
  }

  function rowOf(r, query, keys) {
    const tr = document.createElement("tr");
    tr.dataset.id = r.id; tr.dataset.status = r.status;
    const a = document.createElement("a"); a.href = `${r.url}?${query}`; a.textContent = r.accession || "(no accession)";
    tr.append(cell(a), cell(r.urgent ? chip("urgent", "urgent") : null, "urgent"), cell(r.received_at),
      cell(r.state, `state ${r.state}`), cell(r.status, `proc ${r.status}`));
    keys.forEach((k) => tr.append(cell(r.flags.includes(k) ? chip("●", "pos", `${k} above threshold`) : null, "flag")));
    tr.append(cell(r.max_probability_shown, "maxp"));
    return tr;
  }

  function rows() { return Array.from(table.querySelectorAll("tbody tr[data-id]")); }

  function markDrafts() {
    for (const tr of rows()) {
      if (!sessionStorage.getItem(`cxr-draft:${reader}:${tr.dataset.id}`) || tr.querySelector(".draft")) continue;
      tr.cells[0].append(" ", chip("draft", "unc", "a verdict not saved yet, kept in this tab"));
      tr.cells[0].lastChild.classList.add("draft");
    }
  }

  function select(i) {
    const all = rows();
    if (!all.length) return;
    cursor = Math.max(0, Math.min(all.length - 1, i));
    all.forEach((tr, j) => tr.classList.toggle("keyed", j === cursor));
    all[cursor].scrollIntoView({ block: "nearest" });
    table.dataset.cursor = all[cursor].dataset.id;
  }

  async function refresh(force) {
    const waiting = table.querySelector('tr[data-status="queued"], tr[data-status="processing"]');
    if (!waiting && !force) return;
    const query = table.dataset.query;
    const res = await fetch(`/api/worklist?${query}&page=${table.dataset.page}`, { credentials: "same-origin" });
    if (!res.ok) return;
    const data = await res.json();
    const keys = Array.from(table.querySelectorAll("thead th small")).map((s) => s.textContent);
    const body = table.querySelector("tbody");
    if (data.rows.length) {
      body.replaceChildren(...data.rows.map((r) => rowOf(r, query, keys)));
    } else {
      const tr = document.createElement("tr"); tr.className = "empty";
      const td = cell(data.message, "muted"); td.colSpan = 5 + keys.length + 1; td.id = "empty-message";
      tr.append(td); body.replaceChildren(tr);
    }
    markDrafts();
    if (cursor >= 0) select(cursor);
  }

  async function toggleUrgent(tr) {
    const body = new FormData();
    body.append("urgent", tr.querySelector(".chip.urgent") ? "0" : "1");
    const res = await fetch(`/films/${tr.dataset.id}/urgent`, { method: "POST", body, credentials: "same-origin", headers: { "X-CSRF-Token": csrf, Accept: "application/json" } });
    if (res.ok) refresh(true);
  }

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.target.closest("input, textarea, select")) { if (e.key === "Escape") e.target.blur(); return; }
    const all = rows();
    const go = (id) => { const link = document.getElementById(id); if (link) window.location.href = link.href; };
    if (e.key === "j" || e.key === "ArrowDown") select(cursor + 1);
    else if (e.key === "k" || e.key === "ArrowUp") select(cursor < 0 ? 0 : cursor - 1);
    else if ((e.key === "Enter" || e.key === "o") && all[cursor]) window.location.href = all[cursor].querySelector("a").href;
    else if (e.key === "/") document.getElementById("search").focus();
    else if (e.key === "]") go("page-next");
    else if (e.key === "[") go("page-prev");
    else if (e.key === "u" && all[cursor]) toggleUrgent(all[cursor]);
    else return;
    e.preventDefault();
  });

  markDrafts();
  setInterval(() => refresh(false), 1500);
})();
