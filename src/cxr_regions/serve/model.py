"""The run's model, loaded once: probabilities and heatmaps of one film, the way ``explain`` sees it.

Both go through ``cxr_regions.explain.compute_heatmaps`` (the film fitted into the frame the run
was trained at, then the model's centre crop, as ``evaluate`` and ``explain`` do), so the reading
room shows the probabilities those stages report. One lock serialises the network: CAM hooks are
not re-entrant, and on a small server one film at a time is the fastest anyway.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import torch

from cxr_regions.errors import UserError
from cxr_regions.evaluation import CALIBRATION_FILE, load_calibration
from cxr_regions.explain import METHODS, frame_size_of, min_map_side, read_thresholds, target_layer
from cxr_regions.explain.heatmaps import compute_heatmaps
from cxr_regions.regions import REGION_KEYS, operating_thresholds
from cxr_regions.training import load_run

if TYPE_CHECKING:
    from cxr_regions.explain.heatmaps import FilmHeatmaps


@dataclass(frozen=True)
class Thresholds:
    """Per-region operating thresholds and where they came from (shown on the pages), and the
    evaluation's probability calibration where it saved one.

    With a calibration, ``values`` are the thresholds on the calibrated scale and :meth:`shown` turns the
    model's probabilities into calibrated ones: the calibration is monotonic per region, so a film is
    called abnormal exactly where its raw probability reaches the raw threshold, and the pages, the
    store and the triage order all use the probabilities a radiologist can read as frequencies.
    """

    values: dict[str, float]
    source: str
    calibration: Any = None

    @classmethod
    def load(cls, path: Path | None) -> Thresholds:
        """From evaluate's ``thresholds.csv`` (or its folder); 0.5 for every region without one; with
        the folder's ``calibration.json`` where ``evaluate`` wrote one."""
        if path is None:
            return cls(operating_thresholds(None), "default")
        values = operating_thresholds(read_thresholds(path))
        folder = Path(path) if Path(path).is_dir() else Path(path).parent
        calibration = load_calibration(folder) if (folder / CALIBRATION_FILE).is_file() else None
        return cls(_calibrated(calibration, values), str(path), calibration)

    @property
    def calibrated(self) -> bool:
        return self.calibration is not None

    def shown(self, probabilities: dict[str, float]) -> dict[str, float]:
        """The probabilities as the pages show them: calibrated where a calibration was loaded."""
        return _calibrated(self.calibration, probabilities)

    @property
    def is_default(self) -> bool:
        return self.source == "default"


def _calibrated(calibration: Any, probabilities: dict[str, float]) -> dict[str, float]:
    """Per-region values through ``calibration`` (``None``: unchanged)."""
    if calibration is None:
        return dict(probabilities)
    return {k: float(calibration.apply_label(k, float(p))) for k, p in probabilities.items()}


class FilmModel:
    """A run folder's network on CPU or GPU, with the CAM layer chosen once for the run's frame, and
    what ``model.json`` says about it (``info``, and the starting weights' ``provenance``)."""

    def __init__(self, run: Path, method: str = "layercam", device: str = "auto") -> None:
        if method.lower() not in METHODS:
            raise UserError(f"unknown heatmap method {method!r}; choose one of {', '.join(METHODS)}")
        loaded = load_run(run)
        missing = [k for k in REGION_KEYS if k not in loaded.label_names]
        if missing:
            raise UserError(f"{run}: the model has no output for {', '.join(missing)}; serve needs all five")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.model = loaded.model.to(device).eval()
        self.label_names = list(loaded.label_names)
        self.crop = int(loaded.input_size)
        self.frame = frame_size_of(loaded.info, self.crop)
        self.method = method.lower()
        self.layer = target_layer(self.model, min(self.crop, self.frame), min_map_side(self.method))
        self.arch = loaded.info.arch
        self.info = loaded.info
        self.run_name = loaded.path.name  # the run folder (also where a weights file was named)
        self.provenance = loaded.info.weights_provenance()
        """Where the starting weights came from (shown on the model page and in every page's footer)."""
        self._lock = threading.Lock()

    @property
    def research_only(self) -> bool:
        """Whether the publisher of the starting weights restricts them to research: every page says so."""
        return self.provenance.research_only

    def warm_up(self) -> None:
        """One blank film through the network and the CAM, so that the first real film is not slow."""
        self.heatmaps(np.zeros((self.frame, self.frame), dtype=np.uint8))

    def _run(self, film: np.ndarray, regions: list[str]) -> FilmHeatmaps:
        with self._lock:
            return compute_heatmaps(
                self.model, film, self.label_names, regions, self.method, self.frame, self.layer, self.crop
            )

    def probabilities(self, film: np.ndarray) -> dict[str, float]:
        """The five regions' probabilities of one 2-D film (one region's CAM rides along, unused)."""
        result = self._run(film, [self.label_names[0]])
        return {k: float(result.probabilities[k]) for k in REGION_KEYS}

    def heatmaps(self, film: np.ndarray) -> dict[str, np.ndarray]:
        """All five regions' heatmaps at the film's size, float32 in [0, 1] (one batch of five)."""
        result = self._run(film, list(REGION_KEYS))
        return {k: result.heatmaps[k] for k in REGION_KEYS}


def heat_png(heat: np.ndarray, colour: str) -> bytes:
    """A heatmap as an RGBA PNG in one region's colour (``#rrggbb``), its opacity rising with the heat
    and clear where the map is cold, so that several regions' overlays can be told apart on one film."""
    unit = np.clip(heat, 0.0, 1.0)
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    alpha = np.round(np.clip((unit - 0.15) / 0.45, 0.0, 1.0) * 255).astype(np.uint8)  # cold stays clear
    shape = unit.shape
    planes = [np.full(shape, v, np.uint8) for v in (blue, green, red)]  # OpenCV writes BGRA
    ok, buf = cv2.imencode(".png", np.dstack([*planes, alpha]))
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()
