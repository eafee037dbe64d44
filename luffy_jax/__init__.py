"""luffy_jax: LUFFY (Learning to reason Under oFF-policY guidance) in JAX/Flax.

Subpackages (see ../shared/docs/architecture.md for the data flow of one step):

- ``luffy_jax.models``: the Flax Linen decoder, Hugging Face import/export, chunked log-probs.
- ``luffy_jax.sampling``: jitted prefill + decode with a KV cache.
- ``luffy_jax.objectives``: group advantages, policy shaping, the baselines' losses.
- ``luffy_jax.rewards``: verifiable math reward and a bounded parallel scorer.
- ``luffy_jax.data``: readers, TFDS builders, chat templating, the Grain pipeline.
- ``luffy_jax.sharding``: the device mesh and the logical-axis rules.
"""

__version__ = "0.1.0"
