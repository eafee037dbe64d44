"""Test-wide setup: 8 virtual CPU devices (set before JAX is imported) and float32 matmuls."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
_flags = os.environ.get("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in _flags:
    os.environ["XLA_FLAGS"] = f"{_flags} --xla_force_host_platform_device_count=8".strip()
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pathlib  # noqa: E402

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")

SHARED_DATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    """The read-only ``../shared/data`` folder beside the checkout."""
    if not SHARED_DATA.is_dir():
        raise FileNotFoundError(f"expected the shared data folder at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Frees every compiled program after each test module. Each compiled CPU program keeps a few
    memory mappings until its cache entry goes; one process running the whole suite (``pytest``
    without ``-n``) compiles ~20,000 programs and would pass the kernel's 65,530 mappings and
    crash inside the XLA compiler."""
    yield
    jax.clear_caches()
