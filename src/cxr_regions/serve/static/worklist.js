// Worklist: drag-and-drop / picker upload through fetch, and live processing status by polling.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const table = document.getElementById("worklist");
  const drop = document.getElementById("drop");
  const form = document.getElementById("upload-form");
  const log = document.getElementById("upload-log");

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

  function fmt(p) { return p === null || p === undefined ? "" : p.toFixed(2); }

  function rowHtml(r, query) {
    const tr = document.createElement("tr");
    tr.dataset.id = r.id; tr.dataset.status = r.status;
    const cells = [];
    const a = document.createElement("a"); a.href = `${r.url}?${query}`; a.textContent = r.accession || "(no accession)";
    cells.push(a);
    cells.push(document.createTextNode(r.received_at));
    const st = document.createElement("span"); st.textContent = r.state; cells.push(st);
    const pr = document.createElement("span"); pr.textContent = r.status; cells.push(pr);
    const keys = Array.from(table.querySelectorAll("thead th small")).map((s) => s.textContent);
    keys.forEach((k) => { const s = document.createElement("span"); if (r.flags.includes(k)) { s.className = "chip pos"; s.textContent = "●"; } cells.push(s); });
    cells.push(document.createTextNode(fmt(r.max_probability)));
    cells.forEach((c, i) => {
      const td = document.createElement("td");
      if (i === 2) td.className = `state ${r.state}`;
      if (i === 3) td.className = `proc ${r.status}`;
      if (i >= 4 && i < 4 + keys.length) td.className = "flag";
      if (i === cells.length - 1) td.className = "maxp";
      td.appendChild(c); tr.appendChild(td);
    });
    return tr;
  }

  async function refresh(force) {
    const waiting = table.querySelector('tr[data-status="queued"], tr[data-status="processing"]');
    if (!waiting && !force) return;
    const query = table.dataset.query;
    const res = await fetch(`/api/worklist?${query}&page=${table.dataset.page}`, { credentials: "same-origin" });
    if (!res.ok) return;
    const data = await res.json();
    const body = table.querySelector("tbody");
    body.replaceChildren(...data.rows.map((r) => rowHtml(r, query)));
  }

  setInterval(() => refresh(false), 1500);
})();
