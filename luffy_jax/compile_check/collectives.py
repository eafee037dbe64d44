"""Collective traffic of a compiled program, read from its optimized HLO text."""

from __future__ import annotations

import math
import re

_ITEMSIZE = {
    "pred": 1,
    "s8": 1,
    "u8": 1,
    "bf16": 2,
    "f16": 2,
    "s16": 2,
    "u16": 2,
    "f32": 4,
    "s32": 4,
    "u32": 4,
    "f64": 8,
    "s64": 8,
    "u64": 8,
}
_COLLECTIVE = re.compile(
    r"=\s*(?P<shape>\(?[^=]*?\)?)\s+(?P<op>all-gather|all-reduce|reduce-scatter|all-to-all|"
    r"collective-permute)(?:-start)?\("
)
_COMPUTATION = re.compile(r"^(?:ENTRY\s+)?%(?P<name>[\w.-]+)\s.*\{\s*$")
_ARRAY = re.compile(r"\b(pred|[subf]\d+|bf16)\[([\d,]*)\]")
_GROUPS_IOTA = re.compile(r"replica_groups=\[(\d+),(\d+)\]")
_GROUPS_LIST = re.compile(r"replica_groups=\{\{([\d,]*)\}")
_GROUPS_MESH = re.compile(r"replica_groups=mesh\[([^\]]*)\]\s*\{([^}]*)\}")


def collective_bytes(hlo_text: str) -> float:
    """Bytes one chip sends through collectives, summed over the optimized HLO's collective ops
    (each op counted once, also inside a ``while`` body: per loop iteration), with ring costs:
    all-gather ``out (g-1)/g``, reduce-scatter ``out (g-1)`` (TPU writes it as an all-reduce
    inside an ``all-reduce-scatter`` computation: ``in (g-1)/g``), all-reduce ``2 size (g-1)/g``,
    all-to-all ``size (g-1)/g``, collective-permute ``size``; ``g`` the replica group size.
    An estimate: it ignores the topology and overlap with compute."""
    total, computation = 0.0, ""
    for line in hlo_text.splitlines():
        head = _COMPUTATION.match(line)
        if head:
            computation = head.group("name")
            continue
        match = _COLLECTIVE.search(line)
        if not match:
            continue
        arrays = [
            math.prod(int(d) for d in dims.split(",") if d) * _ITEMSIZE.get(dt, 4)
            for dt, dims in _ARRAY.findall(match.group("shape"))
        ]
        if not arrays:
            continue
        size = float(max(arrays))
        g = _group_size(line)
        op = match.group("op")
        if g <= 1 and op != "collective-permute":
            continue
        if op == "all-reduce" and computation.startswith("all-reduce-scatter"):
            total += size * (g - 1) / g
        elif op == "all-gather":
            total += size * (g - 1) / g
        elif op == "reduce-scatter":
            total += size * (g - 1)
        elif op == "all-reduce":
            total += 2 * size * (g - 1) / g
        elif op == "all-to-all":
            total += size * (g - 1) / g
        else:
            total += size
    return total


def _group_size(line: str) -> int:
    iota = _GROUPS_IOTA.search(line)
    if iota:
        return int(iota.group(2))
    listed = _GROUPS_LIST.search(line)
    if listed:
        return len([x for x in listed.group(1).split(",") if x])
    mesh = _GROUPS_MESH.search(line)
    if mesh:
        sizes = dict(re.findall(r"'([^']+)'=(\d+)", mesh.group(1)))
        axes = re.findall(r"'([^']+)'", mesh.group(2))
        return math.prod(int(sizes.get(a, 1)) for a in axes)
    return 1
