"""LUFFY on Qwen2.5-Math-7B, mirroring the official ``train.sh`` (spec section 2), and variants.

    python -m luffy_jax.train --config=experiments/luffy_qwen25_math_7b.py --workdir=runs/luffy7b
    python -m luffy_jax.train --config=experiments/luffy_qwen25_math_7b.py:on_policy --workdir=...

Variants (``:name``): ``luffy`` (default), ``math_1_5b`` (Qwen2.5-Math-1.5B), ``instruct``
(Qwen2.5-7B-Instruct), ``prefix_ablation`` (partial-trace prefixes), ``on_policy`` (``train_on_policy.sh``), ``no_shaping`` (LUFFY with the
plain importance weight ``p`` on trace tokens, the paper's shaping ablation), ``rl_with_sft_loss``
(``train_rl_sft_loss.sh``), ``sft_then_rl`` (``train_sft_rl.sh``: RL from an SFT checkpoint on
the complement prompt set), ``sft`` (the SFT baseline, OpenRLHF settings of spec 3.3).

Memory plans for TPU slices, found with ``python -m luffy_jax.compile_check`` (BENCHMARKS.md has
the figures; BUILD.md how to check a config before booking a slice): ``v5p16`` (the 7B run on 16
v5p chips, ``v5p:2x2x4``), ``math_1_5b_v5p4`` (1.5B on 4 v5p chips, ``v5p:2x2x1``),
``math_1_5b_v5e8`` (1.5B on 8 v5e chips, ``v5e:2x4``). They change only how the same step runs
(attention kernel, mesh split, micro-batch, sampler slots), never what it computes.

Paths: ``model.hf_path`` must point at a local copy of ``Elliott/Qwen2.5-Math-7B-16k-think``
(rope_theta 40000, 16k positions, template ending in ``<think>\\n``), ``data.train_files`` at
``openr1.parquet`` (``Elliott/Openr1-Math-46k-8192``); nothing is downloaded.

The preset selects the official setting of every parity switch (README, "Parity with the
official code"): the entropy bonus (and the SFT term of ``rl_with_sft_loss``) reduced over the
official micro-batches (token budget 32768 per rank, 8 ranks: about K ~ 9 times the mini-batch
token mean for ~4.3k-token rows), the official row balancing, long traces cut without EOS,
math-verify as the judge, end-of-turn stop ids and the official response mask. The PG term is
``sum(m*l) / 65536`` per 512-row mini-batch, which is exactly the official ``sum/8192`` per
micro-batch averaged over 8 ranks (spec 1.10); micro-batch gradients are accumulated exactly, so
none of this depends on our mesh or ``batch.micro_batch_rows``.

The log-prob pass and the update run packed (``batch.packing``, like the official
``use_remove_padding`` + dynamic batch size): rows' real tokens laid end to end in sequences of
1024 + 8192 tokens with segment ids, micro-batches of ``8 x 9216`` tokens -- the padded 8-row
micro-batch's shape, so the same activation memory -- holding as many rows as fit. On the real
lengths (responses about 1k tokens early on, traces longer) most padded columns are padding; the
packed values and gradients equal the padded ones (``tests/trainer/test_packing.py``), and the
objective's normaliser is the constant above, never a packed width. With
``model.attention_impl="cudnn"`` set packing to False (cuDNN's kernel takes one segment per row).

Choices that differ from the official code (documented, deliberate):
- the first step runs at lr 1e-6 (the official scheduler gives lr 0 for all of step 1, spec 6.2.2);
- weights and optimizer state are float32, compute bfloat16 (``model.param_dtype``), as the
  official FSDP worker.

``:prefix_ablation``: LUFFY with partial-trace prefixes (the official rollout's prefix
strategies, spec 1.3 item 3; ``rollout.prefix_strategy``): the trace copy gets a prefix ratio
drawn from U(0, 0.8 x (10 - i) / 10) in the i-th tenth of ``rollout.prefix_steps`` and the policy
continues from it.
"""

import ml_collections

from luffy_jax.trainer import schema as base


def _luffy() -> ml_collections.ConfigDict:
    c = base.get_config()
    c.method = "luffy"
    c.seed = 47
    c.total_steps = 500  # ~64k prompts (the README's data usage); the official run is open-ended
    c.model.hf_path = "checkpoints/Qwen2.5-Math-7B-16k-think"
    c.model.dtype = "bfloat16"
    c.model.remat = True
    c.data.train_files = "data/openr1.parquet"
    c.data.max_prompt_length = 1024
    c.data.max_response_length = 8192
    c.rollout.prompts_per_step = 128
    c.rollout.n = 8
    c.rollout.n_off = 1
    c.rollout.temperature = 1.0
    c.rollout.top_p = 1.0
    c.rollout.top_k = 0
    c.loss.use_clip = False  # loss_remove_clip=True
    c.loss.off_policy_shaping = "p_div_p"
    c.loss.shaping_gamma = 0.1
    c.loss.aggregation = "constant"  # loss_remove_token_mean=True
    c.loss.constant_normalizer = 8192.0 * 8  # 8192 per micro-batch, averaged over 8 ranks
    c.loss.entropy_coef = 0.001
    c.loss.kl_coef = 0.0
    c.loss.advantage_use_std = False  # grpo_use_std=False
    # Parity switches, official settings (README "Parity with the official code").
    c.loss.entropy_reduction = "official"  # per-micro-batch token means, summed, / 8 ranks
    c.loss.sft_reduction = "official"  # the same for rl_with_sft_loss's SFT term
    c.batch.row_order = "official"  # _balance_batch over 8 ranks
    c.batch.official_ranks = 8
    c.batch.official_max_tokens = 32768  # ppo_max_token_len_per_gpu
    c.data.long_traces = "official"  # cut to 8192 without EOS
    c.reward.judge = "math_verify"  # reward v3 with math-verify (the math-verify extra)
    c.rollout.stop_on_generation_config_eos = True  # vLLM stops on the generation config's ids
    c.rollout.response_mask_end = "official"  # get_eos_mask: through the first EOS
    c.optim.lr = 1e-6
    c.optim.b1, c.optim.b2, c.optim.eps = 0.9, 0.999, 1e-8
    c.optim.weight_decay = 0.01
    c.optim.grad_clip = 1.0
    c.optim.schedule = "constant"
    c.optim.warmup_steps = 0
    c.batch.mini_batch_prompts = 64  # 2 optimizer steps per rollout batch
    c.batch.micro_batch_rows = 8
    # Packed log-prob and update passes (issue 14): rows' real tokens end to end in 9216-token
    # sequences, micro-batches of 8 x 9216 tokens (the padded micro-batch's shape and memory).
    c.batch.packing = True
    c.batch.max_tokens_per_micro_batch = 0  # micro_batch_rows x (1024 + 8192)
    c.mesh.data, c.mesh.fsdp, c.mesh.tensor = 1, -1, 1
    c.eval.files = "data/valid.parquet"
    c.eval.every = 10
    c.eval.temperature = 0.6
    c.eval.max_new_tokens = 8192
    c.eval.grader = "math"  # in-training validation uses reward v3 (spec 1.12)
    c.eval.remove_system = False
    c.checkpoint.every = 50
    c.checkpoint.keep = 2
    return c


def _tpu_plan(
    c: ml_collections.ConfigDict, *, tensor: int, micro_batch_rows: int, decode_slots: int
) -> ml_collections.ConfigDict:
    """A TPU memory plan: splash attention (no T x T scores at 9k tokens), heads / MLP / KV cache
    split ``tensor`` ways (each decode step then gathers a 1/tensor slice of the weights instead
    of all of them), the rest of the slice FSDP, ``micro_batch_rows`` rows per gradient pass and
    ``decode_slots`` sampled rows decoded at once (``rollout.max_concurrent``)."""
    c.model.attention_impl = "splash"
    c.model.remat = True
    c.mesh.data, c.mesh.fsdp, c.mesh.tensor = 1, -1, tensor
    c.batch.micro_batch_rows = micro_batch_rows
    c.rollout.max_concurrent = decode_slots
    return c


def get_config(variant: str = "luffy") -> ml_collections.ConfigDict:
    c = _luffy()
    if variant == "luffy":
        return c
    if variant == "math_1_5b":
        c.model.hf_path = "checkpoints/Qwen2.5-Math-1.5B-16k-think"
        return c
    if variant == "instruct":
        c.model.hf_path = "checkpoints/Qwen2.5-7B-Instruct"
        return c
    if variant == "on_policy":
        c.method = "on_policy_grpo"  # 8 on-policy samples, PPO clip 0.8/1.2
        c.rollout.n_off = 0
        c.loss.use_clip = True
        return c
    if variant == "no_shaping":
        c.method = "luffy_no_shaping"  # ablation: plain importance weight p on trace tokens
        return c
    if variant == "rl_with_sft_loss":
        c.method = "rl_with_sft_loss"  # grpo_split advantages, SFT token mean + RL sum/8192
        c.loss.sft_coef = 1.0
        return c
    if variant == "sft_then_rl":
        c.method = "on_policy_grpo"
        c.model.hf_path = "checkpoints/Qwen2.5-Math-7B-SFT"
        c.data.train_files = "data/openr1.complement.parquet"
        c.rollout.n_off = 0
        c.loss.use_clip = True
        return c
    if variant == "prefix_ablation":
        # The official rollout's partial-trace prefixes (not LUFFY's final method): the trace copy
        # gets a prefix ratio from a window that shrinks over the first 1000 steps.
        c.rollout.prefix_strategy = "linear_max"
        c.rollout.prefix_steps = 1000
        c.rollout.prefix_linear_max_ratio = 0.8
        return c
    if variant == "v5p16":
        return _tpu_plan(c, tensor=4, micro_batch_rows=32, decode_slots=896)
    if variant == "math_1_5b_v5p4":
        c.model.hf_path = "checkpoints/Qwen2.5-Math-1.5B-16k-think"
        return _tpu_plan(c, tensor=2, micro_batch_rows=8, decode_slots=448)
    if variant == "math_1_5b_v5e8":
        c.model.hf_path = "checkpoints/Qwen2.5-Math-1.5B-16k-think"
        return _tpu_plan(c, tensor=2, micro_batch_rows=8, decode_slots=224)
    if variant == "sft":
        c.method = (
            "sft"  # OpenRLHF: 3 epochs, batch 64, lr 5e-5, warmup 0.1, cosine, Adam(0.9, 0.95)
        )
        c.rollout.prompts_per_step = 64
        c.batch.mini_batch_prompts = 64
        c.data.max_response_length = 16384 - 1024
        c.optim.lr = 5e-5
        c.optim.b2 = 0.95
        c.optim.weight_decay = 0.0
        c.optim.schedule = "cosine"
        c.optim.warmup_steps = 215  # 0.1 x (3 epochs x 45.7k / 64)
        c.total_steps = 2142
        c.loss.entropy_coef = 0.0
        return c
    raise ValueError(f"unknown variant {variant!r} of luffy_qwen25_math_7b")
