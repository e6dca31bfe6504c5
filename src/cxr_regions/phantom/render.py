"""Rasterise a phantom chest film: anatomy + findings -> image and region masks.

The film is painted in normalised coordinates onto a few float canvases at a working resolution
(soft tissue, lung air, bone, vessels), blurred once per canvas with OpenCV, combined through an
exposure curve, resized to the requested size and given film noise. Region masks are drawn from the
same outlines at the output size, so image and masks always agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from cxr_regions.phantom import anatomy as an
from cxr_regions.phantom import outlines as ol
from cxr_regions.phantom.abnormalities import (
    Finding,
    apply_findings,
    draw_findings,
    mask_findings,
    sample_findings,
)
from cxr_regions.phantom.painter import Painter
from cxr_regions.regions import REGION_KEYS

TISSUE, MEDIASTINUM, AIR = 0.5, 0.63, 0.34  # densities of soft tissue, mediastinum/heart, lung air


@dataclass
class Film:
    """One phantom film: image (float32 0..1, bone bright, patient's left on the image right) + masks."""

    image: np.ndarray
    masks: dict[str, np.ndarray]
    truth: dict[str, str]
    findings: list[Finding] = field(default_factory=list)
    view: str = "PA"
    body: np.ndarray | None = None


def _pose(rng: np.random.Generator) -> np.ndarray:
    """Small rotation, scale and shift of the patient on the detector (never a flip)."""
    theta = math.radians(rng.uniform(-3.0, 3.0))
    scale = rng.uniform(0.93, 1.05)
    shift = rng.uniform([-0.025, -0.03], [0.025, 0.03])
    c, s = math.cos(theta) * scale, math.sin(theta) * scale
    lin = np.array([[c, -s], [s, c]])
    offset = np.array([0.5, 0.5]) + shift - lin @ np.array([0.5, 0.5])
    return np.concatenate([lin, offset[:, None]], axis=1)


def _smooth_noise(
    rng: np.random.Generator, size: int, cells: int, amount: float, scale: np.ndarray
) -> np.ndarray:
    """Low-frequency texture ``scale * (1 + amount * noise)`` over the whole canvas."""
    grid = rng.standard_normal((cells, cells)).astype(np.float32)
    texture: np.ndarray = cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    texture *= amount
    texture += 1.0
    texture *= scale
    return texture


def _vessel_tree(rng: np.random.Generator, painter: Painter, a: an.Anatomy, side: int) -> None:
    """Branching pulmonary vessels fanning out from a hilum (normal lung markings), tapering outwards."""
    hx, hy = ol.hilum(a, side)
    base = np.radians(np.array([-70.0, -40.0, -10.0, 20.0, 45.0, 70.0]) + rng.uniform(-12, 12, 6))
    x, y = np.full(6, hx), np.full(6, hy)
    angle, length = base, rng.uniform(0.065, 0.095, 6)
    width, value = 0.011, 0.11
    for depth in range(5):
        x2 = x + np.cos(angle) * length * side
        y2 = y + np.sin(angle) * length
        painter.segments("vessel", np.stack([x, y], 1), np.stack([x2, y2], 1), value, width)
        n = len(x)
        keep = np.repeat(rng.random(n) < (1.0 if depth < 2 else a.vessels / 40.0), 2)
        turn = np.tile([-1.0, 1.0], n) * np.radians(rng.uniform(15, 40, 2 * n))
        x, y = np.repeat(x2, 2)[keep], np.repeat(y2, 2)[keep]
        angle = (np.repeat(angle, 2) + turn)[keep]
        length = (np.repeat(length, 2) * rng.uniform(0.55, 0.8, 2 * n))[keep]
        width, value = width * 0.7, value - 0.02
    painter.ellipse("vessel", (hx, hy), (a.hilum_size * 0.7, a.hilum_size), 10 * side, 0.10)


def _both_edges(paths: np.ndarray, width: float) -> np.ndarray:
    """The two edges (cortex) of bands of ``width`` along K x N x 2 ``paths``: 2K paths."""
    return ol.offset(np.repeat(paths, 2, axis=0), np.tile([-0.5, 0.5], len(paths)) * width)


def _draw_anatomy(rng: np.random.Generator, p: Painter, a: an.Anatomy) -> None:
    """Normal anatomy: soft tissue, lung air, mediastinum and heart, bones, lung vessels."""
    p.poly("tissue", ol.body_outline(a), TISSUE)
    abdomen = ol.abdomen(a)
    p.poly("tissue", ol.flanks(a), TISSUE * 1.1)
    p.poly("tissue", abdomen, MEDIASTINUM * 0.97)
    for side in an.SIDES:  # shoulders: humeral heads, and the arms when they hang in the field
        hx, hy, hr = ol.humeral_head(a, side)
        p.ellipse("tissue", (hx - side * 0.015, hy + 0.01), (hr * 1.25, hr * 1.2), 0, TISSUE)
        p.ellipse("bone2", (hx, hy), (hr, hr), 0, 0.07)
        p.ellipse("bone2", (hx, hy), (hr, hr), 0, 0.04, width=0.008)
        if a.arms:
            p.poly("tissue", ol.arm(a, side), TISSUE)
            shaft = np.array(
                [
                    [[hx - side * hr * 0.6, hy], [hx - side * hr * 0.4, 0.9]],
                    [[hx + side * hr * 0.6, hy], [hx + side * hr * 0.3, 0.9]],
                ]
            )
            p.lines("bone2", list(shaft), 0.05, 0.012)
    heart = ol.heart_outline(a)
    med = ol.mediastinum(a)
    kx, ky = ol.knob_center(a)
    for side in an.SIDES:
        p.poly("air", ol.hemithorax(a, side), AIR * a.lung_air)
    for name, val in (("air", 0.0), ("tissue", MEDIASTINUM)):
        p.poly(name, med, val)
        p.poly(name, heart, val)
        p.ellipse(name, (kx, ky), (a.knob_r, a.knob_r), 0, val)
        p.poly(name, ol.aorta_shadow(a), val)
    # trachea and main bronchi: air in the mediastinum
    trachea = np.array([[0.5, -0.05], [0.5 - 0.004, a.knob_y - 0.02], [0.5, a.carina_y]])
    trachea[:, 0] += 0.7 * (a.spine_x(trachea[:, 1]) - 0.5)
    p.line("air", trachea, 0.2, a.trachea_w)
    p.line("air", np.array([[0.5, a.carina_y], [0.5 - 0.05, a.carina_y + 0.06]]), 0.14, a.trachea_w * 0.55)
    p.line("air", np.array([[0.5, a.carina_y], [0.5 + 0.06, a.carina_y + 0.045]]), 0.14, a.trachea_w * 0.5)
    if a.bubble > 0.01:  # gastric air under the left dome (image right)
        bx, by = 0.5 + a.cage_hw[1] * 0.45, a.dome_y[1] + a.bubble * 0.9 + 0.012
        p.ellipse("air", (bx, by), (a.bubble * 1.5, a.bubble), 0, 0.3, (180.0, 360.0))
    if a.breasts > 0:  # broad soft shadows over the lower zones, fading upwards
        for side in an.SIDES:
            cx = 0.5 + side * a.cage_hw[side] * 0.62
            for step in (1.0, 0.8, 0.6):
                axes = (0.17 * (0.7 + 0.3 * step), 0.12 * step)
                p.ellipse(
                    "air_cut",
                    (cx, a.breast_y),
                    axes,
                    -15 * side,
                    0.06 * a.breasts * (1.6 - step),
                    (0.0, 180.0),
                )
    # spine: vertebral column with end plates and pedicles
    ys = np.linspace(-0.2, 1.2, 40)
    column = [np.stack([a.spine_x(ys), ys], axis=1)]
    p.ribbons("bone", column, 0.035, a.spine_w)
    p.ribbons("bone", column, 0.05, a.spine_w * 0.75)
    plates = a.apex_y + a.vert_h * np.arange(-2, int((1.1 - a.apex_y) / a.vert_h))
    xs = a.spine_x(plates)
    half = a.spine_w * 0.45
    p.segments("bone", np.stack([xs - half, plates], 1), np.stack([xs + half, plates], 1), 0.015, 0.006)
    levels = plates[plates < max(a.dome_y.values())]
    xs = a.spine_x(levels)
    angles = np.linspace(0, 2 * np.pi, 12)
    ring = np.stack([np.cos(angles) * 0.007, np.sin(angles) * 0.011], axis=1)
    centres = [
        (x + s * a.spine_w * 0.3, y + a.vert_h * 0.45)
        for x, y in zip(xs, levels, strict=True)
        for s in an.SIDES
    ]
    p.lines("bone", [ring + c for c in centres], 0.06, 0.004)
    # ribs (posterior with a bright cortex, anterior faint), clavicles with their cortex, scapulae
    posterior = np.asarray([post for side in an.SIDES for post, _ in ol.rib_paths(a, side)])
    p.ribbons("bone", list(posterior), 0.05, a.rib_w)
    p.lines("bone2", list(_both_edges(posterior, 0.9 * a.rib_w)), 0.035, 0.005)
    anterior = [ant[1:11] for side in an.SIDES for _, ant in ol.rib_paths(a, side)]
    p.ribbons("bone2", anterior, 0.035, a.rib_w * 0.8)
    clavicles = np.asarray([ol.clavicle(a, side) for side in an.SIDES])
    p.ribbons("bone", list(clavicles), 0.09, 0.032)
    p.lines("bone2", list(_both_edges(clavicles, 0.029)), 0.04, 0.006)
    scapulae = []  # medial borders, from the superior to the inferior angle
    for side in an.SIDES:
        sx = 0.5 + side * (a.cage_hw[side] - 0.03)
        top, bottom = (sx + side * 0.04, a.apex_y + 0.03), (sx + side * 0.05, a.apex_y + 0.3)
        scapulae.append(ol.bezier(top, (sx - side * 0.02, a.apex_y + 0.15), bottom, n=12))
    p.lines("bone2", scapulae, 0.035, 0.008)
    for side in an.SIDES:
        _vessel_tree(rng, p, a, side)


def _draw_masks(m: Painter, a: an.Anatomy, findings: list[Finding]) -> None:
    heart = ol.heart_outline(a)
    kx, ky = ol.knob_center(a)
    for side in an.SIDES:
        m.poly("lungs", ol.hemithorax(a, side), 1)
    m.poly("lungs", ol.mediastinum(a), 0)
    m.poly("lungs", heart, 0)
    m.ellipse("lungs", (kx, ky), (a.knob_r, a.knob_r), 0, 0)
    m.poly("heart", heart, 1)
    m.ellipse("aorta", (kx, ky), (a.knob_r + 0.01, a.knob_r + 0.01), 0, 1)
    m.line("aorta", np.array([[0.5, ky - 0.01], [kx, ky]]), 1, a.knob_r * 1.4)
    m.line("aorta", ol.descending_aorta(a), 1, a.knob_r * 1.6)
    for side in an.SIDES:
        m.line("diaphragm", ol.dome_curve(a, side), 1, 0.045)
        m.ellipse("diaphragm", tuple(ol.dome_curve(a, side)[0]), (0.04, 0.04), 0, 1)
        hemi = ol.hemithorax(a, side)
        m.line("thorax", hemi[:38], 1, 0.05)
        for post, _ in ol.rib_paths(a, side):
            m.line("thorax", post, 1, a.rib_w * 1.3)
        m.line("thorax", ol.clavicle(a, side), 1, 0.03)
    ys = np.linspace(a.apex_y - 0.03, max(a.cp_y(-1), a.cp_y(1)), 30)
    m.line("thorax", np.stack([a.spine_x(ys), ys], axis=1), 1, a.spine_w)
    mask_findings(m, a, findings)


def render_film(
    rng: np.random.Generator,
    truth: dict[str, str],
    size: int = 1024,
    *,
    view: str = "PA",
    sex: str | None = None,
    findings: list[Finding] | None = None,
) -> Film:
    """Render one phantom film whose regions are abnormal exactly where ``truth`` says (1 or u).

    ``findings`` (from :func:`findings.sample_findings`) can be given to fix what is drawn; by
    default they are sampled from ``rng``. Fast at small sizes: geometry is size-independent.
    """
    if size < 16:
        raise ValueError(f"film size must be at least 16 pixels, got {size}")
    a = an.sample_anatomy(rng, view=view, sex=sex)
    if findings is None:
        findings = sample_findings(rng, truth)
    a = apply_findings(a, findings)
    # Film-wide randomness is drawn first, so a film differs from its normal twin only by its findings.
    pose = _pose(rng)
    k, lo, hi, gamma, sigma = rng.uniform([1.2, -0.04, 0.92, 0.8, 0.006], [1.8, 0.06, 1.08, 1.25, 0.022])
    vessel_rng, lesion_rng, texture_rng, noise_rng = map(np.random.default_rng, rng.integers(0, 2**63, 4))

    work = int(min(max(size, 128), 512))
    p = Painter(work, pose, names=("tissue", "air", "air_cut", "opacity", "bone", "bone2", "vessel"))
    _draw_anatomy(vessel_rng, p, a)
    draw_findings(lesion_rng, p, a, findings)

    # compose in place (few full-size temporaries: this is the hot loop of every film)
    ys = np.linspace(0.0, 1.0, work, dtype=np.float32)
    height = 0.82 + 0.18 * np.sin(np.pi * np.clip((ys - a.apex_y) / (a.dome_y[-1] + 0.08 - a.apex_y), 0, 1))
    xs = np.linspace(-1.0, 1.0, work, dtype=np.float32)
    thickness = 0.78 + 0.22 * np.cos(0.5 * np.pi * xs)
    air = p["air"]
    air *= _smooth_noise(texture_rng, work, 14, 0.12, height[:, None])
    opacity = p["opacity"]
    np.subtract(1.0, opacity, out=opacity)
    air *= opacity
    air -= p["air_cut"]
    tissue = p["tissue"]
    tissue *= thickness[None, :]
    tissue -= air
    density: np.ndarray = cv2.GaussianBlur(tissue, (0, 0), 0.004 * work)
    lung: np.ndarray = cv2.GaussianBlur(air, (0, 0), 0.004 * work)
    lung *= 1.0 / AIR
    np.clip(lung, 0.0, 1.0, out=lung)
    bone = p["bone"]
    bone += p["bone2"]
    fine: np.ndarray = cv2.GaussianBlur(bone, (0, 0), 0.0016 * work)
    vessels: np.ndarray = cv2.GaussianBlur(p["vessel"], (0, 0), 0.003 * work)
    vessels *= lung
    fine += vessels
    visible = lung  # reuse: how much fine detail shows through the soft tissue
    np.multiply(density, -1.2, out=visible)
    visible += 1.25
    np.clip(visible, 0.3, 1.0, out=visible)
    fine *= visible
    density += fine

    # exposure: an X-ray attenuation curve, a display window and a gamma
    np.maximum(density, 0.0, out=density)
    density *= -k
    img = cv2.exp(density, dst=density)
    img *= -1.0 / ((1.0 - math.exp(-k * 0.95)) * (hi - lo))
    img += (1.0 - lo * (1.0 - math.exp(-k * 0.95))) / ((1.0 - math.exp(-k * 0.95)) * (hi - lo))
    np.clip(img, 1e-6, 1.0, out=img)
    img = cv2.pow(img, gamma, dst=img)
    # quantum noise, at the working size (film grain); as strong after downsizing to a small film
    grain = noise_rng.random((work, work), dtype=np.float32) - 0.5
    img += grain * (sigma * math.sqrt(12.0) * max(1.0, work / size))
    if work != size:
        interp = cv2.INTER_AREA if size < work else cv2.INTER_LINEAR
        img = cv2.resize(img, (size, size), interpolation=interp)
    np.clip(img, 0.0, 1.0, out=img)

    m = Painter(size, pose, dtype=np.uint8, names=("body", *REGION_KEYS), smooth=False)
    m.poly("body", ol.body_outline(a), 1)
    _draw_masks(m, a, findings)
    body = m["body"]
    for key in REGION_KEYS:
        np.bitwise_and(m[key], body, out=m[key])
    masks = {k: m[k].view(bool) for k in REGION_KEYS}
    return Film(
        image=img.astype(np.float32, copy=False),
        masks=masks,
        truth=dict(truth),
        findings=findings,
        view=view,
        body=body.view(bool),
    )
