"""Per-region abnormalities of the phantom: what each abnormal region gets, and how it is drawn.

A :class:`Finding` says what is wrong in one region (kind, the patient's side, lung zone,
severity). It changes the anatomy (a curved spine, a big heart, a raised dome...) and/or paints a
lesion (opacities, fractures, calcification, fluid). The report writer describes the same findings,
so the film and its report agree. Hedged regions (truth ``u``) get milder findings, still clearly
outside the normal range, so that a model can learn them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cxr_regions.phantom import anatomy as an
from cxr_regions.phantom import outlines as ol
from cxr_regions.regions import NORMAL, REGION_KEYS

if TYPE_CHECKING:
    from cxr_regions.phantom.painter import Painter

KINDS: dict[str, tuple[tuple[str, float], ...]] = {
    "thorax": (("scoliosis", 0.4), ("asymmetry", 0.25), ("fracture", 0.35)),
    "lungs": (("patchy", 0.4), ("nodule", 0.3), ("consolidation", 0.3)),
    "aorta": (("knob", 1.0),),
    "heart": (("enlarged", 1.0),),
    "diaphragm": (("blunted", 0.35), ("effusion", 0.4), ("raised", 0.25)),
}
ZONE_FRACTION = {"upper": (0.12, 0.3), "middle": (0.38, 0.55), "lower": (0.62, 0.8)}


@dataclass
class Finding:
    """One abnormality: region, truth value (1 or u), kind, patient side, lung zone, severity."""

    region: str
    value: str
    kind: str
    side: str | None = None
    zone: str | None = None
    severity: float = 1.0
    detail: dict[str, Any] = field(default_factory=dict)


def _choice(rng: np.random.Generator, options: tuple[tuple[str, float], ...]) -> str:
    names = [o for o, _ in options]
    weights = np.array([w for _, w in options], dtype=np.float64)
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def _side(rng: np.random.Generator, both: float = 0.0) -> str:
    r = rng.random()
    if r < both:
        return "both"
    return "right" if rng.random() < 0.55 else "left"


def sample_findings(rng: np.random.Generator, truth: dict[str, str]) -> list[Finding]:
    """A finding for every region whose truth is ``1`` or ``u`` (none for ``0``)."""
    out = []
    for key in REGION_KEYS:
        value = truth.get(key, NORMAL)
        if value == NORMAL:
            continue
        sev = float(rng.uniform(0.25, 0.55) if value == "u" else rng.uniform(0.5, 1.0))
        kind = _choice(rng, KINDS[key])
        f = Finding(key, value, kind, severity=sev)
        if kind == "scoliosis":
            f.side = _side(rng)
            f.detail["waves"] = 1 if rng.random() < 0.6 else 2
        elif kind == "asymmetry":
            f.side = _side(rng)
        elif kind == "fracture":
            f.side = _side(rng)
            first = int(rng.integers(3, 7))
            count = int(rng.integers(1, 3)) if value == "u" else int(rng.integers(2, 5))
            f.detail["ribs"] = list(range(first, first + count))
            f.detail["old"] = bool(rng.random() < 0.6)
            f.detail["t"] = [float(rng.uniform(0.68, 0.9)) for _ in range(count)]
        elif key == "lungs":
            f.side = _side(rng, both=0.2 if kind == "patchy" else 0.0)
            f.zone = _choice(rng, (("upper", 0.3), ("middle", 0.25), ("lower", 0.45)))
            if kind == "nodule":
                count = 1 if (value == "u" or rng.random() < 0.65) else int(rng.integers(2, 4))
                f.detail["radii"] = [float(0.022 + 0.022 * sev * rng.uniform(0.8, 1.2)) for _ in range(count)]
                f.detail["size_cm"] = round(f.detail["radii"][0] * 2 * 40, 1)
        elif key == "aorta":
            prominent = value == "u" or rng.random() < 0.8
            f.detail["prominent"] = prominent
            f.detail["calcified"] = bool((not prominent) or rng.random() < 0.45)
            f.detail["tortuous"] = bool(rng.random() < 0.3)
        elif key == "heart":
            f.detail["ctr"] = round(0.51 + 0.16 * sev, 2)
            f.detail["shape"] = _choice(rng, (("global", 0.4), ("left_ventricular", 0.4), ("mitral", 0.2)))
        elif key == "diaphragm":
            f.side = _side(rng, both=0.25 if kind != "raised" else 0.0)
        out.append(f)
    return out


def _sides(f: Finding) -> list[int]:
    if f.side == "both":
        return [an.PATIENT_RIGHT, an.PATIENT_LEFT]
    return [an.image_side(f.side or "right")]


def apply_findings(a: an.Anatomy, findings: list[Finding]) -> an.Anatomy:
    """Anatomy changed by the findings that alter shape or size (a copy; ``a`` is left as it is)."""
    a = a.copy()
    for f in findings:
        s = _sides(f)[0]
        if f.kind == "scoliosis":
            amp = 0.04 + 0.04 * f.severity
            a.spine_amp = s * amp
            a.spine_waves = float(f.detail["waves"])
            a.spine_phase = 0.0
            a.cage_hw[s] += 0.7 * amp
            a.cage_hw[-s] -= 0.7 * amp
            a.rib_spacing[s] = 1.06
            a.rib_spacing[-s] = 0.86
        elif f.kind == "asymmetry":
            shrink = 0.13 + 0.14 * f.severity
            a.cage_hw[s] *= 1 - shrink
            a.rib_spacing[s] *= 1 - 0.7 * shrink
        elif f.region == "aorta":
            grow = 1.35 + 0.55 * f.severity if f.detail["prominent"] else 1.15 + 0.15 * f.severity
            a.knob_r *= grow
            a.knob_dx += 0.008 + 0.02 * f.severity * f.detail["prominent"]
            if f.detail["tortuous"]:  # the descending aorta bows out into the left lung
                a.aorta_bulge = 0.02 + 0.02 * f.severity
        elif f.region == "heart":
            a.ctr = f.detail["ctr"]
            shape = f.detail["shape"]
            if shape == "left_ventricular":
                a.heart_lv_y, a.heart_apex_drop, a.heart_right_frac = 0.86, 0.045, 0.25
            elif shape == "mitral":
                a.heart_la, a.heart_right_frac = 1.2, 0.36
            else:
                a.heart_right_frac, a.heart_lv_y = 0.36, 0.72
            a.heart_top -= 0.02 * f.severity
        elif f.kind == "raised":
            a.dome_y[s] -= 0.05 + 0.07 * f.severity
    return a


def _zone_point(rng: np.random.Generator, a: an.Anatomy, side: int, zone: str) -> tuple[float, float]:
    lo, hi = ZONE_FRACTION[zone]
    y = a.apex_y + rng.uniform(lo, hi) * (a.dome_y[side] - a.apex_y)
    half = abs(float(ol.lateral_x(a, side, y)) - 0.5)
    medial = a.heart_width() * (1 - a.heart_right_frac) if side > 0 else a.heart_width() * a.heart_right_frac
    inner = max(a.med_hw[side] + 0.03, medial + 0.03 if zone == "lower" else a.med_hw[side] + 0.03)
    x = 0.5 + side * rng.uniform(min(inner, half - 0.05), half - 0.04)
    return x, y


def _fracture_sites(a: an.Anatomy, f: Finding) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """(point, direction along the rib, path index) of each fractured rib."""
    s = _sides(f)[0]
    ribs = ol.rib_paths(a, s)
    sites = []
    for rib, t in zip(f.detail["ribs"], f.detail["t"], strict=True):
        post = ribs[min(rib - 1, len(ribs) - 1)][0]
        i = min(int(t * (len(post) - 1)), len(post) - 2)
        d = post[i + 1] - post[i]
        sites.append((post[i], d / np.linalg.norm(d), i))
    return sites


def fluid_height(f: Finding) -> float:
    """Height of the fluid above the costophrenic angle (blunted angle: a small one)."""
    return (0.04 + 0.04 * f.severity) if f.kind == "blunted" else (0.08 + 0.16 * f.severity)


def effusion_outline(a: an.Anatomy, side: int, height: float, blunted_only: bool) -> np.ndarray:
    """Pleural fluid above a dome: a meniscus climbing the lateral wall, closed by the dome."""
    dome = ol.dome_curve(a, side, 40)
    x_cp, cp = dome[0]
    width = (0.06 + 1.0 * height) if blunted_only else abs(x_cp - 0.5) - 0.03
    x_in = x_cp - side * width
    xs = np.linspace(x_in, x_cp, 20)
    t = np.abs(xs - x_cp) / width  # 0 at the wall, 1 medially
    dome_at = np.interp(xs * side, dome[:, 0][::-1] * side, dome[:, 1][::-1])
    top = cp - height
    rise = (dome_at[0] - top) * t**1.4 if blunted_only else 0.55 * height * t**0.6
    surface = top + rise
    surface = np.minimum(surface, dome_at)
    meniscus = np.stack([xs, surface], axis=1)
    wall = np.array([[x_cp + side * 0.03, top], [x_cp + side * 0.03, cp + 0.01]])
    base = dome[np.abs(dome[:, 0] - x_cp) <= width]
    return np.concatenate([meniscus, wall, base])


def draw_findings(rng: np.random.Generator, p: Painter, a: an.Anatomy, findings: list[Finding]) -> None:
    """Paint each finding's lesion. ``opacity`` removes lung air (fluid, consolidation, nodules)."""
    for f in findings:
        sev = f.severity
        if f.kind == "fracture":
            for pt, d, _ in _fracture_sites(a, f):
                normal = np.array([-d[1], d[0]])
                gap = np.array([pt + normal * a.rib_w * 0.9, pt - normal * a.rib_w * 0.9])
                ang = math.degrees(math.atan2(d[1], d[0]))
                if f.detail["old"]:  # healed: fusiform callus around the rib
                    callus = (a.rib_w * (1.7 + sev), a.rib_w * (0.85 + 0.35 * sev))
                    p.ellipse("bone", tuple(pt), callus, ang, 0.2)
                    p.line("bone", gap, 0.06, 0.004)
                else:  # fresh: a lucent gap and a stepped, overriding fragment
                    p.line("bone", gap, 0.0, 0.007)
                    step = pt + d * a.rib_w * 0.9 + normal * a.rib_w * (0.35 + 0.25 * sev)
                    p.ellipse("bone", tuple(step), (a.rib_w * 1.6, a.rib_w * 0.7), ang, 0.2)
        elif f.region == "lungs":
            for s in _sides(f):
                _draw_lung_lesion(rng, p, a, f, s)
        elif f.region == "aorta" and f.detail["calcified"]:
            cx, cy = ol.knob_center(a)
            width = 0.005 + 0.004 * sev
            p.ellipse(
                "bone",
                (cx, cy),
                (a.knob_r * 0.9, a.knob_r * 0.9),
                0,
                0.28 + 0.12 * sev,
                (-110.0, 40.0),
                width,
            )
        elif f.kind in ("effusion", "blunted"):
            for s in _sides(f):
                outline = effusion_outline(a, s, fluid_height(f), f.kind == "blunted")
                p.poly("opacity", outline, 1.0)


def _draw_lung_lesion(rng: np.random.Generator, p: Painter, a: an.Anatomy, f: Finding, s: int) -> None:
    sev = f.severity
    cx, cy = _zone_point(rng, a, s, f.zone or "lower")
    if f.kind == "patchy":
        spread = 0.025 + 0.025 * sev
        for _ in range(int(rng.integers(12, 22))):
            ox, oy = rng.normal(0, spread, 2)
            axes = rng.uniform(0.01, 0.02 + 0.012 * sev, 2)
            p.ellipse(
                "opacity", (cx + ox, cy + oy * 0.8), tuple(axes), rng.uniform(0, 180), rng.uniform(0.45, 0.8)
            )
    elif f.kind == "nodule":
        for i, r in enumerate(f.detail["radii"]):
            x, y = (cx, cy) if i == 0 else _zone_point(rng, a, s, str(rng.choice(list(ZONE_FRACTION))))
            p.ellipse("opacity", (x, y), (r, r * rng.uniform(0.85, 1.0)), rng.uniform(0, 180), 0.9)
    else:  # consolidation
        ax, ay = 0.05 + 0.05 * sev, 0.045 + 0.04 * sev
        pts = []
        for k in range(9):
            t = 2 * math.pi * k / 9
            r = rng.uniform(0.8, 1.15)
            pts.append((cx + math.cos(t) * ax * r, cy + math.sin(t) * ay * r))
        p.poly("opacity", ol.smooth_closed(np.array(pts), 6), 0.85 + 0.1 * sev)
        for _ in range(int(rng.integers(1, 4))):
            ang = rng.uniform(0, 2 * math.pi)
            end = (cx + math.cos(ang) * ax * 0.7, cy + math.sin(ang) * ay * 0.7)
            p.line("opacity", np.array([(cx, cy), end]), 0.45, 0.006)


def mask_findings(m: Painter, a: an.Anatomy, findings: list[Finding]) -> None:
    """Add where a finding lies outside its region's normal outline (fracture sites, fluid)."""
    for f in findings:
        if f.kind == "fracture":
            for pt, _, _ in _fracture_sites(a, f):
                m.ellipse("thorax", tuple(pt), (0.03, 0.03), 0, 1)
        elif f.kind in ("effusion", "blunted"):
            for s in _sides(f):
                m.poly("diaphragm", effusion_outline(a, s, fluid_height(f), f.kind == "blunted"), 1)
