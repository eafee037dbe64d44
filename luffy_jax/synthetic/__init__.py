"""The offline reproduction: a verifiable multi-step arithmetic task with a programmatic teacher,
a character-level tokenizer, and the setup of base policy and runs (see ``luffy_jax.quickstart``).
"""

from luffy_jax.synthetic.setup import FULL, TINY, Files, Scale, prepare_files, run_config
from luffy_jax.synthetic.task import (
    Problem,
    guessed_trace,
    make_split,
    plain_answer,
    sample_problem,
    teacher_trace,
    write_jsonl,
)
from luffy_jax.synthetic.tokenizer import build_char_tokenizer, save_char_tokenizer

__all__ = [
    "FULL",
    "TINY",
    "Files",
    "Problem",
    "Scale",
    "build_char_tokenizer",
    "guessed_trace",
    "make_split",
    "plain_answer",
    "prepare_files",
    "run_config",
    "sample_problem",
    "save_char_tokenizer",
    "teacher_trace",
    "write_jsonl",
]
