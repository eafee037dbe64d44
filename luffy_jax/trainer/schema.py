"""The full field schema of a training run, with LUFFY's official defaults (spec section 2).

Every preset in ``experiments/`` starts from :func:`get_config` (``luffy_jax.trainer.schema``) and changes what it needs; every
field can be overridden on the command line (``--config.loss.shaping_gamma=0.3``).
"""

import ml_collections

# Choices of the parity switches (README, "Parity with the official code").
ROW_ORDERS = ("groups", "official")  # batch.row_order
MASK_ENDS = ("stop_token", "official")  # rollout.response_mask_end
LONG_TRACES = ("drop", "cut_with_eos", "official")  # data.long_traces
JUDGE_KINDS = {"ours": "math", "math_verify": "math_verify"}  # reward.judge -> reward kind


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.method = "luffy"  # a name of luffy_jax.trainer.methods.METHODS
    c.seed = 47
    c.total_steps = 500  # --max_steps stops earlier; a later call with a larger value resumes

    c.model = ml_collections.ConfigDict()
    c.model.hf_path = ""  # a Hugging Face checkpoint folder (config.json + *.safetensors), or
    c.model.config_json = ""  # a config.json for a randomly initialised model (tests, smoke runs)
    c.model.overrides = ml_collections.ConfigDict()  # ModelConfig fields, e.g. num_layers=2
    c.model.dtype = "bfloat16"  # compute dtype (matmuls, activations); norms/softmax/logits in f32
    # Weights and optimizer state: float32 master weights, as the official FSDP worker keeps. Below
    # float32, AdamW updates at lr 1e-6 round away for most weights (20 steps changed 1.8% of
    # N(0, 0.02) bfloat16 weights and none of the norm scales); low_precision_params=True accepts it.
    c.model.param_dtype = "float32"
    c.model.low_precision_params = False
    c.model.remat = True
    # Whole-sequence attention kernel (training, log-prob pass, prefill): xla (any backend, the
    # reference) | splash (TPU Pallas) | cudnn (NVIDIA, bf16; no packed rows) | pallas_gpu (Triton)
    c.model.attention_impl = "xla"

    c.tokenizer = ml_collections.ConfigDict()
    c.tokenizer.path = ""  # default: model.hf_path

    c.data = ml_collections.ConfigDict()
    c.data.train_files = ""  # comma-separated parquet/JSONL files and/or tfds:NAME@DATA_DIR
    c.data.fmt = ""  # "" = from the extension
    c.data.problem_field = "problem"
    c.data.answer_field = "answer"
    c.data.trace_field = "trace"
    c.data.traces_field = "traces"
    c.data.use_system_prompt = True  # LUFFY's system prompt for JSONL problems
    c.data.max_prompt_length = 1024
    c.data.max_response_length = 8192
    # A trace longer than the response budget (with its EOS): "drop" the example (counted),
    # "cut_with_eos" (cut so that trace + EOS fit), or "official": cut to the budget, no EOS (the
    # official dataset truncates targets to max_prefix_len and the rollout cuts trace + EOS).
    c.data.long_traces = "drop"
    c.data.on_error = "raise"  # or "skip" (counted and logged)
    c.data.max_examples = 0  # 0 = all

    c.rollout = ml_collections.ConfigDict()
    c.rollout.prompts_per_step = 128
    c.rollout.n = 8  # rows per prompt, on- plus off-policy
    c.rollout.n_off = 1  # off-policy traces per prompt (k)
    # Partial-trace prefixes for ablations (luffy_jax.trainer.prefixes; the official rollout's
    # prefix_strategy & co.): the first n_off copies get a prefix ratio, the policy continues from
    # prompt + prefix. LUFFY: random with ratios 1.0 = the whole trace.
    c.rollout.prefix_strategy = "random"  # random | linear_max | reverse_linear | fixed | linear
    c.rollout.min_prefix_ratio = 1.0
    c.rollout.max_prefix_ratio = 1.0
    c.rollout.prefix_share_across_samples = False
    c.rollout.prefix_steps = 1000
    c.rollout.prefix_linear_max_ratio = 0.8
    c.rollout.temperature = 1.0
    c.rollout.top_p = 1.0
    c.rollout.top_k = 0
    c.rollout.max_concurrent = 0  # 0 = derived from free device memory
    c.rollout.use_sampler_logprobs = False  # True: skip the old-log-prob forward pass
    # Stop also on the end-of-turn ids of the model's generation_config.json (vLLM does).
    c.rollout.stop_on_generation_config_eos = True
    # Where a response's valid tokens end: "stop_token" (through the token that stopped it) or
    # "official" (through the first EOS of the PAD-padded response, all if none: with PAD == EOS a
    # row that stopped on another end-of-turn id also counts the PAD after it).
    c.rollout.response_mask_end = "stop_token"
    c.rollout.reward_timeout_s = 5.0
    c.rollout.reward_workers = 0  # 0 = one per CPU core

    c.reward = ml_collections.ConfigDict()
    # The training reward's judge (v3 rule: "</think>" required, answer after it): "ours" (the
    # sympy judge of luffy_jax.rewards) or "math_verify" (the official judge; needs the
    # math-verify extra). In-training validation (eval.grader="math") uses the same judge.
    c.reward.judge = "ours"

    c.loss = ml_collections.ConfigDict()
    c.loss.use_clip = False
    c.loss.clip_ratio = 0.2
    c.loss.clip_ratio_high = -1.0  # < 0: same as clip_ratio
    c.loss.off_policy_shaping = "p_div_p"
    c.loss.shaping_gamma = 0.1
    c.loss.shaping_pow = 0.5
    c.loss.shaping_weight = 0.1
    c.loss.on_policy_shaping = "none"
    c.loss.aggregation = "constant"
    c.loss.constant_normalizer = -1.0  # < 0: the padded response width (max_response_length)
    c.loss.off_max_clip = -1.0  # < 0: off
    c.loss.off_min_clip = -1.0
    c.loss.entropy_coef = 0.001
    c.loss.kl_coef = 0.0
    c.loss.sft_coef = 1.0
    c.loss.advantage_use_std = False
    # Entropy bonus / SFT term (rl_with_sft_loss): "mini_batch_mean" = one token mean over the
    # mini-batch (independent of micro-batching); "official" = the sum of token means over the
    # official micro-batches (token budget batch.official_max_tokens per rank, batch.official_ranks
    # ranks), divided by the ranks -- what the official code optimises (spec 1.10).
    c.loss.entropy_reduction = "mini_batch_mean"
    c.loss.sft_reduction = "mini_batch_mean"

    c.optim = ml_collections.ConfigDict()
    c.optim.lr = 1e-6
    c.optim.b1 = 0.9
    c.optim.b2 = 0.999
    c.optim.eps = 1e-8
    c.optim.weight_decay = 0.01
    c.optim.grad_clip = 1.0
    c.optim.schedule = "constant"  # constant | cosine
    c.optim.warmup_steps = 0
    c.optim.min_lr_ratio = 0.1  # cosine floor

    c.batch = ml_collections.ConfigDict()
    c.batch.mini_batch_prompts = 64  # one optimizer step per mini-batch (2 per rollout in LUFFY)
    c.batch.micro_batch_rows = 8  # rows per forward/backward (gradients accumulated exactly)
    # Which rows form a mini-batch: "groups" (whole prompt groups, in order) or "official" (the
    # official row balancing: rows spread over batch.official_ranks ranks by token count).
    c.batch.row_order = "groups"
    c.batch.official_ranks = 8  # the official run's data-parallel ranks (8 GPUs)
    c.batch.official_max_tokens = 32768  # ppo_max_token_len_per_gpu
    # Packing (trainer/packing.py): the log-prob pass and the update run on the rows' real tokens
    # laid end to end in sequences of max_prompt_length + max_response_length tokens (segment ids:
    # attention never crosses a row), micro-batches cut by a token budget instead of a row count;
    # values and gradients equal the padded path's. Off: every row padded to the full width.
    c.batch.packing = False
    # Packed micro-batch token budget over the whole mesh (like verl's ppo_max_token_len_per_gpu
    # times the ranks); 0: micro_batch_rows x (max_prompt_length + max_response_length).
    c.batch.max_tokens_per_micro_batch = 0

    c.sft = ml_collections.ConfigDict()  # the SFT baseline and stage 1 of sft_then_rl
    c.sft.steps = 0  # sft_then_rl: SFT optimizer steps before RL starts
    c.sft.lr = 5e-5

    c.mesh = ml_collections.ConfigDict()
    c.mesh.data = 1
    c.mesh.fsdp = -1
    c.mesh.tensor = 1

    c.eval = ml_collections.ConfigDict()
    c.eval.files = ""  # comma-separated; "" = no validation
    c.eval.every = 10
    c.eval.temperature = 0.6
    c.eval.max_new_tokens = 8192
    c.eval.grader = "math"  # in-training validation: reward v3 (spec 1.12); final eval: "boxed"
    c.eval.remove_system = False
    c.eval.max_examples = 0

    c.checkpoint = ml_collections.ConfigDict()
    c.checkpoint.every = 50
    c.checkpoint.keep = 2

    c.log = ml_collections.ConfigDict()
    c.log.peak_tflops = 0.0  # per device; > 0 enables the MFU metric
    c.log.tensorboard = True
    return c
