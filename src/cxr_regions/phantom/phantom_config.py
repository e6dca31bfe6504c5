"""The ``phantom`` command's settings, apart from the renderer so that ``cxr-regions --help`` stays light."""

from __future__ import annotations

from dataclasses import dataclass, field

from cxr_regions.options import cli
from cxr_regions.phantom.truth import Prevalence


@dataclass
class PhantomConfig:
    """Options of the ``phantom`` command."""

    n: int = field(default=400, metadata=cli("Number of films.", "--n"))
    size: int = field(default=1024, metadata=cli("Film width and height in pixels."))
    seed: int = field(default=0, metadata=cli("Random seed: the same seed gives byte-identical output."))
    prevalence: Prevalence = field(
        default_factory=Prevalence,
        metadata=cli(
            "How often each region is abnormal: 'paper' (about 35% of films abnormal, as the paper's "
            "Table 1), 'balanced' (30% per region), and/or KEY=P items, "
            "e.g. 'lungs=0.3,heart=0.2,uncertain=0.1'.",
            type=str,
            parse=Prevalence.parse,
            show="paper",
        ),
    )
    preview: bool = field(default=False, metadata=cli("Also write preview.png: 16 films with their labels."))
    ap_share: float = 0.15
    workers: int = field(default=1, metadata=cli("Processes rendering films in parallel."))
    overwrite: bool = field(default=False, metadata=cli("Replace a phantom already in OUT."))
    progress: bool = True
