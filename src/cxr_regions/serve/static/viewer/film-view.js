// One film on a canvas: loaded as a downscaled first frame (large films) and then at its own bit depth,
// windowed here from its own values, drawn with zoom and pan, always at its own aspect: the canvas's
// drawing buffer follows its box through a ResizeObserver (a toolbar that wraps, a pane that opens).
"use strict";

import { decodeGrayPng } from "../png.js";
import { asWindow, screenTable, viewsOf } from "./windowing.js";

const MIN_SCALE = 0.02, MAX_SCALE = 40;

// Decode a PNG in a worker (module workers are same-origin files: script-src 'self' covers them), or
// here where a worker cannot start.
function decode(buffer) {
  let worker;
  try {
    worker = new Worker(new URL("../png-worker.js", import.meta.url), { type: "module" });
  } catch {
    return decodeGrayPng(buffer);
  }
  return new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => { worker.terminate(); data.error ? reject(new Error(data.error)) : resolve(data.png); };
    worker.onerror = (event) => { worker.terminate(); event.preventDefault(); decodeGrayPng(buffer).then(resolve, reject); };
    worker.postMessage(buffer);
  });
}

export class FilmView {
  // film: {width, height, depth (header), full_depth_url, display_url, first_frame_url}
  constructor(canvas, film, { onDraw = () => {}, onChange = () => {} } = {}) {
    this.canvas = canvas;
    this.wrap = canvas.parentElement;
    this.ctx = canvas.getContext("2d");
    this.film = film;
    this.header = film.depth;
    this.width = film.width;
    this.height = film.height;
    this.onDraw = onDraw; // (ctx, view) => extra drawing in film coordinates (tools)
    this.onChange = onChange; // () => readouts
    this.views = viewsOf(this.header);
    this.viewKey = this.header.default;
    this.view = this.views.find((v) => v.key === this.viewKey)?.view || this.views[0].view;
    this.invert = false;
    this.scale = 1; this.x = 0; this.y = 0; this.fitted = true;
    this.values = null; // Uint8Array | Uint16Array at full resolution
    this.bits = 16;
    this.frame = null; // what is drawn: a canvas (values windowed) or an image (first frame)
    this.overlays = []; // [{image, alpha}]
    this.css = { w: 0, h: 0 };
    this.times = {}; // ms since the page's navigation began: firstFrame, fullDepth (benchmarks/viewer_speed.py)
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(this.wrap);
    this.resize();
  }

  // Load: the first frame at once where there is one, then the values (full depth, or the display PNG
  // of a picture), fetched and decoded (in a worker) at the same time, drawn once the first frame is.
  // Resolves when the values are drawn.
  async load() {
    const source = this.film.full_depth_url || this.film.display_url;
    const decoded = fetch(source, { credentials: "same-origin" }).then((response) => {
      if (!response.ok) throw new Error(`the film's values did not load (${response.status})`);
      return response.arrayBuffer();
    }).then(decode);
    decoded.catch(() => {}); // reported below, after the first frame
    if (this.film.first_frame_url) await this.loadFirstFrame(this.film.first_frame_url).catch(() => {});
    const png = await decoded;
    if (png.width !== this.width || png.height !== this.height) throw new Error("the film's values have another size than the film");
    this.values = png.data;
    this.bits = png.depth;
    this.render();
    this.times.fullDepth = performance.now();
    this.times.firstFrame ??= this.times.fullDepth;
    this.canvas.dataset.fullDepth = "1";
    return this;
  }

  async loadFirstFrame(url) {
    const blob = await (await fetch(url, { credentials: "same-origin" })).blob();
    const image = await createImageBitmap(blob);
    this.frame = image;
    this.frameScale = this.width / image.width;
    this.draw();
    this.times.firstFrame = performance.now();
    this.canvas.dataset.firstFrame = "1";
  }

  // --- windowing -------------------------------------------------------------------------------------

  setView(key) {
    const found = this.views.find((v) => v.key === key);
    if (!found) return;
    this.viewKey = key;
    this.view = found.view;
    this.render();
  }

  setWindow(center, width) {
    const base = asWindow(this.view);
    this.view = { ...base, center, width: Math.max(width, 1) };
    this.viewKey = "custom";
    this.render();
  }

  currentWindow() { return asWindow(this.view); }

  reset() {
    this.invert = false;
    this.setView(this.header.default);
    this.fit();
  }

  render() {
    if (!this.values) { this.onChange(); return; }
    const table = screenTable(this.header, this.view, this.invert, this.bits);
    if (!this.buffer) {
      this.buffer = document.createElement("canvas");
      this.buffer.width = this.width; this.buffer.height = this.height;
      this.image = new ImageData(this.width, this.height);
      this.pixels32 = new Uint32Array(this.image.data.buffer);
    }
    const out = this.pixels32, values = this.values;
    for (let i = 0; i < values.length; i++) out[i] = table[values[i]];
    this.buffer.getContext("2d").putImageData(this.image, 0, 0);
    this.frame = this.buffer;
    this.frameScale = 1;
    this.draw();
    this.onChange();
  }

  // The modality value at film pixel (x, y), or null outside the film or before the values loaded.
  valueAt(x, y) {
    if (!this.values || x < 0 || y < 0 || x >= this.width || y >= this.height) return null;
    return this.values[y * this.width + x] * this.header.slope + this.header.intercept;
  }

  // --- geometry --------------------------------------------------------------------------------------

  resize() {
    const box = this.wrap.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    if (box.width < 1 || box.height < 1) return;
    const centre = this.toFilm(this.css.w / 2, this.css.h / 2);
    this.css = { w: box.width, h: box.height };
    this.canvas.style.width = `${box.width}px`;
    this.canvas.style.height = `${box.height}px`;
    this.canvas.width = Math.max(1, Math.round(box.width * dpr));
    this.canvas.height = Math.max(1, Math.round(box.height * dpr));
    if (this.fitted || !this.placed) this.fit(); else this.centreOn(centre.x, centre.y);
    this.placed = true;
  }

  fit() {
    this.scale = Math.min(this.css.w / this.width, this.css.h / this.height);
    this.x = (this.css.w - this.width * this.scale) / 2;
    this.y = (this.css.h - this.height * this.scale) / 2;
    this.fitted = true;
    this.draw();
  }

  // One film pixel per screen (device) pixel, around the view's centre.
  actualSize() { this.zoomTo(1 / (window.devicePixelRatio || 1), this.css.w / 2, this.css.h / 2); }

  zoomBy(factor, cx = this.css.w / 2, cy = this.css.h / 2) { this.zoomTo(this.scale * factor, cx, cy); }

  zoomTo(scale, cx, cy) {
    const next = Math.max(MIN_SCALE, Math.min(MAX_SCALE, scale));
    this.x = cx - ((cx - this.x) * next) / this.scale;
    this.y = cy - ((cy - this.y) * next) / this.scale;
    this.scale = next;
    this.fitted = false;
    this.draw();
  }

  panBy(dx, dy) { this.x += dx; this.y += dy; this.fitted = false; this.draw(); }

  centreOn(fx, fy) {
    this.x = this.css.w / 2 - fx * this.scale;
    this.y = this.css.h / 2 - fy * this.scale;
    this.draw();
  }

  // Canvas CSS pixels <-> film pixels.
  toFilm(cx, cy) { return { x: (cx - this.x) / this.scale, y: (cy - this.y) / this.scale }; }
  toCanvas(fx, fy) { return { x: this.x + fx * this.scale, y: this.y + fy * this.scale }; }

  // Film pixels per screen pixel x 100: 100% is 1:1.
  zoomPercent() { return this.scale * (window.devicePixelRatio || 1) * 100; }

  // --- drawing ---------------------------------------------------------------------------------------

  draw() {
    const dpr = window.devicePixelRatio || 1;
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    // at 1:1 the film starts on a whole device pixel, so each film pixel is exactly one screen pixel
    const exact = Math.abs(this.scale * dpr - 1) < 1e-9;
    const tx = exact ? Math.round(dpr * this.x) : dpr * this.x, ty = exact ? Math.round(dpr * this.y) : dpr * this.y;
    if (this.frame) {
      ctx.setTransform(dpr * this.scale, 0, 0, dpr * this.scale, tx, ty);
      ctx.imageSmoothingEnabled = this.scale * dpr < 1 || this.frameScale !== 1;
      ctx.drawImage(this.frame, 0, 0, this.width, this.height);
      for (const overlay of this.overlays) {
        ctx.globalAlpha = overlay.alpha;
        ctx.drawImage(overlay.image, 0, 0, this.width, this.height);
      }
      ctx.globalAlpha = 1;
      this.onDraw(ctx, this);
    }
    const c = this.canvas.dataset;
    c.scale = this.scale.toFixed(4);
    c.zoom = this.zoomPercent().toFixed(1);
    c.drawn = [tx / dpr, ty / dpr, this.width * this.scale, this.height * this.scale].map((v) => v.toFixed(2)).join(",");
    if (this.frame) c.ready = "1";
    this.onChange();
  }

  destroy() { this.observer.disconnect(); }
}
