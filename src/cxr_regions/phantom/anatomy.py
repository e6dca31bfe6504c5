"""Normal chest anatomy of the phantom: sampled parameters and the outlines drawn from them.

The outlines drawn from an anatomy are in :mod:`cxr_regions.phantom.outlines`.
Coordinates are normalised to the film (x to the image right, y down, both 0..1), so one anatomy
renders identically at any size. The film is shown as radiologists read it: the patient's left
on the image right. ``side`` below is an *image* side: -1 = image left = patient's right,
+1 = image right = patient's left.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

PATIENT_RIGHT = -1
PATIENT_LEFT = +1
SIDES = (PATIENT_RIGHT, PATIENT_LEFT)


def image_side(patient_side: str) -> int:
    """'right'/'left' (the patient's, as a report says it) -> image side sign."""
    return PATIENT_RIGHT if patient_side == "right" else PATIENT_LEFT


@dataclass
class Anatomy:
    """Geometry of one normal chest; findings change some fields (see ``findings.py``)."""

    view: str = "PA"
    apex_y: float = 0.13
    cage_hw: dict[int, float] = field(default_factory=lambda: {-1: 0.36, 1: 0.36})
    dome_y: dict[int, float] = field(default_factory=lambda: {-1: 0.64, 1: 0.66})
    cp_drop: dict[int, float] = field(default_factory=lambda: {-1: 0.08, 1: 0.08})
    dome_peak: float = 0.5
    med_hw: dict[int, float] = field(default_factory=lambda: {-1: 0.052, 1: 0.042})
    knob_dx: float = 0.06
    knob_y: float = 0.30
    knob_r: float = 0.028
    aorta_bulge: float = 0.0
    ctr: float = 0.43
    heart_right_frac: float = 0.32
    heart_top: float = 0.41
    heart_lv_y: float = 0.72
    heart_apex_drop: float = 0.02
    heart_la: float = 0.0
    trachea_w: float = 0.034
    carina_y: float = 0.35
    spine_w: float = 0.072
    spine_amp: float = 0.0
    spine_waves: float = 1.0
    spine_phase: float = 0.0
    vert_h: float = 0.052
    rib_w: float = 0.019
    rib_rise: float = 0.02
    rib_spacing: dict[int, float] = field(default_factory=lambda: {-1: 1.0, 1: 1.0})
    clav_y: float = 0.16
    clav_tilt: float = 0.04
    soft_margin: float = 0.06
    shoulder_y: float = 0.10
    neck_hw: float = 0.10
    arms: bool = False
    breasts: float = 0.0
    breast_y: float = 0.72
    bubble: float = 0.03
    hilum_size: float = 0.035
    vessels: int = 28
    lung_air: float = 1.0
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def copy(self) -> Anatomy:
        """An independent copy (its outlines are computed afresh)."""
        return dataclasses.replace(
            self,
            cage_hw=dict(self.cage_hw),
            dome_y=dict(self.dome_y),
            cp_drop=dict(self.cp_drop),
            med_hw=dict(self.med_hw),
            rib_spacing=dict(self.rib_spacing),
            _cache={},
        )

    # ---- derived quantities -------------------------------------------------------------------
    def cp_y(self, side: int) -> float:
        """Height of the costophrenic angle (the lowest, lateral point of the lung)."""
        return self.dome_y[side] + self.cp_drop[side]

    def thorax_width(self) -> float:
        return self.cage_hw[-1] + self.cage_hw[1]

    def heart_width(self) -> float:
        return self.ctr * self.thorax_width()

    def heart_bottom(self) -> float:
        return 0.5 * (self.dome_y[-1] + self.dome_y[1]) + 0.035

    def spine_x(self, y: np.ndarray | float) -> np.ndarray:
        """Midline of the thoracic spine at height ``y`` (a straight line unless curved)."""
        y = np.asarray(y, dtype=np.float64)
        t = np.clip((y - 0.08) / 0.72, 0.0, 1.0)
        return 0.5 + self.spine_amp * np.sin(np.pi * self.spine_waves * t + self.spine_phase) * np.sin(
            np.pi * t
        )


def sample_anatomy(rng: np.random.Generator, view: str = "PA", sex: str | None = None) -> Anatomy:
    """Normal anatomy with random variation in size, shape and position (never abnormal)."""
    u = rng.uniform
    apex = u(0.10, 0.15)
    hw = u(0.33, 0.39)
    dome_r = u(0.60, 0.67)
    if view == "AP":
        dome_r -= u(0.0, 0.03)
    dome_l = dome_r + u(0.0, 0.03)
    knob_y = apex + u(0.15, 0.19)
    a = Anatomy(
        view=view,
        apex_y=apex,
        cage_hw={-1: hw + u(-0.006, 0.006), 1: hw + u(-0.006, 0.006)},
        dome_y={-1: dome_r, 1: dome_l},
        cp_drop={-1: u(0.06, 0.10), 1: u(0.06, 0.10)},
        dome_peak=u(0.4, 0.6),
        med_hw={-1: u(0.045, 0.058), 1: u(0.036, 0.048)},
        knob_dx=u(0.05, 0.062),
        knob_y=knob_y,
        knob_r=u(0.022, 0.030),
        ctr=u(0.38, 0.47),
        heart_right_frac=u(0.27, 0.35),
        heart_top=knob_y + u(0.095, 0.125),
        heart_lv_y=u(0.62, 0.78),
        heart_apex_drop=u(0.0, 0.03),
        heart_la=u(0.0, 0.3),
        trachea_w=u(0.030, 0.040),
        carina_y=knob_y + u(0.035, 0.06),
        spine_w=u(0.064, 0.080),
        spine_amp=u(-0.003, 0.003),
        spine_waves=u(0.8, 1.2),
        spine_phase=u(0, 0.3),
        vert_h=(dome_r - apex) / u(9.6, 10.6),
        rib_w=u(0.02, 0.027),
        rib_rise=u(0.005, 0.03),
        clav_y=apex + (u(0.0, 0.025) if view == "AP" else u(0.04, 0.075)),
        clav_tilt=u(-0.01, 0.01) if view == "AP" else u(0.02, 0.06),
        soft_margin=u(0.025, 0.10),
        shoulder_y=u(0.05, 0.12),
        neck_hw=u(0.085, 0.115),
        arms=bool(rng.random() < 0.35),
        breasts=u(0.5, 1.0) if (sex == "F" and rng.random() < 0.8) else 0.0,
        breast_y=dome_r + u(-0.06, 0.04),
        bubble=u(0.0, 0.045),
        hilum_size=u(0.028, 0.04),
        vessels=int(rng.integers(22, 40)),
        lung_air=u(0.85, 1.1),
    )
    return a
