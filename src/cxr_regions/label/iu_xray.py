"""A public English gold set: the IU X-ray (OpenI) reports and their MeSH tags -> five region labels.

The ``torchxrayvision`` wheel (extra ``cxr-regions[english]``) ships the 3,955 Indiana University
reports as ``torchxrayvision/data/NLMCXR_reports.tgz``; they are read from the installed wheel at run
time (never copied: their licence is CC BY-NC-ND) without importing torchxrayvision. Each report's
manual MeSH tags (``Finding/anatomy/modifier...``) become region labels by the mapping of
docs/english-labels.md (:func:`tag_regions`). The reports are split once into a development and an
evaluation half by the SHA-256 of their id (:func:`iu_part`); the English vocabulary is built on the
development half only.
"""

from __future__ import annotations

import hashlib
import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from cxr_regions.errors import UserError
from cxr_regions.extras import require_extra
from cxr_regions.regions import REGION_KEYS

WHEEL = "torchxrayvision"
ARCHIVE = "torchxrayvision/data/NLMCXR_reports.tgz"
PARTS = ("dev", "eval")
_REINSTALL = "reinstall it with `pip install --force-reinstall 'cxr-regions[english]'`"

OUTSIDE = "outside"
# Anatomy words of the tags -> region (labeling-policy.md's region definitions); OUTSIDE: none of five.
ANATOMY: dict[str, str] = {
    **dict.fromkeys(
        ("lung", "lingula", "retrocardiac", "pulmonary alveoli", "bronchi", "bronchovascular", "hilum",
         "base", "apex", "upper lobe", "middle lobe", "lower lobe", "pulmonary artery"),
        "lungs",
    ),
    **dict.fromkeys(
        ("thorax", "ribs", "thoracic vertebrae", "spine", "clavicle", "sternum", "breast", "breast implants",
         "scapula"),
        "thorax",
    ),
    **dict.fromkeys(("aorta", "aorta, thoracic"), "aorta"),
    **dict.fromkeys(
        ("heart", "heart ventricles", "heart atria", "mitral valve", "aortic valve", "coronary vessels"),
        "heart",
    ),
    **dict.fromkeys(
        ("diaphragm", "costophrenic angle", "pleura", "pleural sinus", "cardiophrenic angle", "sulcus"),
        "diaphragm",
    ),
    **dict.fromkeys(
        ("mediastinum", "lymph nodes", "trachea", "trachea, carina", "abdomen", "neck", "humerus", "shoulder",
         "lumbar vertebrae", "cervical vertebrae", "esophagus", "paratracheal", "supracardiac",
         "adipose tissue", "blood vessels"),
        OUTSIDE,
    ),
}  # fmt: skip

# Tag heads (the finding, lower case) -> the region when the tag names no anatomy word, and whether an
# anatomy word of the tag decides instead. () = no region.
_L, _T, _A, _H, _D = ("lungs",), ("thorax",), ("aorta",), ("heart",), ("diaphragm",)
HEADS: dict[str, tuple[tuple[str, ...], bool]] = {
    # lung findings (an anatomy word elsewhere moves them: "Opacity/costophrenic angle" -> diaphragm)
    **{
        h: (_L, True)
        for h in (
            "opacity", "calcinosis", "calcified granuloma", "cicatrix", "density", "nodule", "granuloma",
            "mass", "lucency", "cysts", "airspace disease", "infiltrate", "consolidation",
            "pulmonary atelectasis", "granulomatous disease", "blister", "cavitation", "lung", "volume loss",
            "sutures",
        )
    },
    **{
        h: (_L, False)
        for h in (
            "emphysema", "pulmonary emphysema", "bullous emphysema", "pulmonary congestion",
            "pulmonary edema", "pneumonia", "pneumothorax", "pulmonary disease, chronic obstructive",
            "pulmonary fibrosis", "lung, hyperlucent", "lung diseases, interstitial", "bronchiectasis",
            "cystic fibrosis", "sarcoidosis", "tuberculosis", "fibrosis", "bronchitis", "bronchiolitis",
            "pneumonectomy", "pulmonary artery", "hypertension, pulmonary",
        )
    },
    # bones of the cage, the thoracic spine, the chest wall (lumbar, cervical, shoulder: outside)
    **{
        h: (_T, True)
        for h in (
            "thoracic vertebrae", "spine", "deformity", "scoliosis", "kyphosis", "fractures, bone",
            "osteophyte", "spondylosis", "bone diseases, metabolic", "osteoporosis", "sclerosis",
            "dislocations", "spinal fusion", "hyperostosis, diffuse idiopathic skeletal",
            "expansile bone lesions", "arthritis", "ribs", "thorax", "bone and bones", "foreign bodies",
        )
    },
    **{
        h: (_T, False)
        for h in (
            "subcutaneous emphysema", "funnel chest", "pectus carinatum", "mastectomy", "breast implants",
        )
    },
    **{h: (_A, True) for h in ("aorta", "aorta, thoracic", "atherosclerosis")},
    "aortic aneurysm": (_A, False),
    **{h: (_H, False) for h in ("cardiomegaly", "pericardial effusion", "heart failure")},
    **{h: (_H, True) for h in ("cardiac shadow", "heart", "heart atria", "heart ventricles")},
    **{
        h: (_D, False)
        for h in (
            "pleural effusion", "hemothorax", "pneumoperitoneum", "hernia, diaphragmatic",
            "diaphragmatic eventration", "diaphragm", "costophrenic angle", "pleura", "sulcus",
        )
    },
    "thickening": (_D, True),
    **{h: (("lungs", "diaphragm"), False) for h in ("hydropneumothorax", "hemopneumothorax")},
    # devices (a stent or a valve of an organ is that organ's change, policy § devices)
    **{
        h: ((), True)
        for h in (
            "catheters, indwelling", "tube, inserted", "medical device", "surgical instruments",
            "implanted medical device", "stents",
        )
    },
    # no region: outside the five, normal variants and fat, increased markings (normal by the policy),
    # the nipple (an explanation), image quality
    **{
        h: ((), False)
        for h in (
            "normal", "markings", "technical quality of image unsatisfactory", "nipple shadow",
            "mediastinum", "shift", "hernia, hiatal", "mediastinal emphysema", "epicardial fat",
            "adipose tissue", "lumbar vertebrae", "cervical vertebrae", "shoulder", "humerus", "abdomen",
            "trachea", "trachea, carina", "lymph nodes", "lymph nodes", "blood vessels", "contrast media",
            "colonic interposition", "cholelithiasis", "hypovolemia",
        )
    },
}  # fmt: skip
NO_GOLD = frozenset({"no indexing"})  # reports that were not indexed have no gold
# Device tags whose anatomy word names an organ changed by the device (a prosthetic valve, a stent).
_DEVICE_ORGANS = frozenset({"aortic valve", "mitral valve", "coronary vessels", "aorta", "aorta, thoracic"})
_DEVICES = frozenset(h for h, (regions, anatomy) in HEADS.items() if anatomy and not regions)
_LUNG_IN_THORAX = frozenset(
    {
        "calcified granuloma",
        "granuloma",
        "granulomatous disease",
        "nodule",
        "cicatrix",
        "volume loss",
        "opacity",
        "density",
    }
)
_NOT_A_FINDING = {  # (head, modifier) pairs the policy reads as no finding
    ("lung", "azygos lobe"),  # a normal variant
    ("cardiac shadow", "obscured"),  # an obscured heart: the cause lies next door (policy § heart)
    ("heart", "obscured"),
}


def _head(tag: str) -> str:
    return " ".join(tag.split("/")[0].lower().split())


def tag_regions(tag: str) -> tuple[str, ...] | None:
    """The regions one MeSH tag (``Head/word/word...``) makes abnormal; None for an unknown head."""
    words = [" ".join(w.lower().split()) for w in tag.split("/")]
    head, rest = words[0], words[1:]
    known = HEADS.get(head)
    if known is None:
        return None
    regions, by_anatomy = known
    if any((head, w) in _NOT_A_FINDING for w in rest):
        return ()
    if by_anatomy:
        for word in rest:
            region = ANATOMY.get(word)
            if word == "thorax" and head in _LUNG_IN_THORAX:
                region = "lungs"  # "nodules throughout the chest": the hemithorax, not the chest wall
            if region is None:
                continue
            if head in _DEVICES:
                return (region,) if word in _DEVICE_ORGANS and region != OUTSIDE else ()
            return () if region == OUTSIDE else (region,)
    return regions


@dataclass(frozen=True)
class IUReport:
    """One IU X-ray report: its id, findings and impression, and its manual MeSH tags."""

    report_id: str
    findings: str
    impression: str
    tags: tuple[str, ...]

    @property
    def text(self) -> str:
        """Findings then impression, as the labeler reads a report."""
        return "\n\n".join(t for t in (self.findings, self.impression) if t)

    @property
    def part(self) -> str:
        return iu_part(self.report_id)

    def gold(self) -> dict[str, str] | None:
        """Five region labels from the tags; None where the report has no gold (not indexed, no text,
        a tag the mapping does not know)."""
        if not self.text or not self.tags or any(_head(t) in NO_GOLD for t in self.tags):
            return None
        labels = dict.fromkeys(REGION_KEYS, "0")
        for tag in self.tags:
            regions = tag_regions(tag)
            if regions is None:
                return None
            for region in regions:
                labels[region] = "1"
        return labels


def iu_part(report_id: str) -> str:
    """``dev`` or ``eval``: the parity of the first byte of SHA-256(report id) (fixed, documented)."""
    return PARTS[hashlib.sha256(report_id.encode("utf-8")).digest()[0] & 1]


def archive_path() -> Path:
    """Where the installed torchxrayvision wheel keeps the IU X-ray reports (UserError if absent)."""
    require_extra("english", "--gold iu")
    try:
        dist = metadata.distribution(WHEEL)
    except metadata.PackageNotFoundError:  # importable, but not installed as a wheel (e.g. a source tree)
        raise UserError(
            f"the IU X-ray reports come with the {WHEEL} wheel, whose installation record is missing; "
            f"{_REINSTALL}"
        ) from None
    for file in dist.files or ():
        if str(file).replace("\\", "/") == ARCHIVE:
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
    raise UserError(f"the installed {WHEEL} {dist.version} has no {ARCHIVE}; {_REINSTALL}")


@lru_cache(maxsize=1)
def read_iu_reports() -> tuple[IUReport, ...]:
    """Every report of the archive, in id order."""
    out = []
    with tarfile.open(archive_path()) as archive:
        for member in archive:
            if not member.isfile() or not member.name.endswith(".xml"):
                continue
            data = archive.extractfile(member)
            assert data is not None  # a regular file (checked above)
            root = ET.fromstring(data.read())
            uid, stem = root.find("uId"), Path(member.name).stem
            sections = {a.get("Label"): (a.text or "").strip() for a in root.iter("AbstractText")}
            mesh = root.find("MeSH")
            majors = mesh.iter("major") if mesh is not None else ()
            tags = tuple(e.text.strip() for e in majors if e.text)
            out.append(
                IUReport(
                    report_id=uid.get("id", stem) if uid is not None else stem,
                    findings=sections.get("FINDINGS", ""),
                    impression=sections.get("IMPRESSION", ""),
                    tags=tags,
                )
            )
    return tuple(sorted(out, key=lambda r: int("".join(c for c in r.report_id if c.isdigit()) or 0)))


def iu_gold(part: str = "all") -> list[dict]:
    """Gold records (``id``, ``text``, ``labels``, ``mesh``) of ``all``, ``dev`` or ``eval``."""
    if part not in ("all", *PARTS):
        raise UserError(f"IU X-ray part {part!r}: use iu, iu:dev or iu:eval")
    records = []
    for report in read_iu_reports():
        if part != "all" and report.part != part:
            continue
        labels = report.gold()
        if labels is not None:
            mesh = list(report.tags)
            records.append({"id": report.report_id, "text": report.text, "labels": labels, "mesh": mesh})
    return records


def parse_gold_name(name: str) -> str | None:
    """``iu`` / ``iu:dev`` / ``iu:eval`` -> the part (``all``, ``dev``, ``eval``); None for a file name."""
    if name == "iu":
        return "all"
    if name.startswith("iu:"):
        return name[3:]
    return None
