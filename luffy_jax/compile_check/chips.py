"""Per-chip figures of the accelerators the compile check knows, for its roofline estimates.

TPU sources: the Cloud TPU system architecture pages (cloud.google.com/tpu/docs/v4, .../v5e,
.../v5p, .../v6e), "key specifications" tables: peak bf16 compute per chip, HBM capacity and
bandwidth per chip, inter-chip interconnect (ICI) bandwidth per chip (given there in Gbps; here
divided by 8). HBM capacities are taken as decimal GB; the v5p page gives 95 in one version and
95 GiB in another, so the smaller reading is used.

GPU sources: NVIDIA's H100 SXM and H200 SXM datasheets (dense bf16 tensor-core peak, HBM,
bandwidth, NVLink 900 GB/s bidirectional = 450 GB/s each way). GPUs compile through the CUDA
PJRT plugin without a GPU (``jax[cuda13]`` installed): :data:`GPU_TARGETS` holds the
``GpuTargetConfigProto`` text that stands in for the missing device.
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
    platform: str = "tpu"

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
    # H100 SXM: 989 TFLOPs bf16 dense, 80 GB HBM3 at 3.35 TB/s, NVLink 900 GB/s
    "h100": ChipSpec("h100", 989.0, 80.0, 3350.0, 450.0, "cuda"),
    # H200 SXM: 989 TFLOPs bf16 dense, 141 GB HBM3e at 4.8 TB/s, NVLink 900 GB/s
    "h200": ChipSpec("h200", 989.0, 141.0, 4800.0, 450.0, "cuda"),
}


def _gpu_target(description: str, memory_bytes: int, bandwidth: int) -> str:
    """A Hopper (sm_90, 132 SMs) ``GpuTargetConfigProto`` in text form."""
    return f"""
gpu_device_info {{
  threads_per_block_limit: 1024
  threads_per_warp: 32
  shared_memory_per_block: 49152
  shared_memory_per_core: 233472
  threads_per_core_limit: 2048
  core_count: 132
  fpus_per_core: 128
  block_dim_limit_x: 2147483647
  block_dim_limit_y: 65535
  block_dim_limit_z: 65535
  memory_bandwidth: {bandwidth}
  l2_cache_size: 52428800
  clock_rate_ghz: 1.98
  device_memory_size: {memory_bytes}
  shared_memory_per_block_optin: 232448
  cuda_compute_capability {{ major: 9 }}
  registers_per_core_limit: 65536
  registers_per_block_limit: 65536
}}
platform_name: "CUDA"
dnn_version_info {{ major: 9 minor: 7 }}
device_description_str: "{description}"
"""


GPU_TARGETS: dict[str, str] = {
    "h100": _gpu_target("NVIDIA H100 80GB HBM3", 84_929_347_584, 3_352_320_000_000),
    "h200": _gpu_target("NVIDIA H200", 150_754_820_096, 4_800_000_000_000),
}


def chip_of(topology: str) -> ChipSpec:
    """The :class:`ChipSpec` of a topology name such as ``"v5p:2x2x1"``, ``"v5e:2x4"`` or
    ``"h100:8"`` (8 GPUs on one host; ``"h100:2x8"``: 2 hosts of 8)."""
    generation = topology.split(":", 1)[0].strip().lower()
    if generation not in CHIPS:
        raise ValueError(
            f"topology {topology!r}: unknown accelerator {generation!r}; use one of "
            f"{sorted(CHIPS)} (e.g. v5p:2x2x1, v5e:2x4, h100:8)"
        )
    return CHIPS[generation]


def gpu_topology(topology: str) -> str:
    """The CUDA plugin's ``slices x hosts x devices`` string of ``"h100:8"`` / ``"h100:2x8"``."""
    dims = [int(d) for d in topology.split(":", 1)[1].split("x")]
    if len(dims) == 1:
        dims = [1, *dims]
    if len(dims) != 2:
        raise ValueError(f"topology {topology!r}: use GPU:N or GPU:HOSTSxN (e.g. h100:8)")
    return f"1x{dims[0]}x{dims[1]}"


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
