"""luffy_jax.compile_check: the tiny smoke model compiled for TPU slices on this CPU host (libtpu
from requirements-test.txt), and the pieces of its estimate."""

import dataclasses
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import smoke
from luffy_jax.compile_check import check, chip_of, format_table, reusable, summary
from luffy_jax.compile_check import estimate as E
from luffy_jax.compile_check import pieces as P
from luffy_jax.compile_check.chips import accelerator_type, gpu_topology
from luffy_jax.compile_check.collectives import collective_bytes
from luffy_jax.models import ModelConfig
from luffy_jax.models.attention import masked_attention

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PIECES = [
    "sampler_refill",
    "sampler_decode_step",
    "logprob_pass",
    "micro_batch_grad",
    "optimizer_update",
]


def _tiny_config():
    """The smoke preset, smaller still (compiles in seconds): 512-token vocabulary, 64-token
    prompts."""
    c = smoke.get_config()
    c.model.overrides.vocab_size = 512
    c.data.max_prompt_length = 64
    return c


def test_chip_specs_and_accelerator_types():
    assert chip_of("v5p:2x2x1").hbm_gb == 95.0 and chip_of("v5e:2x4").peak_tflops == 197.0
    assert chip_of("V6E:2x2").name == "v6e"
    with pytest.raises(ValueError, match="unknown accelerator 'v9'"):
        chip_of("v9:2x2")
    assert accelerator_type("v5e:2x2") == "v5litepod-4"
    assert accelerator_type("v5p:2x2x1") == "v5p-8"
    assert accelerator_type("v6e:2x4") == "v6e-8"
    assert chip_of("h100:8").platform == "cuda" and gpu_topology("h100:8") == "1x1x8"
    assert gpu_topology("h200:2x8") == "1x2x8"


def test_collective_bytes_sums_ring_costs_of_every_replica_group_format():
    hlo = "\n".join(
        [
            "ENTRY %main (p: f32[8]) -> f32[8] {",
            # all-gather to 4 x 1024 bf16 over 4 chips (mesh-axes format): 3/4 of 8 KiB
            "  %ag = bf16[4,1024]{1,0} all-gather(%x), replica_groups=mesh['a'=4,'b'=2] {'a'}, "
            "dimensions={0}",
            # all-reduce of 1000 f32 over groups of 2 ({{..}} format): 2 * 4000 * 1/2
            "  %ar = f32[1000]{0} all-reduce(%y), replica_groups={{0,1},{2,3}}, to_apply=%add",
            # async all-gather start, iota format [2,4]: groups of 4, tuple result -> largest
            "  %s = (bf16[256]{0}, bf16[1024]{0}) all-gather-start(%z), replica_groups=[2,4]<=[8]",
            "  %d = bf16[1024]{0} all-gather-done(%s)",
            "  %n = f32[64]{0} all-reduce(%w), replica_groups={{0}}",  # a group of 1 moves nothing
            "}",
            # TPU's reduce-scatter: an all-reduce inside an all-reduce-scatter computation
            "%all-reduce-scatter.3 (input: f32[512,64]) -> f32[512,16] {",
            "  %a = f32[512,64]{0,1} all-reduce(%input), replica_groups={{0,1,2,3}}",
            "}",
        ]
    )
    expected = (
        8192 * 3 / 4  # all-gather
        + 2 * 4000 / 2  # all-reduce over 2
        + 2048 * 3 / 4  # all-gather-start over 4
        + 512 * 64 * 4 * 3 / 4  # reduce-scatter over 4
    )
    assert collective_bytes(hlo) == pytest.approx(expected)


def test_flash_attention_formula_matches_xla_count_on_one_block():
    """With one 128-token block the causal kernel visits the whole square: the formula must equal
    XLA's count of plain attention's two matmuls."""
    cfg = ModelConfig(
        vocab_size=16,
        hidden_size=64,
        intermediate_size=64,
        num_layers=3,
        num_heads=4,
        num_kv_heads=2,
        head_dim=16,
        dtype="bfloat16",
    )
    b, t = 2, 128
    q = jnp.zeros((b, t, 4, 16), jnp.bfloat16)
    kv = jnp.zeros((b, t, 2, 16), jnp.bfloat16)
    mask = jnp.ones((b, t, t), bool)
    cost = jax.jit(masked_attention).lower(q, kv, kv, mask).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    matmuls = 2 * 2 * b * 4 * t * t * 16
    assert cost["flops"] >= matmuls  # XLA adds the softmax's few FLOPs per score
    flops, nbytes = E.flash_attention_cost(cfg, b, t, row_shards=1, head_shards=1)
    assert flops == pytest.approx(3 * matmuls)  # three layers
    # split over 2 row shards and 2 head shards: a quarter per chip; 3 rows do not split by 2
    assert E.flash_attention_cost(cfg, b, t, 2, 2)[0] == pytest.approx(flops / 4)
    assert E.flash_attention_cost(cfg, 3, t, 2, 1)[0] == pytest.approx(flops * 3 / 2)
    # 4 blocks of 512 at 2048 tokens: 10 of 16 blocks visited
    long_flops, _ = E.flash_attention_cost(cfg, b, 2048, 1, 1)
    assert long_flops == pytest.approx(3 * 4 * b * 4 * 2048**2 * 16 * 10 / 16)
    assert nbytes > 0
    # the gradient: forward, its remat, and a 2.5-forward backward; XLA attention adds nothing
    grad, _ = E.kernel_cost(
        cfg.replace(attention_impl="splash", remat=True), "micro_batch_grad", b, t, 1, 1
    )
    assert grad == pytest.approx(4.5 * flops)
    assert E.kernel_cost(cfg, "micro_batch_grad", b, t, 1, 1) == (0.0, 0.0)


def test_extrapolation_is_linear_in_the_depth():
    a = [P.Measured("x", 1.0, argument=10.0, temp=5.0, flops=100.0, compile_s=1.0)]
    b = [P.Measured("x", 1.0, argument=14.0, temp=6.0, flops=180.0, compile_s=2.0)]
    from luffy_jax.compile_check import _extrapolate

    (m,) = _extrapolate(a, b, (2, 4), 28)
    assert (m.argument, m.temp, m.flops) == (62.0, 18.0, 1140.0)  # 13 steps of 2 layers
    assert m.compile_s == 3.0 and m.error == ""
    # depths compiled by separate runs come back from their JSON reports
    reports = [
        json.loads(json.dumps({"compiled": {str(d): [dataclasses.asdict(x) for x in row]}}))
        for d, row in ((2, a), (4, b))
    ]
    assert reusable(reports) == {2: a, 4: b}


def test_compile_check_of_the_smoke_model_on_v5p():
    report = check(_tiny_config(), "v5p:2x2x1")
    assert [p["piece"] for p in report["pieces"]] == PIECES
    assert report["chips"] == 4 and report["mesh"] == {"data": 1, "fsdp": 4, "tensor": 1}
    for p in report["pieces"]:
        assert p["fits"] and not p["error"], p
        assert p["argument_gb"] > 0 and p["tflops"] > 0 and p["roofline_ms"] > 0, p
    by = {p["piece"]: p for p in report["pieces"]}
    # the gradient all-gathers the fsdp-sharded weights and reduce-scatters their gradients
    assert by["micro_batch_grad"]["ici_gb"] > 0
    # one step: 2 prompts x 4 rows in one micro-batch. The sampler: 2 x 3 sampled rows in 4 slots
    # (6 rounded down to the 4-way row split), 32 tokens each: 6 x 32 / 4 = 48 decode steps; a
    # refill starts one whole prompt (3 rows), in a prefill batch padded to the row split (4)
    assert by["micro_batch_grad"]["calls_per_step"] == 1
    assert by["sampler_decode_step"]["calls_per_step"] == 48
    assert by["sampler_refill"]["calls_per_step"] == 2
    batch = report["batch"]
    assert (batch["decode_slots"], batch["refill_prompts"], batch["refills"]) == (4, 4, 2)
    # the decode step's arguments hold each chip's slot of the KV cache: keys and values of 2
    # layers x 96 positions (64 + 32) x 2 KV heads x 16 dims in float32
    assert by["sampler_decode_step"]["argument_gb"] * 1e9 >= 2 * 2 * 96 * 2 * 16 * 4
    assert report["fits"] and 0 < report["peak_hbm_frac"] < 0.01
    assert report["update_mfu_est"] > 0 and report["decode_tokens_per_s_est"] > 0
    split = report["step_split_s"]
    assert report["step_time_s_est"] == pytest.approx(sum(split.values()))
    assert json.loads(json.dumps(summary(report)))["fits"] is True
    assert [m["name"] for m in report["compiled"]["2"]] == PIECES  # the raw figures, by depth
    assert "micro_batch_grad" in format_table(report)


def test_cli_prints_a_table_and_a_json_last_line_and_exits_1_when_a_piece_does_not_fit(
    shared_data, tmp_path
):
    """On v5e:2x2, demanding that every piece fit in a millionth of the HBM; the model's
    config.json given by --model_config (here: the smoke model's with a 512-token vocabulary)."""
    with open(shared_data / "model_configs" / "qwen2.5-1.5b.json", encoding="utf-8") as f:
        model = json.load(f)
    model["vocab_size"] = 512
    (tmp_path / "config.json").write_text(json.dumps(model), encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "luffy_jax.compile_check",
        "--config=experiments/smoke.py",
        "--topology=v5e:2x2",
        "--max_hbm_frac=1e-6",
        f"--model_config={tmp_path / 'config.json'}",
        "--config.data.max_prompt_length=64",
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("v5e:2x2: 4 x v5e (16 GB HBM each)")
    last = json.loads(lines[-1])
    assert last["fits"] is False and last["max_hbm_frac"] == 1e-6
    assert 0 < last["peak_hbm_frac"] < 0.01 and last["update_mfu_est"] > 0
    assert last["decode_tokens_per_s_est"] > 0 and last["errors"] == {}


def test_packed_runs_compile_the_packed_pieces_at_the_budgets_largest_shape():
    """With batch.packing the log-prob pass and gradient are trainer.packed_step's, on sequences
    of P + R tokens (the budget's count per row shard) and row slots for a whole mini-batch."""
    from luffy_jax.trainer import packed_step as PS
    from luffy_jax.trainer import step as S
    from luffy_jax.trainer.config import translate
    from luffy_jax.trainer.setup import model_config_of

    c = _tiny_config()
    c.batch.packing = True
    report = check(c, "v5p:2x2x1")
    assert [p["piece"] for p in report["pieces"]] == PIECES
    assert all(p["fits"] and not p["error"] for p in report["pieces"]), report["pieces"]
    run = translate(c)
    stage = run.stages[-1]
    mesh = jax.sharding.Mesh(
        np.asarray(jax.devices()[:4]).reshape(1, 4, 1), ("data", "fsdp", "tensor")
    )
    mb = P.packed_micro_batch(mesh, stage.shape, with_ref=False)
    # a budget of 8 rows x 96 tokens over 4 row shards: 2 sequences each; 8 rows per mini-batch:
    # 2 row slots per shard
    assert mb["tokens"].shape == (8, 96) and mb["gather_index"].shape == (8, 32)
    assert mb["segment_ids"].shape == mb["positions"].shape == (8, 96)
    cfg = model_config_of(run.model)
    params = P.abstract_params(cfg, mesh)
    tx = S.make_optimizer(stage.optim)[0]
    opt = P.abstract_opt_state(tx, params, mesh)
    pieces = P.update_pieces(cfg, stage, params, opt, tx, mesh, logprob_passes=1, with_ref=False)
    fns = {pc.name: pc.fn for pc in pieces}
    assert fns["logprob_pass"] is PS.packed_response_logprobs
    assert fns["micro_batch_grad"] is PS.accumulate_packed_micro_batch
    c.batch.packing = False
    stage = translate(c).stages[-1]
    pieces = P.update_pieces(cfg, stage, params, opt, tx, mesh, logprob_passes=1, with_ref=False)
    assert {pc.name: pc.fn for pc in pieces}["micro_batch_grad"] is S.accumulate_micro_batch
