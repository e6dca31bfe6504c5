// Measurements on the film, kept in film pixels: a ruler (mm where the film has a pixel spacing,
// "at the detector" for Imager Pixel Spacing, pixels otherwise) and the cardiothoracic ratio (two
// horizontal widths: the heart's, then the thorax's).
"use strict";

export class Measurements {
  // spacing: {row_mm, column_mm, at} | null; onChange(measurements)
  constructor(spacing, onChange) {
    this.spacing = spacing;
    this.onChange = onChange;
    this.tool = null; // "ruler" | "ctr" | null
    this.ruler = null; // {x1, y1, x2, y2}
    this.ctr = { heart: null, thorax: null };
    this.dragging = null;
  }

  // Length of a segment in film pixels: {mm, px, text}.
  length(x1, y1, x2, y2) {
    const dx = x2 - x1, dy = y2 - y1;
    const px = Math.hypot(dx, dy);
    if (!this.spacing) return { mm: null, px, text: `${px.toFixed(1)} px (no pixel spacing)` };
    const mm = Math.hypot(dx * this.spacing.column_mm, dy * this.spacing.row_mm);
    return { mm, px, text: `${mm.toFixed(1)} mm${this.spacing.at === "detector" ? " at the detector" : ""}` };
  }

  ratio() {
    const { heart, thorax } = this.ctr;
    if (!heart || !thorax) return null;
    const h = Math.abs(heart.x2 - heart.x1), t = Math.abs(thorax.x2 - thorax.x1);
    return t > 0 && h > 0 && h <= t ? h / t : null;
  }

  choose(tool) {
    this.tool = this.tool === tool ? null : tool;
    if (this.tool === "ctr") this.ctr = { heart: null, thorax: null };
    this.onChange(this);
  }

  clear() {
    this.ruler = null;
    this.ctr = { heart: null, thorax: null };
    this.tool = null;
    this.onChange(this);
  }

  // Pointer events in film coordinates; true when the tool took the event.
  down(p) {
    if (this.tool === "ruler") {
      this.ruler = { x1: p.x, y1: p.y, x2: p.x, y2: p.y };
      this.dragging = this.ruler;
    } else if (this.tool === "ctr") {
      const width = { x1: p.x, y1: p.y, x2: p.x, y2: p.y };
      if (!this.ctr.heart || this.ctr.thorax) this.ctr = { heart: width, thorax: null };
      else this.ctr.thorax = width;
      this.dragging = width;
    } else {
      return false;
    }
    return true;
  }

  move(p) {
    if (!this.dragging) return false;
    this.dragging.x2 = p.x;
    this.dragging.y2 = this.tool === "ctr" ? this.dragging.y1 : p.y; // widths are horizontal
    this.onChange(this);
    return true;
  }

  up() {
    if (!this.dragging) return false;
    this.dragging = null;
    if (this.tool === "ctr" && this.ctr.thorax) this.tool = null; // both widths drawn
    this.onChange(this);
    return true;
  }

  // Saved widths ({heart: [x1, y, x2, y], thorax: [...]}) back on the film.
  restore(widths) {
    const seg = (a) => (Array.isArray(a) && a.length === 4 ? { x1: a[0], y1: a[1], x2: a[2], y2: a[3] } : null);
    this.ctr = { heart: seg(widths?.heart), thorax: seg(widths?.thorax) };
  }

  widths() {
    const arr = (s) => (s ? [s.x1, s.y1, s.x2, s.y2].map((v) => Math.round(v * 10) / 10) : null);
    return { heart: arr(this.ctr.heart), thorax: arr(this.ctr.thorax) };
  }

  draw(ctx, view) {
    const lw = 2 / view.scale;
    ctx.lineWidth = lw;
    ctx.font = `${14 / view.scale}px system-ui, sans-serif`;
    const line = (s, colour, label) => {
      if (!s) return;
      ctx.strokeStyle = colour; ctx.fillStyle = colour;
      ctx.beginPath(); ctx.moveTo(s.x1, s.y1); ctx.lineTo(s.x2, s.y2); ctx.stroke();
      for (const [x, y] of [[s.x1, s.y1], [s.x2, s.y2]]) { ctx.beginPath(); ctx.arc(x, y, 3 * lw, 0, 2 * Math.PI); ctx.fill(); }
      ctx.textAlign = "center"; // above the middle of the line: inside the film wherever the line lies
      ctx.fillText(label, (s.x1 + s.x2) / 2, Math.min(s.y1, s.y2) - 6 * lw);
      ctx.textAlign = "start";
    };
    if (this.ruler) line(this.ruler, "#ffd400", this.length(this.ruler.x1, this.ruler.y1, this.ruler.x2, this.ruler.y2).text);
    const { heart, thorax } = this.ctr;
    if (heart) line(heart, "#ff5b5b", `heart ${this.length(heart.x1, heart.y1, heart.x2, heart.y2).text}`);
    if (thorax) line(thorax, "#5bc0ff", `thorax ${this.length(thorax.x1, thorax.y1, thorax.x2, thorax.y2).text}`);
  }
}
