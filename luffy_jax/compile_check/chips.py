"""Per-chip figures of the TPU generations the compile check knows, for its roofline estimates.

Sources: the Cloud TPU system architecture pages (cloud.google.com/tpu/docs/v4, .../v5e,
.../v5p, .../v6e), "key specifications" tables: peak bf16 compute per chip, HBM capacity and
bandwidth per chip, inter-chip interconnect (ICI) bandwidth per chip (given there in Gbps; here
divided by 8). HBM capacities are taken as decimal GB; the v5p page gives 95 in one version and
95 GiB in another, so the smaller reading is used.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ChipSpec:
    """One TPU chip: ``peak_tflops`` dense bf16, ``hbm_gb`` (1e9 bytes), ``hbm_gbps`` and
    ``ici_gbps`` in GB/s (1e9 bytes per second)."""

    name: str
    peak_tflops: float
    hbm_gb: float
    hbm_gbps: float
    ici_gbps: float

    @property
    def hbm_bytes(self) -> float:
        return self.hbm_gb * 1e9


CHIPS: dict[str, ChipSpec] = {
    # v4: 275 TFLOPs bf16, 32 GiB HBM2 at 1,200 GB/s, ICI 2,400 Gbps
    "v4": ChipSpec("v4", 275.0, 32.0, 1200.0, 300.0),
    # v5e: 197 TFLOPs bf16, 16 GB HBM2 at 819 GB/s, ICI 1,600 Gbps
    "v5e": ChipSpec("v5e", 197.0, 16.0, 819.0, 200.0),
    # v5p: 459 TFLOPs bf16, 95 GB HBM2e at 2,765 GB/s, ICI 4,800 Gbps
    "v5p": ChipSpec("v5p", 459.0, 95.0, 2765.0, 600.0),
    # v6e (Trillium): 918 TFLOPs bf16, 32 GB HBM at 1,640 GB/s, ICI 3,584 Gbps
    "v6e": ChipSpec("v6e", 918.0, 32.0, 1640.0, 448.0),
}


def chip_of(topology: str) -> ChipSpec:
    """The :class:`ChipSpec` of a topology name such as ``"v5p:2x2x1"`` or ``"v5e:2x4"``."""
    generation = topology.split(":", 1)[0].strip().lower()
    if generation not in CHIPS:
        raise ValueError(
            f"topology {topology!r}: unknown TPU generation {generation!r}; use one of "
            f"{sorted(CHIPS)} (e.g. v5p:2x2x1)"
        )
    return CHIPS[generation]


def accelerator_type(topology: str) -> str:
    """A ``TPU_ACCELERATOR_TYPE`` value for ``topology`` (only quiets libtpu's start-up
    warnings): v4/v5p count TensorCores (2 per chip), v5e/v6e count chips."""
    generation, _, dims = topology.partition(":")
    chips = 1
    for d in dims.split("x"):
        chips *= int(d) if d.strip().isdigit() else 1
    if generation == "v5e":
        return f"v5litepod-{chips}"
    if generation == "v6e":
        return f"v6e-{chips}"
    return f"{generation}-{2 * chips}"
