"""The offline reproduction: a verifiable multi-step arithmetic task with a programmatic teacher,
a character-level tokenizer, the base policy's setup, the runs' presets and the report writer
(see ``luffy_jax.quickstart`` and ``experiments/synthetic_comparison.py``).
"""

from luffy_jax.synthetic.files import Files
from luffy_jax.synthetic.preset import FULL, METHODS, TINY, Scale, run_config
from luffy_jax.synthetic.setup import prepare_files
from luffy_jax.synthetic.task import (
    Problem,
    guessed_trace,
    make_split,
    plain_answer,
    sample_problem,
    short_trace,
    teacher_trace,
    write_jsonl,
)
from luffy_jax.synthetic.tokenizer import build_char_tokenizer, save_char_tokenizer

__all__ = [
    "FULL",
    "TINY",
    "METHODS",
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
    "short_trace",
    "save_char_tokenizer",
    "teacher_trace",
    "write_jsonl",
]
