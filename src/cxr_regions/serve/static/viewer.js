// Viewer: the film on a canvas with zoom (wheel), pan (drag), window/level (right- or shift-drag),
// invert, per-region heatmap overlays with an opacity slider, keyboard shortcuts, live status.
"use strict";
(function () {
  const root = document.getElementById("viewer");
  const filmId = root.dataset.film;
  const canvas = document.getElementById("film-canvas");
  const wrap = document.getElementById("canvas-wrap");
  const ctx = canvas.getContext("2d");
  const readout = document.getElementById("wl-readout");
  const opacity = document.getElementById("opacity");
  const toggles = Array.from(document.querySelectorAll(".overlay-toggle"));
  const state = { scale: 1, x: 0, y: 0, level: 127.5, width: 255, invert: false, overlays: {}, ready: false };
  window.viewerState = state;

  const image = new Image();
  const base = document.createElement("canvas");
  const shown = document.createElement("canvas");
  let pixels = null;
  const heat = {};

  image.onload = () => {
    base.width = shown.width = image.naturalWidth;
    base.height = shown.height = image.naturalHeight;
    const bctx = base.getContext("2d");
    bctx.drawImage(image, 0, 0);
    pixels = bctx.getImageData(0, 0, base.width, base.height);
    applyWindow();
    fit();
    state.ready = true;
    canvas.dataset.ready = "1";
  };
  image.src = `/films/${filmId}/image.png`;

  function applyWindow() {
    if (!pixels) return;
    const lut = new Uint8ClampedArray(256);
    const lo = state.level - state.width / 2;
    for (let v = 0; v < 256; v++) {
      let out = ((v - lo) / state.width) * 255;
      out = Math.max(0, Math.min(255, out));
      lut[v] = state.invert ? 255 - out : out;
    }
    const src = pixels.data;
    const dst = new ImageData(pixels.width, pixels.height);
    const d = dst.data;
    for (let i = 0; i < src.length; i += 4) { const g = lut[src[i]]; d[i] = d[i + 1] = d[i + 2] = g; d[i + 3] = 255; }
    shown.getContext("2d").putImageData(dst, 0, 0);
    readout.textContent = `W ${Math.round(state.width)} L ${Math.round(state.level)}${state.invert ? " · inverted" : ""}`;
    canvas.dataset.window = `${Math.round(state.width)}/${Math.round(state.level)}/${state.invert ? 1 : 0}`;
    draw();
  }

  function resize() {
    const r = wrap.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(r.width * dpr));
    canvas.height = Math.max(1, Math.round(r.height * dpr));
    draw();
  }

  function fit() {
    const r = wrap.getBoundingClientRect();
    if (!base.width) return;
    state.scale = Math.min(r.width / base.width, r.height / base.height);
    state.x = (r.width - base.width * state.scale) / 2;
    state.y = (r.height - base.height * state.scale) / 2;
    draw();
  }

  function draw() {
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!base.width) return;
    ctx.setTransform(dpr * state.scale, 0, 0, dpr * state.scale, dpr * state.x, dpr * state.y);
    ctx.imageSmoothingEnabled = state.scale < 1;
    ctx.drawImage(shown, 0, 0);
    ctx.globalAlpha = Number(opacity.value) / 100;
    for (const [key, on] of Object.entries(state.overlays)) {
      if (on && heat[key] && heat[key].complete) ctx.drawImage(heat[key], 0, 0, base.width, base.height);
    }
    ctx.globalAlpha = 1;
    canvas.dataset.scale = state.scale.toFixed(4);
    canvas.dataset.overlays = Object.keys(state.overlays).filter((k) => state.overlays[k]).join(" ");
  }

  function setOverlay(key, on) {
    state.overlays[key] = on;
    const box = document.getElementById(`ov-${key}`);
    if (box) box.checked = on;
    if (on && !heat[key]) {
      const img = new Image();
      img.onload = () => { canvas.dataset.loaded = (canvas.dataset.loaded || "") + ` ${key}`; draw(); };
      img.src = `/films/${filmId}/heatmaps/${key}.png`;
      heat[key] = img;
    }
    draw();
  }

  toggles.forEach((box) => box.addEventListener("change", () => setOverlay(box.dataset.region, box.checked)));
  opacity.addEventListener("input", draw);

  // zoom around the cursor
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = canvas.getBoundingClientRect();
    const mx = e.clientX - r.left, my = e.clientY - r.top;
    const factor = Math.exp(-e.deltaY * 0.0015);
    const next = Math.max(0.05, Math.min(40, state.scale * factor));
    state.x = mx - ((mx - state.x) * next) / state.scale;
    state.y = my - ((my - state.y) * next) / state.scale;
    state.scale = next;
    draw();
  }, { passive: false });

  let drag = null;
  canvas.addEventListener("contextmenu", (e) => e.preventDefault());
  canvas.addEventListener("pointerdown", (e) => {
    canvas.setPointerCapture(e.pointerId);
    const windowing = e.button === 2 || e.shiftKey;
    drag = { windowing, x: e.clientX, y: e.clientY, level: state.level, width: state.width, px: state.x, py: state.y };
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (drag.windowing) {
      state.width = Math.max(1, Math.min(510, drag.width + dx));
      state.level = Math.max(0, Math.min(255, drag.level + dy));
      requestAnimationFrame(applyWindow);
    } else {
      state.x = drag.px + dx; state.y = drag.py + dy;
      draw();
    }
  });
  const end = () => { drag = null; };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  function resetWindow() { state.level = 127.5; state.width = 255; state.invert = false; applyWindow(); }
  document.getElementById("reset-wl").addEventListener("click", resetWindow);
  document.getElementById("invert").addEventListener("click", () => { state.invert = !state.invert; applyWindow(); });
  document.getElementById("fit").addEventListener("click", fit);

  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input[type=text], textarea, select") || e.ctrlKey || e.metaKey || e.altKey) return;
    const k = e.key.toLowerCase();
    if (k === "n" || k === "p") {
      const link = document.getElementById(k === "n" ? "next" : "prev");
      if (link) window.location.href = link.href;
    } else if (k >= "1" && k <= String(toggles.length)) {
      const box = toggles[Number(k) - 1];
      setOverlay(box.dataset.region, !box.checked);
    } else if (k === "h") {
      toggles.forEach((box) => setOverlay(box.dataset.region, false));
    } else if (k === "w" || k === "l") {
      resetWindow();
    } else if (k === "i") {
      state.invert = !state.invert; applyWindow();
    } else if (k === "f") {
      fit();
    } else {
      return;
    }
    e.preventDefault();
  });

  window.addEventListener("resize", () => { resize(); });
  resize();

  // a film still with the model: poll until its probabilities are stored, then show them
  if (["queued", "processing"].includes(root.dataset.status)) {
    const timer = setInterval(async () => {
      const res = await fetch(`/api/films/${filmId}`, { credentials: "same-origin" });
      if (!res.ok) return;
      const data = await res.json();
      document.getElementById("proc-status").textContent = data.status;
      if (data.status === "ready" || data.status === "failed") { clearInterval(timer); window.location.reload(); }
    }, 1000);
  }
})();
