// The verdict form by keyboard: a cursor on one region, a key per choice, save, save and go on. Changes
// not saved yet are kept as a draft in this tab's session storage (restored when the film is opened
// again, e.g. after n/p) and dropped once saved.
"use strict";

const CHOICES = ["agree", "1", "u", "0"];

export class VerdictForm {
  constructor(form, { filmId, reader, onSaved = () => {}, onChange = () => {} }) {
    this.form = form;
    this.rows = Array.from(form.querySelectorAll("tr[data-region]"));
    this.key = `cxr-draft:${reader}:${filmId}`;
    this.onSaved = onSaved;
    this.onChange = onChange;
    this.cursor = 0;
    this.status = document.getElementById("verdict-status");
    this.baseline = JSON.stringify(this.snapshot());
    this.restoreDraft();
    this.showCursor();
    form.addEventListener("input", () => this.changed());
    form.addEventListener("change", () => this.changed());
    form.addEventListener("submit", (e) => { e.preventDefault(); this.save(false); });
    // arrow keys on a focused radio would silently change the choice: they move the cursor instead
    form.addEventListener("keydown", (e) => {
      if (e.target.type === "radio" && e.key.startsWith("Arrow")) {
        e.preventDefault();
        if (e.key === "ArrowUp" || e.key === "ArrowDown") this.move(e.key === "ArrowUp" ? -1 : 1);
      }
    }, true);
    this.rows.forEach((row, i) => row.addEventListener("click", () => { this.cursor = i; this.showCursor(); }));
  }

  field(name) { return this.form.elements.namedItem(name); }

  snapshot() {
    const labels = {};
    for (const row of this.rows) {
      const picked = row.querySelector("input[type=radio]:checked");
      labels[row.dataset.region] = picked ? picked.value : "";
    }
    return {
      labels, note: this.field("note").value, read: this.field("mark_read").checked,
      ratio: this.field("cardiothoracic_ratio").value, widths: this.field("ctr_widths").value,
    };
  }

  apply(state) {
    for (const row of this.rows) {
      const value = state.labels?.[row.dataset.region];
      const input = value && row.querySelector(`input[value="${value}"]`);
      if (input && !input.disabled) input.checked = true;
    }
    this.field("note").value = state.note ?? "";
    this.field("mark_read").checked = Boolean(state.read);
    this.field("cardiothoracic_ratio").value = state.ratio ?? "";
    this.field("ctr_widths").value = state.widths ?? "";
  }

  get dirty() { return JSON.stringify(this.snapshot()) !== this.baseline; }

  changed() {
    if (this.dirty) sessionStorage.setItem(this.key, JSON.stringify(this.snapshot()));
    else sessionStorage.removeItem(this.key);
    this.form.dataset.dirty = this.dirty ? "1" : "0";
    this.say(this.dirty ? "Not saved yet: kept as a draft in this tab (s saves)." : "", "muted");
    this.onChange(this);
  }

  restoreDraft() {
    const text = sessionStorage.getItem(this.key);
    if (!text) return;
    try { this.apply(JSON.parse(text)); } catch { sessionStorage.removeItem(this.key); return; }
    this.form.dataset.dirty = this.dirty ? "1" : "0";
    this.form.dataset.draft = "restored";
    if (this.dirty) this.say("Draft restored: these changes are not saved yet (s saves, or discard).", "warn", true);
  }

  discard() {
    sessionStorage.removeItem(this.key);
    this.apply(JSON.parse(this.baseline));
    this.changed();
  }

  say(text, cls, withDiscard = false) {
    this.status.textContent = text;
    this.status.className = cls || "";
    if (withDiscard) {
      const button = document.createElement("button");
      button.type = "button"; button.textContent = "discard draft"; button.id = "discard-draft";
      button.addEventListener("click", () => this.discard());
      this.status.append(" ", button);
    }
  }

  showCursor() {
    this.rows.forEach((row, i) => row.classList.toggle("cursor", i === this.cursor));
    this.form.dataset.cursor = this.rows[this.cursor]?.dataset.region || "";
  }

  move(delta) {
    this.cursor = (this.cursor + delta + this.rows.length) % this.rows.length;
    this.showCursor();
  }

  // Set the cursor's region (or every region) to one of agree / 1 / u / 0.
  choose(value, all = false) {
    const rows = all ? this.rows : [this.rows[this.cursor]];
    for (const row of rows) {
      const input = row.querySelector(`input[value="${value}"]`);
      if (input && !input.disabled) input.checked = true;
    }
    if (!all && this.cursor < this.rows.length - 1) this.move(1);
    this.changed();
  }

  toggleRead() { const box = this.field("mark_read"); box.checked = !box.checked; this.changed(); }

  setRatio(ratio, widths) {
    this.field("cardiothoracic_ratio").value = ratio === null ? "" : ratio.toFixed(4);
    this.field("ctr_widths").value = ratio === null ? "" : JSON.stringify(widths);
    this.changed();
  }

  missing() {
    return this.rows.filter((row) => !row.querySelector("input[type=radio]:checked")).map((row) => row.dataset.region);
  }

  // Save through the JSON API; with `andNext` also mark read and go to the next film of the list.
  async save(andNext) {
    const missing = this.missing();
    if (missing.length) {
      this.say(`Choose a verdict for ${missing.join(", ")} first (a agree, x abnormal, u uncertain, o normal).`, "error");
      return;
    }
    if (andNext) this.field("mark_read").checked = true;
    const body = new FormData(this.form);
    body.set("and_next", andNext ? "1" : "0");
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    let res;
    try {
      res = await fetch(this.form.action, { method: "POST", body, credentials: "same-origin", headers: { "X-CSRF-Token": csrf, Accept: "application/json" } });
    } catch (err) {
      this.say(`Not saved: ${err} (the draft is kept).`, "error");
      return;
    }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) { this.say(`Not saved: ${data.detail || res.status} (the draft is kept).`, "error"); return; }
    sessionStorage.removeItem(this.key);
    this.baseline = JSON.stringify(this.snapshot());
    this.form.dataset.dirty = "0";
    this.say("Verdict saved.", "ok");
    this.onSaved(data);
    if (andNext) {
      if (data.next_url) window.location.href = data.next_url;
      else this.say("Verdict saved. This was the last film of the list.", "ok");
    }
  }
}

export { CHOICES };
