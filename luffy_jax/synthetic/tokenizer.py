"""A tiny character-level tokenizer, as a real ``transformers`` fast tokenizer with a chat template.

Used by the synthetic reproduction and the tests: every printable ASCII character is one token,
plus ChatML and think special tokens. Saved with ``save_pretrained`` it loads back with
``AutoTokenizer.from_pretrained`` like any Hugging Face tokenizer, so the trainer treats it exactly
as it treats Qwen's.
"""

from __future__ import annotations

import os
import string

from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>")
CHARS = tuple(string.printable[:95])  # digits, letters, punctuation, space (no tabs/vertical ws)
CHARS = CHARS + ("\n",)

CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n<think>\\n' }}{%- endif %}"
)


def build_char_tokenizer() -> PreTrainedTokenizerFast:
    """A character-level ``PreTrainedTokenizerFast`` (vocab: 5 special tokens + 96 characters).

    ``<|endoftext|>`` (id 0) is both EOS and PAD, as in Qwen2.5-Math.
    """
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + CHARS)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<|endoftext|>"))
    core.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    core.decoder = decoders.Fuse()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=list(SPECIAL_TOKENS[1:]),
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def save_char_tokenizer(path: str | os.PathLike) -> str:
    """Builds the tokenizer and saves it to ``path`` (a folder); returns the folder."""
    path = os.fspath(path)
    build_char_tokenizer().save_pretrained(path)
    return path
