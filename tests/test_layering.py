"""The package's data flows one way: nothing below imports anything above it, and no module of
the trainer imports one listed after it in ``luffy_jax.trainer``'s docstring."""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "luffy_jax"

# Lower layers first; a module may import its own layer and those before it.
LAYERS = [
    {"sharding", "distributed"},
    {"models", "data", "objectives", "rewards"},
    {"sampling"},
    {"evaluation"},
    {"trainer"},
    # entry points and applications
    {
        "train",
        "evaluate",
        "export_hf",
        "plot",
        "sweep",
        "quickstart",
        "synthetic",
        "compile_check",
        "launch",
    },
]
TRAINER_ORDER = [
    "schema",
    "methods",
    "prefixes",
    "config",
    "layout",
    "packing",
    "setup",
    "rollout",
    "hosts",
    "metrics",
    "checkpoint",
    "step",
    "packed_step",
    "update",
    "rl_step",
    "loop",
]


def _imports(path: pathlib.Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("luffy_jax"):
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("luffy_jax")}
    return out


def _top(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _layer(top: str) -> int:
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"luffy_jax.{top} is in no layer of tests/test_layering.py")


def test_no_module_imports_a_layer_above_its_own():
    bad = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        own = _top(".".join(rel.parts))
        if own in (None, "__init__"):
            continue
        for imported in _imports(path):
            top = _top(imported)
            if top and top != own and _layer(top) > _layer(own):
                bad.append(f"{rel} imports {imported}")
    assert not bad, "\n".join(bad)


def test_trainer_modules_import_only_earlier_ones():
    order = {name: i for i, name in enumerate(TRAINER_ORDER)}
    found = {p.stem for p in (PACKAGE / "trainer").glob("*.py")} - {"__init__"}
    assert found == set(TRAINER_ORDER), "list every trainer module in TRAINER_ORDER"
    bad = []
    for name in TRAINER_ORDER:
        for imported in _imports(PACKAGE / "trainer" / f"{name}.py"):
            parts = imported.split(".")
            if len(parts) >= 3 and parts[1] == "trainer" and parts[2] in order:
                if order[parts[2]] >= order[name]:
                    bad.append(f"trainer.{name} imports {imported}")
    assert not bad, "\n".join(bad)


def test_trainer_files_stay_readable():
    long = {
        p.name: n
        for p in (PACKAGE / "trainer").glob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long, long
