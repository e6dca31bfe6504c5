// Windowing the film's own values (DICOM PS3.3 C.11.2): a table from every stored code to a screen
// grey, built from the film's header (value = code * slope + intercept) and one view:
//   {kind: "window", center, width, function: LINEAR | LINEAR_EXACT | SIGMOID}
//   {kind: "lut", lut: {first, data}}  (a VOI LUT Sequence item, shown from its lowest to its highest entry)
// The formulas are pydicom's apply_windowing / apply_voi (the display PNG is made with them), so the
// default view matches it grey level for grey level; MONOCHROME1 is shown inverted.
"use strict";

// 0..1 for one modality value under a window.
export function windowed(value, win) {
  const c = win.center, w = win.width;
  if (win.function === "SIGMOID") return 1 / (1 + Math.exp((-4 * (value - c)) / w));
  let t;
  if (win.function === "LINEAR_EXACT") {
    t = (value - c) / w + 0.5;
  } else { // LINEAR: centre - 0.5, width - 1
    if (value <= c - 0.5 - (w - 1) / 2) return 0;
    if (value > c - 0.5 + (w - 1) / 2) return 1;
    t = (value - (c - 0.5)) / (w - 1) + 0.5;
  }
  return t < 0 ? 0 : t > 1 ? 1 : t;
}

function lutUnit(lut) {
  let lo = Infinity, hi = -Infinity;
  for (const v of lut.data) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const span = hi > lo ? hi - lo : 1;
  const last = lut.data.length - 1;
  return (value) => {
    let i = Math.round(value) - lut.first;
    i = i < 0 ? 0 : i > last ? last : i;
    return (lut.data[i] - lo) / span;
  };
}

// A Uint32Array of packed opaque RGBA greys (little-endian), one per code 0 .. 2^bits - 1.
export function screenTable(header, view, invert, bits) {
  const size = 1 << bits;
  const table = new Uint32Array(size);
  const unit = view.kind === "lut" ? lutUnit(view.lut) : (v) => windowed(v, view);
  const flip = (header.photometric === "MONOCHROME1") !== Boolean(invert);
  const slope = header.slope, intercept = header.intercept;
  for (let code = 0; code < size; code++) {
    let g = Math.round(unit(code * slope + intercept) * 255);
    if (flip) g = 255 - g;
    table[code] = 0xff000000 | (g << 16) | (g << 8) | g;
  }
  return table;
}

// The views a film offers: its own windows and VOI LUTs, then the presets; each {key, name, view}.
export function viewsOf(header) {
  const out = [];
  for (const w of header.windows) out.push({ key: w.key, name: `File: ${w.name}`, view: { kind: "window", ...w } });
  for (const lut of header.luts) out.push({ key: lut.key, name: `File: ${lut.name}`, view: { kind: "lut", lut } });
  for (const p of header.presets) out.push({ key: p.key, name: p.name, view: { kind: "window", ...p } });
  return out;
}

// A window over the same values as a view, to start a manual adjustment from (a LUT: its input range).
export function asWindow(view) {
  if (view.kind !== "lut") return { kind: "window", center: view.center, width: view.width, function: view.function };
  const n = view.lut.data.length;
  return { kind: "window", center: view.lut.first + n / 2, width: n, function: "LINEAR_EXACT" };
}
