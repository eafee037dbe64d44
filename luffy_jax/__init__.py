"""luffy_jax: LUFFY (Learning to reason Under oFF-policY guidance) in JAX/Flax.

Subpackages (see ../shared/docs/architecture.md for the data flow of one step):

- ``luffy_jax.models``: the Flax Linen decoder, Hugging Face import/export, chunked log-probs.
- ``luffy_jax.sampling``: jitted prefill + decode with a KV cache.
- ``luffy_jax.objectives``: group advantages, policy shaping, the baselines' losses.
- ``luffy_jax.rewards``: verifiable math reward and a bounded parallel scorer.
- ``luffy_jax.data``: readers, TFDS builders, chat templating, the Grain pipeline.
- ``luffy_jax.sharding``: the device mesh and the logical-axis rules.
- ``luffy_jax.evaluation``: sampling and grading a policy on benchmarks (avg@k by replicas).
- ``luffy_jax.trainer``: methods as data, configs translated once, the step, the resumable loop.
- Entry points (the only modules that read flags): ``train``, ``evaluate``, ``export_hf``,
  ``plot``, ``sweep``, ``quickstart``.

Layers, lowest first (``tests/test_layering.py`` keeps them): ``sharding``; ``models``, ``data``,
``objectives``, ``rewards``; ``sampling``; ``evaluation``; ``trainer``; the entry points and
``synthetic``. Nothing imports a layer above its own.
"""

__version__ = "0.1.0"
