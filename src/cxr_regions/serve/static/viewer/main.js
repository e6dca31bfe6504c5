// The viewer page: the film (FilmView) with presets, window/level, zoom, 1:1, the pixel value under
// the cursor, heatmap overlays in each region's colour with a legend, the ruler and the
// cardiothoracic ratio, the verdict by keyboard, the patient's earlier films beside it, the model's
// result as soon as it is ready, and the next film loaded ahead.
"use strict";

import { FilmView } from "./film-view.js";
import { Measurements } from "./tools.js";
import { VerdictForm } from "./verdict.js";

const data = JSON.parse(document.getElementById("viewer-data").textContent);
const $ = (id) => document.getElementById(id);
const canvas = $("film-canvas");
const presetBox = $("preset");
const form = new VerdictForm($("verdict-form"), {
  filmId: data.id, reader: data.reader,
  onSaved: (saved) => { $("read-state").textContent = saved.read ? "read" : "new"; $("read-state").className = `state ${saved.read ? "read" : "new"}`; },
});

let view = null; // set below; its constructor already draws (and calls showView)
const measure = new Measurements(data.depth.spacing, () => { showMeasure(); view?.draw(); });
view = new FilmView(canvas, data, { onDraw: (ctx, v) => measure.draw(ctx, v), onChange: () => showView() });
window.filmViewer = { view, measure, form }; // for benchmarks/viewer_speed.py and the console

// --- loading, then the next film ahead ---------------------------------------------------------------
view.load().then(() => {
  if (data.mine?.measurements) { measure.restore(data.mine.measurements); view.draw(); showMeasure(); }
  preload(data.next);
}).catch((err) => { $("load-error").textContent = `The film could not be shown: ${err.message}`; });

function preload(next) {
  if (!next) return;
  for (const url of [next.first_frame_url, next.full_depth_url || next.display_url]) {
    // X-Purpose: the audit trail records these as loaded ahead, not as opened by the reader
    if (url) fetch(url, { credentials: "same-origin", priority: "low", headers: { "X-Purpose": "preload" } }).then((r) => r.blob()).catch(() => {});
  }
}

// --- readouts ------------------------------------------------------------------------------------------
for (const v of view.views) presetBox.add(new Option(v.name, v.key));
presetBox.add(new Option("custom (dragged or typed)", "custom"));
showView();

function showView() {
  if (!view || !presetBox.options.length) return;
  const w = view.currentWindow();
  presetBox.value = view.viewKey;
  if (document.activeElement !== $("ww")) $("ww").value = Math.round(w.width);
  if (document.activeElement !== $("wl")) $("wl").value = Math.round(w.center);
  const lut = view.view.kind === "lut";
  $("wl-readout").textContent = `${lut ? "VOI LUT" : `W ${Math.round(w.width)} L ${Math.round(w.center)}`}${view.invert ? " · inverted" : ""}`;
  $("zoom-readout").textContent = `zoom ${view.zoomPercent().toFixed(0)}%${view.fitted ? " (fit)" : ""}`;
  canvas.dataset.window = `${Math.round(w.width)}/${Math.round(w.center)}/${view.invert ? 1 : 0}`;
  canvas.dataset.preset = view.viewKey;
}

function showMeasure() {
  const out = [];
  if (measure.ruler) {
    const r = measure.ruler, len = measure.length(r.x1, r.y1, r.x2, r.y2);
    out.push(`ruler ${len.text}`);
    canvas.dataset.rulerMm = len.mm === null ? "" : len.mm.toFixed(2);
    canvas.dataset.rulerPx = len.px.toFixed(2);
  }
  const ratio = measure.ratio();
  if (ratio !== null) out.push(`cardiothoracic ratio ${ratio.toFixed(2)}`);
  else if (measure.tool === "ctr") out.push(measure.ctr.heart ? "now drag the thorax's widest inner width" : "drag the heart's widest width");
  $("measure-readout").textContent = out.join(" · ") || (measure.tool ? `${measure.tool === "ruler" ? "ruler" : "cardiothoracic ratio"}: drag on the film` : "");
  $("tool-ruler").classList.toggle("on", measure.tool === "ruler");
  $("tool-ctr").classList.toggle("on", measure.tool === "ctr");
  const saved = form.field("cardiothoracic_ratio").value;
  $("ctr-value").textContent = saved ? Number(saved).toFixed(2) : "none";
}
showMeasure();

// --- pointer: pan, window/level, tools, value under the cursor ------------------------------------------
let drag = null;
const local = (e) => { const r = canvas.getBoundingClientRect(); return { x: e.clientX - r.left, y: e.clientY - r.top }; };
canvas.addEventListener("contextmenu", (e) => e.preventDefault());
canvas.addEventListener("wheel", (e) => { e.preventDefault(); const p = local(e); view.zoomBy(Math.exp(-e.deltaY * 0.0015), p.x, p.y); }, { passive: false });
canvas.addEventListener("pointerdown", (e) => {
  canvas.setPointerCapture(e.pointerId);
  const p = local(e);
  const windowing = e.button === 2 || e.shiftKey;
  if (!windowing && e.button === 0 && measure.down(view.toFilm(p.x, p.y))) { drag = { tool: true }; return; }
  const w = view.currentWindow();
  drag = { windowing, x: p.x, y: p.y, center: w.center, width: w.width };
});
canvas.addEventListener("pointermove", (e) => {
  const p = local(e);
  const f = view.toFilm(p.x, p.y);
  const fx = Math.floor(f.x), fy = Math.floor(f.y), value = view.valueAt(fx, fy);
  $("pixel-readout").textContent = value === null ? "" : `x ${fx} y ${fy}: ${Number.isInteger(value) ? value : value.toFixed(2)}`;
  canvas.dataset.pixel = value === null ? "" : `${fx},${fy},${value}`;
  if (!drag) return;
  if (drag.tool) { measure.move(f); return; }
  if (drag.windowing) {
    const range = data.depth.value_range[1] - data.depth.value_range[0] || 255;
    const step = range / 500; // the whole range over 500 screen pixels
    view.setWindow(drag.center - (p.y - drag.y) * step, drag.width + (p.x - drag.x) * step);
  } else {
    view.panBy(p.x - drag.x, p.y - drag.y);
    drag.x = p.x; drag.y = p.y;
  }
});
const end = () => {
  if (drag?.tool) {
    const ratioTool = measure.tool === "ctr";
    measure.up();
    if (ratioTool && measure.ctr.thorax) { // both widths drawn: the verdict's ratio (none if heart >= thorax)
      form.setRatio(measure.ratio(), measure.widths());
      showMeasure();
    }
  }
  drag = null;
};
canvas.addEventListener("pointerup", end);
canvas.addEventListener("pointercancel", end);
canvas.addEventListener("pointerleave", () => { $("pixel-readout").textContent = ""; });

// --- toolbar -----------------------------------------------------------------------------------------------
presetBox.addEventListener("change", () => { if (presetBox.value !== "custom") view.setView(presetBox.value); });
for (const id of ["ww", "wl"]) {
  $(id).addEventListener("change", () => view.setWindow(Number($("wl").value), Number($("ww").value)));
}
const cyclePreset = (delta) => {
  const keys = view.views.map((v) => v.key);
  const i = keys.indexOf(view.viewKey);
  view.setView(keys[(i + delta + keys.length) % keys.length] ?? keys[0]);
};
const actions = {
  invert: () => { view.invert = !view.invert; view.render(); },
  reset: () => view.reset(),
  window: () => view.setView(data.depth.default),
  fit: () => view.fit(),
  actual: () => view.actualSize(),
  zoomIn: () => view.zoomBy(1.25),
  zoomOut: () => view.zoomBy(0.8),
  ruler: () => measure.choose("ruler"),
  ctr: () => measure.choose("ctr"),
  clear: () => { measure.clear(); form.setRatio(null, null); },
};
$("save-next").addEventListener("click", () => form.save(true));
document.querySelectorAll("[data-action]").forEach((b) => b.addEventListener("click", () => actions[b.dataset.action]()));

// --- overlays and legend ------------------------------------------------------------------------------------
const heat = {};
const toggles = Array.from(document.querySelectorAll(".overlay-toggle"));
const opacity = $("opacity");
function setOverlay(key, on) {
  const box = $(`ov-${key}`);
  if (box) box.checked = on;
  if (on && !heat[key]) {
    const img = new Image();
    img.onload = () => { canvas.dataset.loaded = `${canvas.dataset.loaded || ""} ${key}`; showOverlays(); };
    img.onerror = () => { $("load-error").textContent = `No ${key} heatmap: the model cannot read this film yet.`; };
    img.src = `/films/${data.id}/heatmaps/${key}.png`;
    heat[key] = img;
  }
  showOverlays();
}
function showOverlays() {
  const on = toggles.filter((b) => b.checked).map((b) => b.dataset.region);
  const alpha = Number(opacity.value) / 100;
  view.overlays = on.filter((k) => heat[k]?.complete && heat[k].naturalWidth).map((k) => ({ image: heat[k], alpha }));
  canvas.dataset.overlays = on.join(" ");
  const legend = $("legend");
  legend.replaceChildren(...on.map((k) => {
    const r = data.regions.find((x) => x.key === k);
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `dot r-${k}`; // the region's colour (regions.css)
    item.append(swatch, `${r.zh} ${r.en}`);
    return item;
  }));
  legend.hidden = on.length === 0;
  view.draw();
}
toggles.forEach((box) => box.addEventListener("change", () => setOverlay(box.dataset.region, box.checked)));
opacity.addEventListener("input", showOverlays);

// --- the patient's earlier film beside this one (b) -------------------------------------------------------
let prior = null;
async function togglePrior() {
  const stage = $("stage-panes");
  if (prior) { prior.destroy(); prior = null; stage.classList.remove("compare"); $("prior-pane").hidden = true; return; }
  const first = data.priors.find((p) => p.status !== "failed") || data.priors[0];
  if (!first) { $("measure-readout").textContent = "no other film of this patient"; return; }
  const info = await (await fetch(`/api/films/${first.id}`, { credentials: "same-origin" })).json();
  $("prior-pane").hidden = false;
  stage.classList.add("compare");
  $("prior-caption").textContent = `${info.accession || "(no accession)"}: ${first.when}`;
  prior = new FilmView($("prior-canvas"), { ...info, depth: info.full_depth });
  await prior.load();
}

// --- keys ------------------------------------------------------------------------------------------------
const keys = {
  n: () => data.next && (window.location.href = data.next.url),
  p: () => data.previous && (window.location.href = data.previous),
  h: () => toggles.forEach((b) => setOverlay(b.dataset.region, false)),
  w: actions.window, l: actions.window, i: actions.invert, " ": actions.reset, f: actions.fit, z: actions.actual,
  "+": actions.zoomIn, "=": actions.zoomIn, "-": actions.zoomOut, v: () => cyclePreset(1), V: () => cyclePreset(-1),
  m: actions.ruler, c: actions.ctr, Delete: actions.clear, Backspace: actions.clear,
  j: () => form.move(1), ArrowDown: () => form.move(1), k: () => form.move(-1), ArrowUp: () => form.move(-1),
  a: () => form.choose("agree"), A: () => form.choose("agree", true), x: () => form.choose("1"),
  u: () => form.choose("u"), o: () => form.choose("0"), 0: () => form.choose("0"),
  r: () => form.toggleRead(), s: () => form.save(false), Enter: () => form.save(true),
  e: () => form.field("note").focus(), b: togglePrior, "?": () => $("keys").scrollIntoView(),
  Escape: () => { if (measure.tool) measure.choose(measure.tool); },
};
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const typing = e.target.closest("textarea, input[type=text], input[type=number], select");
  if (typing) { if (e.key === "Escape") e.target.blur(); return; }
  if (e.key >= "1" && e.key <= String(toggles.length)) {
    const box = toggles[Number(e.key) - 1];
    setOverlay(box.dataset.region, !box.checked);
  } else if (keys[e.key]) {
    if ((e.key === "Enter" || e.key === " ") && e.target.closest("button, a, input[type=checkbox]")) return; // its own action
    keys[e.key]();
  } else {
    return;
  }
  e.preventDefault();
});

// --- a film the model has not read yet: show its result when it comes ---------------------------------------
if (["queued", "processing"].includes(data.status)) {
  const timer = setInterval(async () => {
    const res = await fetch(`/api/films/${data.id}`, { credentials: "same-origin" });
    if (!res.ok) return;
    const film = await res.json();
    $("proc-status").textContent = film.status;
    $("proc-status").className = `proc ${film.status}`;
    if (film.status !== "ready" && film.status !== "failed") return;
    clearInterval(timer);
    for (const r of film.regions) {
      const row = document.querySelector(`#regions tr[data-region="${r.key}"]`);
      row.querySelector(".p").textContent = r.p === null ? "…" : r.p.toFixed(3);
      row.querySelector(".call").innerHTML = r.call === "1" ? '<span class="chip pos">abnormal</span>' : r.call === "0" ? '<span class="chip">normal</span>' : "…";
      const agree = document.querySelector(`input[name="v_${r.key}"][value="agree"]`);
      if (agree && r.call !== null) agree.disabled = false;
    }
  }, 1000);
}
