"""The tests' tiny decoder: one place for the 2-layer, 4-head (2 KV heads) shape they share."""

from luffy_jax.models import ModelConfig

TINY_FIELDS = dict(
    vocab_size=128,
    hidden_size=32,
    intermediate_size=48,
    num_layers=2,
    num_heads=4,
    num_kv_heads=2,
    head_dim=8,
    qkv_bias=True,
)


def tiny_model_config(**overrides) -> ModelConfig:
    """A float32 ``ModelConfig`` small enough for CPU tests (``TINY_FIELDS``, then ``overrides``)."""
    return ModelConfig(**{**TINY_FIELDS, **overrides})
