"""Labelled judge cases by kind of answer: what a model writes after ``</think>``, the gold, and
whether the response deserves the reward.

Written by hand from the mathematics (no benchmark's answer key): for each kind, positives in
the forms models write (LaTeX and plain text, with and without units, reordered, rescaled,
spaced) and near-miss negatives that must stay wrong (another root, a missing solution, an open
instead of a closed end, a wrong unit scale, a decimal approximation of an exact value).

Used by ``test_rewards_judge_cases.py`` (every case must be decided as labelled) and loaded by
path by ``experiments/benchmarks/reward.py`` (accuracy, false positives and latency by kind, for
this judge and math-verify). Plain data: no imports from the package under test.

Most answers are put in a ``\\boxed{}`` by one of :data:`BOX_TEMPLATES` (cycled, so each kind
sees several surroundings); the kinds about extraction (``no_boxed``, ``units_in_text``,
``last_answer``) and a few others give whole responses.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Case:
    """One labelled case: ``response`` is the text after ``</think>``; ``correct`` the label;
    ``hard`` marks the long symbolic cases written for the latency tail."""

    kind: str
    response: str
    gold: str
    correct: bool
    hard: bool = False


BOX_TEMPLATES = (
    "So the answer is $\\boxed{%s}$.",
    "Putting everything together,\n\\[\n\\boxed{%s}\n\\]",
    "**Final Answer**\n\\[ \\boxed{%s} \\]",
    "The final answer is $\\boxed{%s}$. I hope it is correct.",
)

# fmt: off
# kind -> [(gold, [right answers], [wrong answers])]; every answer is boxed by a template
_BOXED: dict[str, list[tuple[str, list[str], list[str]]]] = {
    "equations": [
        ("x = 3", ["x=3", "3", "x = 3.0", "x=\\frac{6}{2}"], ["x=-3", "x = 3, x = -3", "x=4", "x = \\pm 3"]),
        (
            "y = 2x + 1",
            ["y=2x+1", "y = 1 + 2x", "2x + 1", "y - 2x = 1", "2x - y + 1 = 0", "2y = 4x + 2",
             "y=2\\cdot x+1", "x = \\frac{y-1}{2}"],
            ["y = 2x - 1", "y = x + 1", "y = 2x", "2y = 2x + 1", "y=-2x+1", "x = 2y + 1"],
        ),
        (
            "y = -\\frac{1}{2}x + 3",
            ["y=-0.5x+3", "x + 2y = 6", "x+2y-6=0", "y = 3 - \\frac{x}{2}"],
            ["x + 2y = 3", "y=-2x+3", "y = \\frac{1}{2}x + 3"],
        ),
        (
            "x^2 + y^2 = 25",
            ["x^2+y^2=25", "y^2 + x^2 = 25", "x^2 + y^2 - 25 = 0", "x^{2}+y^{2}=5^{2}"],
            ["x^2+y^2=5", "x^2 - y^2 = 25", "x^2+y^2=24"],
        ),
        (
            "(x-1)^2 + (y+2)^2 = 9",
            ["(x - 1)^2 + (y + 2)^2 = 9", "x^2 - 2x + y^2 + 4y - 4 = 0", "(y+2)^2+(x-1)^2=3^2"],
            ["(x+1)^2+(y-2)^2=9", "(x-1)^2+(y+2)^2=3"],
        ),
        (
            "\\frac{x^2}{4} + \\frac{y^2}{3} = 1",
            ["3x^2 + 4y^2 = 12", "\\frac{x^{2}}{4}+\\frac{y^{2}}{3}=1", "\\frac{y^2}{3}+\\frac{x^2}{4}=1"],
            ["\\frac{x^2}{3}+\\frac{y^2}{4}=1", "\\frac{x^2}{2}+\\frac{y^2}{3}=1", "4x^2+3y^2=12"],
        ),
        (
            "x = 2, y = -1",
            ["x=2, y=-1", "y=-1, x=2", "(2, -1)", "x = 2 \\text{ and } y = -1", "(x, y) = (2, -1)"],
            ["x=-1, y=2", "(-1, 2)", "x = 2, y = 1", "x=2"],
        ),
        ("y = x^2 - 4x + 3", ["y=(x-1)(x-3)", "y = (x-2)^2 - 1"], ["y = (x+1)(x+3)", "y=(x-2)^2+1"]),
        ("f(x) = 3x - 2", ["f(x)=3x-2", "3x-2", "f(x) = -2 + 3x"], ["f(x) = 3x + 2", "f(x)=2-3x"]),
        ("a = 2, b = 3", ["a=2, b=3", "b=3, a=2", "a = 2 \\text{ and } b = 3"], ["a=3, b=2", "a=2, b=-3"]),
        ("x = -\\frac{b}{2a}", ["x = \\frac{-b}{2a}", "-\\frac{b}{2a}"], ["x = \\frac{b}{2a}", "x=-\\frac{2a}{b}"]),
        ("z = 1 + 2i", ["z=1+2i", "1+2i", "z = 2i + 1"], ["z=1-2i", "z = 2 + i"]),
    ],
    "sets": [
        (
            "1, 2, 3",
            ["1, 2, 3", "3, 2, 1", "\\{1, 2, 3\\}", "x = 1, 2, 3", "x=1, x=2, x=3", "1, 2, \\text{ and } 3",
             "x \\in \\{3,1,2\\}"],
            ["1, 2", "1, 2, 3, 4", "1, 2, -3", "0, 1, 2"],
        ),
        (
            "\\pm 2",
            ["2, -2", "-2, 2", "x = \\pm 2", "x = 2 \\text{ or } x = -2", "\\{-2, 2\\}"],
            ["2", "-2", "\\pm 4", "\\pm\\sqrt{2}"],
        ),
        (
            "-3, \\frac{1}{2}",
            ["\\frac12, -3", "x = -3 \\text{ or } x = \\frac{1}{2}", "-3, 0.5", "x_1 = -3, x_2 = \\frac{1}{2}"],
            ["3, -\\frac12", "-3", "-3, 2"],
        ),
        (
            "1 \\pm \\sqrt{2}",
            ["1+\\sqrt{2}, 1-\\sqrt{2}", "1-\\sqrt2, 1+\\sqrt2", "x = 1 \\pm \\sqrt{2}", "\\frac{2 \\pm \\sqrt{8}}{2}"],
            ["1 \\pm \\sqrt{3}", "1+\\sqrt{2}", "-1\\pm\\sqrt{2}"],
        ),
        (
            "\\frac{-1 \\pm \\sqrt{5}}{2}",
            ["\\frac{-1+\\sqrt5}{2}, \\frac{-1-\\sqrt5}{2}", "-\\frac{1}{2} \\pm \\frac{\\sqrt{5}}{2}",
             "\\frac{-1-\\sqrt{5}}{2}, \\frac{\\sqrt{5}-1}{2}"],
            ["\\frac{1 \\pm \\sqrt{5}}{2}", "\\frac{-1+\\sqrt{5}}{2}"],
        ),
        ("\\{0, 1\\}", ["0,1", "\\{1,0\\}", "x=0 \\text{ or } x=1"], ["\\{0\\}", "\\{1\\}", "\\{0,1,2\\}"]),
        ("2, 4, 6, 8", ["8,6,4,2", "2,4,6,8", "\\{2, 4, 6, 8\\}"], ["2,4,6", "2,4,6,8,10"]),
        ("x = 1, x = 5", ["1, 5", "5 \\text{ and } 1", "x \\in \\{1,5\\}"], ["x=1", "x = 1, x = -5"]),
        ("\\{-1, 0, 1\\}", ["-1, 0, 1", "0, \\pm 1"], ["\\{0, 1\\}", "-1, 1"]),
        (
            "\\frac{\\pi}{6}, \\frac{5\\pi}{6}",
            ["\\frac{5\\pi}{6}, \\frac{\\pi}{6}", "x = \\frac{\\pi}{6} \\text{ or } x = \\frac{5\\pi}{6}"],
            ["\\frac{\\pi}{6}", "\\frac{\\pi}{6}, \\frac{7\\pi}{6}"],
        ),
        ("3, -1", ["x = 3 \\text{ or } x = -1", "-1 \\text{ and } 3"], ["3, 1", "-3, 1"]),
    ],
    "currency": [
        (
            "1200",
            ["\\$1,200", "1200 \\text{ dollars}", "\\$1200.00", "1,200 \\text{ dollars}", "\\$ 1{,}200",
             "1.2 \\times 10^3"],
            ["\\$120", "\\$12,000", "\\$1.20", "\\$1,201"],
        ),
        ("\\$18.90", ["18.90", "\\$18.9", "18.9 \\text{ dollars}", "\\$18.90"], ["\\$18.09", "\\$1890", "18.91"]),
        ("\\$0.75", ["0.75", "\\$0.75", "75 \\text{ cents}", "\\frac{3}{4} \\text{ dollars}"],
         ["75", "\\$7.50", "7.5 \\text{ cents}"]),
        ("\\$2.5 \\text{ million}", ["\\$2,500,000", "2.5 \\text{ million dollars}", "2500000"],
         ["\\$2,500", "\\$25,000,000", "\\$250,000"]),
        ("5", ["\\$5.00", "5 \\text{ dollars}", "\\$5"], ["\\$50", "\\$0.50"]),
        ("\\$42,000", ["42000", "\\$42{,}000", "42,000 \\text{ dollars}", "\\$42 \\text{ thousand}"],
         ["\\$4,200", "\\$420,000"]),
        ("36.50", ["\\$36.50", "36.5", "\\$36.5"], ["\\$365", "\\$3.65", "\\$36.05"]),
    ],
    "physics": [
        (
            "\\frac{1}{2} m v^2",
            ["\\frac{mv^2}{2}", "0.5 m v^{2}", "\\frac{1}{2}mv^{2}", "m v^2 / 2"],
            ["m v^2", "\\frac{1}{2} m v", "\\frac{1}{2} v^2", "\\frac{1}{2} M v^2"],
        ),
        (
            "\\frac{G M m}{r^2}",
            ["\\frac{GmM}{r^{2}}", "G M m r^{-2}", "\\frac{G m M}{r \\cdot r}"],
            ["\\frac{GMm}{r}", "\\frac{GM}{r^2}", "\\frac{G M m}{2r^2}", "\\frac{G m^2}{r^2}"],
        ),
        (
            "\\frac{q}{4 \\pi \\epsilon_0 r^2}",
            ["\\frac{q}{4\\pi\\varepsilon_0 r^2}", "\\frac{1}{4\\pi\\epsilon_0}\\frac{q}{r^2}",
             "\\frac{q}{4\\pi\\epsilon_{0} r^{2}}"],
            ["\\frac{q}{4\\pi\\epsilon_0 r}", "\\frac{q}{2 \\pi \\epsilon_0 r^2}"],
        ),
        (
            "2 \\pi \\sqrt{\\frac{L}{g}}",
            ["2\\pi\\sqrt{L/g}", "2\\pi \\sqrt{\\frac{L}{g}}", "2 \\sqrt{\\frac{L}{g}} \\pi"],
            ["2\\pi\\sqrt{\\frac{g}{L}}", "\\pi\\sqrt{\\frac{L}{g}}", "2\\pi\\frac{L}{g}"],
        ),
        (
            "9.8 \\text{ m/s}^2",
            ["9.8 \\mathrm{~m/s^2}", "9.8", "9.80 \\, \\text{m}/\\text{s}^2", "980 \\text{ cm/s}^2"],
            ["98 \\text{ m/s}^2", "9.8 \\text{ cm/s}^2", "0.98"],
        ),
        (
            "2.5 \\times 10^{3} \\text{ J}",
            ["2500 \\text{ J}", "2.5 \\text{ kJ}", "2.5 \\times 10^3 \\mathrm{J}", "2500 \\text{ joules}"],
            ["2.5 \\times 10^{2} \\text{ J}", "2.5 \\text{ J}", "2.5 \\text{ MJ}"],
        ),
        (
            "3 \\times 10^{8} \\mathrm{~m/s}",
            ["3 \\times 10^8 \\text{ m/s}", "300,000 \\text{ km/s}", "3.0 \\times 10^{8}"],
            ["3 \\times 10^{5} \\text{ m/s}", "3 \\times 10^{8} \\text{ km/s}"],
        ),
        (
            "1.6 \\times 10^{-19} \\mathrm{C}",
            ["1.6e-19 \\text{ C}", "1.6 \\times 10^{-19}"],
            ["1.6 \\times 10^{19} \\text{ C}", "-1.6 \\times 10^{-19}"],
        ),
        ("\\hbar \\omega", ["\\omega\\hbar", "\\hbar\\omega"], ["\\frac{\\hbar\\omega}{2}", "\\hbar"]),
        ("mgh", ["m g h", "hmg", "m \\cdot g \\cdot h"], ["mg", "\\frac{1}{2}mgh"]),
        (
            "50 \\text{ N}",
            ["50 \\text{ N}", "50 \\, \\mathrm{N}", "50 \\text{ newtons}", "0.05 \\text{ kN}"],
            ["5 \\text{ N}", "50 \\text{ kN}"],
        ),
        ("4.0 \\text{ s}", ["4 \\text{ s}", "4 \\text{ seconds}", "4000 \\text{ ms}"], ["4 \\text{ ms}", "4 \\text{ min}"]),
        (
            "\\frac{v_0^2 \\sin 2\\theta}{g}",
            ["\\frac{2 v_0^2 \\sin\\theta\\cos\\theta}{g}", "\\frac{v_{0}^{2} \\sin (2 \\theta)}{g}"],
            ["\\frac{v_0^2 \\sin\\theta}{g}", "\\frac{v_0^2 \\cos 2\\theta}{g}"],
        ),
        ("\\sqrt{2 g h}", ["\\sqrt{2gh}", "(2gh)^{1/2}", "\\sqrt{2hg}"], ["2gh", "\\sqrt{gh}"]),
    ],
    "intervals": [
        (
            "[2, 5)",
            ["[2,5)", "2 \\le x < 5", "x \\in [2, 5)", "\\left[2, 5\\right)", "2 \\leq x < 5"],
            ["(2,5)", "[2,5]", "(2,5]", "[2, 6)", "[-2, 5)"],
        ),
        (
            "(-\\infty, 3)",
            ["(-\\infty,3)", "x<3", "x \\in (-\\infty, 3)", "\\{x \\mid x < 3\\}"],
            ["(-\\infty,3]", "(3,\\infty)", "x \\le 3", "x > 3"],
        ),
        (
            "(-\\infty, -1) \\cup (1, \\infty)",
            ["(1,\\infty)\\cup(-\\infty,-1)", "x < -1 \\text{ or } x > 1", "|x| > 1",
             "(-\\infty,-1)\\cup(1,+\\infty)", "\\mathbb{R} \\setminus [-1, 1]"],
            ["(-1,1)", "(-\\infty,-1]\\cup[1,\\infty)", "(-\\infty,-1)\\cup(2,\\infty)", "(1, \\infty)"],
        ),
        (
            "[0, \\frac{1}{2}]",
            ["[0,0.5]", "0 \\le x \\le \\frac12", "\\left[0,\\frac{1}{2}\\right]"],
            ["[0, 2]", "(0, \\frac12]", "[0, \\frac{1}{3}]"],
        ),
        (
            "(-\\infty, \\infty)",
            ["\\mathbb{R}", "(-\\infty, +\\infty)", "\\text{all real numbers}", "(-\\infty,\\infty)"],
            ["(0, \\infty)", "[0,\\infty)"],
        ),
        ("[1, \\infty)", ["x \\geq 1", "[1, +\\infty)", "1 \\le x"], ["(1,\\infty)", "x > 1"]),
        ("(-2, 3]", ["-2 < x \\le 3", "(-2,3]", "3 \\geq x > -2"], ["[-2, 3)", "(-2, 3)"]),
        ("[-1, 2] \\cup [3, 4]", ["[3,4]\\cup[-1,2]", "[-1,2]\\cup[3,4]"], ["[-1,4]", "[-1,2]"]),
        (
            "(0, \\frac{\\pi}{2})",
            ["\\left(0, \\frac{\\pi}{2}\\right)", "0 < x < \\frac{\\pi}{2}"],
            ["(0, \\pi)", "(0, 1.57)", "[0, \\frac{\\pi}{2})"],
        ),
        (
            "(-\\infty, 3) \\cup (3, \\infty)",
            ["x \\neq 3", "\\mathbb{R} \\setminus \\{3\\}", "(3,\\infty)\\cup(-\\infty,3)"],
            ["x \\neq -3", "(-\\infty, 3]\\cup(3,\\infty)"],
        ),
    ],
    "thousands": [
        (
            "1234567",
            ["1,234,567", "1{,}234{,}567", "1\\,234\\,567", "1 234 567"],
            ["1,234,576", "1,234", "123,4567"],
        ),
        ("10080", ["10,080", "10{,}080", "10\\,080", "10,080.0"], ["1,008", "10,800", "10.080"]),
        ("1000000", ["1,000,000", "10^6", "1 \\text{ million}", "1{,}000{,}000"], ["100,000", "1,000,000,000"]),
        ("2,500", ["2500", "2,500", "2{,}500", "2500.0"], ["25", "250", "2.5"]),
        ("12,345.67", ["12345.67", "12{,}345.67", "12,345.67"], ["12345.76", "12,345"]),
        ("3, 4", ["3,4", "4, 3"], ["34", "3,400"]),
        ("65,536", ["65536", "2^{16}", "65\\,536"], ["65,535", "6,5536"]),
    ],
    "symbolic": [
        ("x^2 - 1", ["(x-1)(x+1)", "(x+1)(x-1)", "-1 + x^2"], ["(x-1)^2", "x^2+1"]),
        ("\\frac{x+1}{x-1}", ["\\frac{1+x}{x-1}", "1 + \\frac{2}{x-1}", "\\frac{-x-1}{1-x}"], ["\\frac{x-1}{x+1}", "\\frac{x+1}{1-x}"]),
        ("2\\sin x \\cos x", ["\\sin 2x", "\\sin(2x)"], ["2\\sin x", "\\cos 2x"]),
        ("\\cos^2 x - \\sin^2 x", ["\\cos 2x", "1 - 2\\sin^2 x", "2\\cos^2 x - 1"], ["1-\\sin^2 x", "\\sin 2x"]),
        ("\\ln 6", ["\\ln 2 + \\ln 3", "\\ln(2 \\cdot 3)"], ["\\ln 5", "\\ln 2 \\cdot \\ln 3"]),
        ("3\\sqrt{2}", ["\\sqrt{18}", "\\frac{6}{\\sqrt{2}}", "3 \\sqrt 2"], ["2\\sqrt{3}", "\\sqrt{12}", "4.24"]),
        ("1+\\sqrt{2}", ["\\sqrt{3+2\\sqrt{2}}", "\\frac{1}{\\sqrt{2}-1}"], ["\\sqrt{3+\\sqrt{2}}", "1-\\sqrt{2}"]),
        ("\\frac{\\sqrt{3}}{3}", ["\\frac{1}{\\sqrt{3}}", "\\frac{\\sqrt3}3", "3^{-1/2}"], ["\\sqrt{3}", "\\frac{\\sqrt{3}}{2}", "0.577"]),
        ("e^{2x}", ["(e^x)^2", "e^{x}e^{x}", "\\exp(2x)"], ["2e^x", "e^{x^2}"]),
        ("\\frac{n(n+1)}{2}", ["\\frac{n^2+n}{2}", "\\binom{n+1}{2}", "\\frac{1}{2}n(n+1)"], ["\\frac{n(n-1)}{2}", "\\frac{n^2}{2}"]),
        ("\\frac{\\pi}{4}", ["\\arctan 1", "0.25\\pi", "\\frac{1}{4}\\pi"], ["\\frac{\\pi}{3}", "0.785"]),
        ("a^2 + 2ab + b^2", ["(a+b)^2", "(b+a)^{2}"], ["a^2+b^2", "(a-b)^2"]),
        ("\\frac{1}{x^2}", ["x^{-2}", "\\left(\\frac{1}{x}\\right)^2"], ["x^{2}", "-x^{-2}"]),
        ("2^{10}", ["1024", "4^5"], ["1000", "2^{11}"]),
        ("\\frac{3 - \\sqrt{5}}{2}", ["\\frac{2}{3+\\sqrt{5}}", "1.5 - \\frac{\\sqrt{5}}{2}"], ["\\frac{3+\\sqrt{5}}{2}", "0.382"]),
        ("\\tan x", ["\\frac{\\sin x}{\\cos x}"], ["\\frac{\\cos x}{\\sin x}", "\\cot x"]),
        ("x^3 - 6x^2 + 11x - 6", ["(x-1)(x-2)(x-3)", "(x-3)(x-1)(x-2)"], ["(x-1)(x-2)(x+3)", "x^3-6x^2+11x+6"]),
        ("\\frac{2x}{x^2-1}", ["\\frac{1}{x-1}+\\frac{1}{x+1}"], ["\\frac{1}{x-1}-\\frac{1}{x+1}", "\\frac{2}{x^2-1}"]),
        ("(x+1)^{10}", ["x^{10}+10x^9+45x^8+120x^7+210x^6+252x^5+210x^4+120x^3+45x^2+10x+1"],
         ["x^{10}+10x^9+45x^8+120x^7+210x^6+252x^5+210x^4+120x^3+45x^2+10x+2", "(x+1)^{9}"]),
        ("\\frac{1}{1+i}", ["\\frac{1-i}{2}", "\\frac{1}{2} - \\frac{i}{2}"], ["\\frac{1+i}{2}", "1-i"]),
        ("\\binom{10}{3}", ["120", "\\frac{10!}{3!7!}"], ["720", "\\binom{10}{4}"]),
        ("4\\pi r^2", ["4 r^2 \\pi", "\\pi (2r)^2"], ["\\pi r^2", "4\\pi r^3"]),
        ("\\sqrt{a^2+b^2}", ["\\sqrt{b^2+a^2}", "(a^2+b^2)^{1/2}"], ["a+b", "\\sqrt{a^2-b^2}"]),
        ("\\log_2 3", ["\\frac{\\ln 3}{\\ln 2}", "\\frac{\\log 3}{\\log 2}"], ["\\log_3 2", "\\frac{\\ln 2}{\\ln 3}"]),
    ],
    "inequalities": [
        ("x > 3", ["3 < x", "x>3", "(3, \\infty)", "x \\in (3, +\\infty)"], ["x \\geq 3", "x < 3", "x > -3", "x>4"]),
        (
            "a \\geq \\frac{1}{2}",
            ["a \\ge 0.5", "\\frac{1}{2} \\le a", "a\\geqslant\\frac12", "[\\frac{1}{2}, +\\infty)"],
            ["a > \\frac12", "a \\le \\frac{1}{2}", "a \\geq 2"],
        ),
        (
            "-1 < m < 3",
            ["-1<m<3", "m \\in (-1, 3)", "3 > m > -1", "m > -1 \\text{ and } m < 3"],
            ["-1 \\le m \\le 3", "-3 < m < 1", "m < 3"],
        ),
        (
            "k \\le -2 \\text{ or } k \\ge 2",
            ["k \\geq 2 \\text{ or } k \\leq -2", "|k| \\ge 2", "(-\\infty,-2]\\cup[2,\\infty)"],
            ["-2 \\le k \\le 2", "k \\ge 2", "k < -2 \\text{ or } k > 2"],
        ),
        (
            "a^2 + b^2 \\geq 2ab",
            ["2ab \\le a^2 + b^2", "a^2+b^2-2ab \\geq 0", "a^{2}+b^{2} \\geqslant 2 a b"],
            ["a^2 + b^2 \\le 2ab", "a^2+b^2 > 2ab", "a^2+b^2 \\geq ab"],
        ),
        ("0 < x \\le 1", ["(0, 1]", "x \\in (0,1]", "1 \\ge x > 0"], ["[0, 1]", "0 < x < 1"]),
        ("x \\neq 2", ["x \\ne 2", "(-\\infty,2)\\cup(2,\\infty)"], ["x = 2", "x \\neq -2"]),
        ("t \\leq -\\frac{3}{2}", ["t \\le -1.5", "(-\\infty, -\\frac32]"], ["t < -\\frac{3}{2}", "t \\leq \\frac{3}{2}"]),
    ],
    "tuples_vs_sets": [
        ("(1, 2)", ["(1,2)", "\\left(1, 2\\right)", "(x, y) = (1, 2)", "x=1, y=2"], ["(2, 1)", "\\{1, 2\\}"]),
        ("\\{1, 2\\}", ["\\{2, 1\\}", "1, 2", "2, 1"], ["\\{1\\}", "\\{1, 2, 3\\}"]),
        (
            "(1, 2), (3, 4)",
            ["(3, 4), (1, 2)", "\\{(1,2), (3,4)\\}", "(1,2) \\text{ and } (3,4)"],
            ["(2,1),(4,3)", "(1,2)", "(1, 2, 3, 4)", "\\{1,2,3,4\\}"],
        ),
        ("(3, -1, 2)", ["(3,-1,2)", "\\langle 3, -1, 2 \\rangle"], ["(3, 1, 2)", "(2, -1, 3)", "\\{3, -1, 2\\}"]),
        (
            "\\left(\\frac{1}{2}, -\\frac{3}{2}\\right)",
            ["(0.5, -1.5)", "\\left(\\frac12,-\\frac32\\right)"],
            ["(-1.5, 0.5)", "(0.5, 1.5)"],
        ),
        ("\\{(0, 0), (1, 1)\\}", ["(1,1), (0,0)", "(0,0) \\text{ and } (1,1)"], ["(0,0)", "(0, 1), (1, 0)"]),
    ],
    "infinity": [
        ("\\infty", ["\\infty", "+\\infty", "\\text{infinity}", "∞", "\\infty."], ["-\\infty", "0", "\\text{undefined}", "1"]),
        ("-\\infty", ["-\\infty", "- \\infty"], ["\\infty", "+\\infty"]),
        ("(0, \\infty)", ["(0, +\\infty)", "(0,∞)", "x>0"], ["[0, \\infty)", "(-\\infty, 0)"]),
        ("\\text{infinitely many}", ["\\infty", "\\text{infinitely many}", "\\text{Infinitely many}"], ["0", "1"]),
    ],
    "mixed_numbers": [
        (
            "\\frac{7}{2}",
            ["3\\frac{1}{2}", "3 \\frac12", "3\\tfrac{1}{2}", "3.5", "3 \\dfrac{1}{2}"],
            ["3\\frac{1}{3}", "\\frac{3}{2}", "7", "2\\frac{1}{2}"],
        ),
        ("2\\frac{3}{4}", ["\\frac{11}{4}", "2.75", "2 \\frac{3}{4}"], ["\\frac{6}{4}", "\\frac{5}{4}", "2.34"]),
        ("-1\\frac{1}{2}", ["-\\frac{3}{2}", "-1.5"], ["-\\frac{1}{2}", "\\frac{3}{2}"]),
        ("5\\frac{1}{3}", ["\\frac{16}{3}", "5 \\frac{1}{3} \\text{ hours}"], ["5.33", "\\frac{15}{3}"]),
        ("1\\frac{2}{5}", ["1.4", "\\frac75"], ["\\frac{2}{5}", "1.25"]),
    ],
    "degrees": [
        (
            "30^\\circ",
            ["30", "30^{\\circ}", "30°", "30 \\text{ degrees}", "30.0^\\circ", "30 \\degree"],
            ["60^\\circ", "150^\\circ", "3^\\circ", "300"],
        ),
        ("45", ["45^\\circ", "45°", "45 \\text{ degrees}"], ["135^\\circ", "44^\\circ"]),
        ("120^{\\circ}", ["120^\\circ", "120"], ["60^\\circ", "240^\\circ"]),
        ("22.5^\\circ", ["22.5", "\\frac{45}{2}^\\circ"], ["22^\\circ", "25"]),
        ("90^\\circ", ["90 \\text{ degrees}", "90^{\\circ}"], ["180^\\circ", "9^\\circ"]),
    ],
    "percent": [
        (
            "25\\%",
            ["25\\%", "25", "25 \\%", "0.25", "\\frac14", "25 \\text{ percent}", "25.0\\%"],
            ["2.5\\%", "0.25\\%", "75\\%", "25.5\\%"],
        ),
        ("12.5", ["12.5\\%", "12.5 \\%"], ["125", "1.25\\%"]),
        ("0.4", ["40\\%", "\\frac{2}{5}", "0.40"], ["4\\%", "0.04"]),
        ("150\\%", ["1.5", "150\\%"], ["50\\%", "15\\%"]),
        ("33\\frac{1}{3}\\%", ["\\frac{100}{3}\\%", "33.\\overline{3}\\%", "\\frac{1}{3}"], ["33\\%", "33.3\\%"]),
        ("8\\%", ["8 \\%", "0.08", "8 \\text{ percent}"], ["0.8", "80\\%"]),
    ],
    "multiple_choice": [
        (
            "C",
            ["C", "(C)", "\\text{(C)}", "\\textbf{(C)}", "C) 42", "\\text{C}", "\\mathrm{(C)}", "(C) 42",
             "\\text{Option C}"],
            ["B", "(D)", "\\text{(A)}", "C, D", "\\text{Circle}", "CD"],
        ),
        ("\\text{(B)}", ["B", "(B)", "\\textbf{(B) } 12"], ["(E)", "D"]),
        ("(E)", ["E", "\\text{(E)}", "\\textbf{E}"], ["(A)", "B"]),
        ("A", ["A", "\\text{A}", "\\mathrm{A}"], ["B", "\\text{(C)}"]),
        ("D", ["\\text{D. } 7", "(D)"], ["\\text{(B)}", "A"]),
    ],
    "matrices": [
        (
            "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
            ["\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}",
             "\\left(\\begin{array}{cc} 1 & 2 \\\\ 3 & 4 \\end{array}\\right)",
             "\\begin{pmatrix}1&2\\\\3&4\\\\\\end{pmatrix}",
             "\\begin{pmatrix} 1.0 & 2 \\\\ 3 & 4 \\end{pmatrix}"],
            ["\\begin{pmatrix} 1 & 3 \\\\ 2 & 4 \\end{pmatrix}", "\\begin{pmatrix} 1 & 2 & 3 & 4 \\end{pmatrix}",
             "\\begin{pmatrix} 1 & 2 \\\\ 3 & -4 \\end{pmatrix}"],
        ),
        (
            "\\begin{pmatrix} 2 \\\\ -1 \\\\ 3 \\end{pmatrix}",
            ["(2, -1, 3)", "\\begin{bmatrix}2\\\\-1\\\\3\\end{bmatrix}", "\\langle 2, -1, 3\\rangle"],
            ["(2, 1, 3)", "\\begin{pmatrix} 3 \\\\ -1 \\\\ 2 \\end{pmatrix}"],
        ),
        (
            "\\begin{pmatrix} \\frac{1}{2} & \\frac{1}{2} \\\\ \\frac{1}{2} & -\\frac{1}{2} \\end{pmatrix}",
            ["\\frac{1}{2}\\begin{pmatrix} 1 & 1 \\\\ 1 & -1 \\end{pmatrix}",
             "\\begin{pmatrix} 0.5 & 0.5 \\\\ 0.5 & -0.5 \\end{pmatrix}"],
            ["\\begin{pmatrix} 1 & 1 \\\\ 1 & -1 \\end{pmatrix}", "\\frac{1}{2}\\begin{pmatrix} 1 & 1 \\\\ 1 & 1 \\end{pmatrix}"],
        ),
        (
            "\\begin{pmatrix} \\cos\\theta & -\\sin\\theta \\\\ \\sin\\theta & \\cos\\theta \\end{pmatrix}",
            ["\\begin{bmatrix} \\cos \\theta & -\\sin \\theta \\\\ \\sin \\theta & \\cos \\theta \\end{bmatrix}"],
            ["\\begin{pmatrix} \\cos\\theta & \\sin\\theta \\\\ -\\sin\\theta & \\cos\\theta \\end{pmatrix}"],
        ),
        (
            "\\begin{pmatrix} 0 & 0 \\\\ 0 & 0 \\end{pmatrix}",
            ["\\begin{bmatrix}0&0\\\\0&0\\end{bmatrix}"],
            ["\\begin{pmatrix} 0 & 0 \\\\ 0 & 1 \\end{pmatrix}"],
        ),
    ],
    "decimals": [
        ("0.5", [".5", "0.50", "\\frac12", "\\frac{1}{2}"], ["0.05", "5", "0.55"]),
        ("3", ["3.0", "3.00", "\\frac{6}{2}"], ["3.01", "0.3"]),
        ("\\frac{1}{8}", ["0.125", ".125"], ["0.12", "0.13"]),
        ("-\\frac{3}{5}", ["-0.6", "-0.60"], ["0.6", "-0.06"]),
        ("1.05", ["\\frac{21}{20}", "1.050"], ["1.5", "1.005"]),
        ("\\frac{2}{3}", ["0.\\overline{6}", "\\frac{4}{6}"], ["0.667", "0.67", "0.6"]),
        ("0.67", ["\\frac{2}{3}"], ["\\frac{3}{5}", "0.7"]),
        ("\\pi", ["\\pi"], ["3.14", "3.1416"]),
        ("\\sqrt{2}", ["\\sqrt2"], ["1.41", "1.414"]),
        ("0.07", ["7 \\times 10^{-2}", "7\\%"], ["0.7", "7 \\times 10^{-3}"]),
        ("1.25", ["\\frac{5}{4}", "1\\frac{1}{4}"], ["1.2", "12.5"]),
    ],
}

# kind -> [(response after </think>, gold, correct)]
_RESPONSES: dict[str, list[tuple[str, str, bool]]] = {
    "no_boxed": [
        ("Each box holds 6 apples and there are 7 boxes.\nSo the total number of apples is 42.", "42", True),
        ("The answer is 42.", "42", True),
        ("Final Answer: The final answer is $42$. I hope it is correct.", "42", True),
        ("Counting both rows, there are $42$ apples in total.\n\nTherefore, there are $42$ apples.", "42", True),
        ("We multiply:\n$$6 \\times 7 = 42$$", "42", True),
        ("**Answer:** 42", "42", True),
        ("Hence she ends up with 42 apples.", "42", True),
        ("Adding these gives 20 + 22 = 42.", "42", True),
        ("So the total is 42 apples.", "42", True),
        ("**Final Answer**\n42", "42", True),
        ("**Final Answer**\n$42$", "42", True),
        ("The answer is 24.", "42", False),
        ("We need 42 more steps to check, so let us continue.", "42", False),
        ("Thus the result is 41, not 42.", "42", False),
        ("So the probability is $\\frac{3}{4}$.", "\\frac{3}{4}", True),
        ("The probability is 0.75.", "\\frac{3}{4}", True),
        ("Therefore the probability is 3/4.", "\\frac{3}{4}", True),
        ("The probability is $\\frac{1}{4}$.", "\\frac{3}{4}", False),
        ("So the probability is 3/4 of the remaining half, that is $\\frac{3}{8}$.", "\\frac{3}{4}", False),
        ("Solving, we find that $x = 5$.", "x = 5", True),
        ("Hence $x=5$.", "5", True),
        ("Hence $x = -5$.", "5", False),
        ("Final answer: 12", "12", True),
        ("ANSWER: 12", "12", True),
        ("The final answer is \\(12\\).", "12", True),
        ("The area of the triangle is $\\frac{\\sqrt{3}}{4}$ square units.", "\\frac{\\sqrt{3}}{4}", True),
        ("The area of the triangle is $\\frac{\\sqrt{3}}{2}$ square units.", "\\frac{\\sqrt{3}}{4}", False),
        ("**Final Answer**\n13", "12", False),
        ("Therefore, the value of $k$ is $-\\frac{1}{2}$.", "-\\frac12", True),
        ("Therefore, the value of $k$ is $\\frac{1}{2}$.", "-\\frac12", False),
    ],
    "units_in_text": [
        ("Therefore, the rectangle's perimeter is 15 cm.", "15", True),
        ("The answer is 15 meters.", "15", True),
        ("So the side is $\\boxed{15 \\text{ cm}}$.", "15", True),
        ("The side is $\\boxed{15\\,\\mathrm{cm}}$.", "15", True),
        ("Its area is \\boxed{15 \\text{ square units}}.", "15", True),
        ("The distance is $15\\text{ km}$.", "15", True),
        ("The answer is 150 cm.", "15", False),
        ("So the side is $\\boxed{15 \\text{ mm}}$.", "15 \\text{ cm}", False),
        ("So the side is $\\boxed{0.15 \\text{ m}}$.", "15 \\text{ cm}", True),
        ("The area is $\\boxed{36}$.", "36 \\text{ cm}^2", True),
        ("The area is $\\boxed{36 \\mathrm{~cm}^{2}}$.", "36 \\text{ cm}^2", True),
        ("The area is 36 square centimeters.", "36 \\text{ cm}^2", True),
        ("The area is $\\boxed{36 \\text{ m}^2}$.", "36 \\text{ cm}^2", False),
        ("The area is $\\boxed{360 \\text{ mm}^2}$.", "36 \\text{ cm}^2", False),
        ("The area is $\\boxed{3600 \\text{ mm}^2}$.", "36 \\text{ cm}^2", True),
        ("The car's speed is \\boxed{60 \\mathrm{~km/h}}.", "60 \\text{ km/h}", True),
        ("The speed is 60 kilometers per hour.", "60 \\text{ km/h}", True),
        ("The speed is \\boxed{60 \\text{ m/s}}.", "60 \\text{ km/h}", False),
        ("The speed is \\boxed{6 \\text{ km/h}}.", "60 \\text{ km/h}", False),
        ("It takes \\boxed{180 \\text{ minutes}}.", "3 \\text{ hours}", True),
        ("It takes \\boxed{3 \\text{ hours}}.", "3 \\text{ hours}", True),
        ("It takes 3 hours.", "3 \\text{ hours}", True),
        ("It takes \\boxed{3 \\text{ minutes}}.", "3 \\text{ hours}", False),
        ("It takes \\boxed{30 \\text{ minutes}}.", "3 \\text{ hours}", False),
        ("The volume is \\boxed{0.25 \\text{ L}}.", "250 \\text{ mL}", True),
        ("The volume is \\boxed{250 \\text{ mL}}.", "250 \\text{ mL}", True),
        ("The volume is \\boxed{250 \\text{ L}}.", "250 \\text{ mL}", False),
        ("The mass is \\boxed{8000 \\text{ g}}.", "8 \\text{ kg}", True),
        ("The mass is \\boxed{8 \\text{ kilograms}}.", "8 \\text{ kg}", True),
        ("The mass is \\boxed{8 \\text{ g}}.", "8 \\text{ kg}", False),
        ("The mass is \\boxed{80 \\text{ kg}}.", "8 \\text{ kg}", False),
        ("Therefore, Hillary has 7 nickels.", "7", True),
        ("Therefore, Hillary has 8 nickels.", "7", False),
    ],
    "last_answer": [
        ("First I get \\boxed{3}.\n\nWait, I made a mistake in the second step; redoing it gives \\boxed{5}.", "5", True),
        ("First I get \\boxed{3}.\n\nWait, I made a mistake in the second step; redoing it gives \\boxed{5}.", "3", False),
        ("The answer is 12. Let me double-check: $3 \\cdot 4 = 12$. So the answer is 12.", "12", True),
        ("Initially I thought $x=2$, but $x = 2$ fails the check; the correct value is $x = 4$.", "4", True),
        ("Initially I thought $x=2$, but $x = 2$ fails the check; the correct value is $x = 4$.", "2", False),
        ("Answer: 7\n\nActually, recounting the cases gives 8.\nAnswer: 8", "8", True),
        ("Answer: 7\n\nActually, recounting the cases gives 8.\nAnswer: 8", "7", False),
        ("We get \\boxed{10}, and checking the sum once more, the final answer is \\boxed{10}.", "10", True),
        ("First attempt: \\boxed{\\frac12}.\nRe-examining the cases, the probability is \\boxed{\\frac{1}{3}}.", "\\frac13", True),
        ("First attempt: \\boxed{\\frac12}.\nRe-examining the cases, the probability is \\boxed{\\frac{1}{3}}.", "\\frac12", False),
        ("The answer is 2 or 3.", "2", False),
        ("We get $x=3$ and then $y = 5$.", "5", True),
        ("The answer is \\boxed{2} or \\boxed{-2}.", "2", False),
        ("The roots are \\boxed{2} and \\boxed{-2}.", "\\pm 2", True),
        ("The answer is 5. Wait, actually the answer is 6.", "6", True),
        ("The answer is 5. Wait, actually the answer is 6.", "5", False),
        ("So $n = 4$ works. Checking $n = 5$ as well, it fails, so the largest is $n = 4$.", "4", True),
        ("The largest value is \\boxed{17}.", "71", False),
        ("\\boxed{6} \\quad \\text{(after correcting the count above)}", "6", True),
        ("Earlier I wrote 9, but the correct count is \\boxed{11}.", "9", False),
    ],
}

# A second batch, written after the first round of judge changes and run once before any change
# made for it: 464 of 471 right on that first run, no false positive (misses: a one-element
# set, ``m\,s^{-1}``, a value after a span, two sentences without ``is``).
_BOXED_SECOND: dict[str, list[tuple[str, list[str], list[str]]]] = {
    "equations": [
        ("y = -3x + 7", ["y = 7 - 3x", "3x + y = 7", "y=-3x+7", "-3x+7", "6x + 2y - 14 = 0"], ["y = 3x + 7", "y = -3x - 7", "3x - y = 7", "y=-3x+6"]),
        ("x = \\frac{5}{2}", ["x=2.5", "\\frac52", "x = 2\\frac{1}{2}", "2x = 5"], ["x = \\frac{2}{5}", "x=5", "x = -\\frac{5}{2}"]),
        ("y^2 = 8x", ["y^{2}=8x", "8x = y^2", "x = \\frac{y^2}{8}"], ["y^2 = 4x", "x^2 = 8y", "y = 8x^2"]),
        ("x + y + z = 6", ["z = 6 - x - y", "2x+2y+2z=12"], ["x + y + z = 3", "x - y + z = 6"]),
        ("x = 1, y = 2, z = 3", ["(1, 2, 3)", "z=3, y=2, x=1", "x=1,\\ y=2,\\ z=3"], ["(3, 2, 1)", "x=1, y=3, z=2"]),
        ("k = -4", ["-4", "k=-4"], ["k = 4", "k=-4, k=4"]),
        ("a_n = 2n - 1", ["a_n=2n-1", "2n-1", "a_{n} = -1 + 2n"], ["a_n = 2n+1", "a_n = n^2"]),
        ("r = 2\\cos\\theta", ["r=2\\cos \\theta", "2\\cos\\theta"], ["r = 2\\sin\\theta", "r=\\cos 2\\theta"]),
    ],
    "sets": [
        ("-2, 3", ["3, -2", "x=-2 \\text{ or } 3", "\\{-2, 3\\}", "x_1=-2,\\ x_2=3"], ["2, -3", "-2", "-2, 3, 5"]),
        ("0, 2, -2", ["\\pm 2, 0", "-2, 0, 2", "x = 0, \\pm 2"], ["0, 2", "\\pm 2"]),
        ("\\frac{1}{3}, 3", ["3, \\frac13", "x = 3 \\text{ and } x = \\frac{1}{3}"], ["3, 3", "\\frac{1}{3}, -3"]),
        ("2 \\pm i", ["2+i, 2-i", "2 - i, 2 + i"], ["-2 \\pm i", "2 \\pm 2i"]),
        ("\\frac{3 \\pm \\sqrt{17}}{4}", ["\\frac{3+\\sqrt{17}}{4}, \\frac{3-\\sqrt{17}}{4}", "\\frac34 \\pm \\frac{\\sqrt{17}}{4}"], ["\\frac{-3 \\pm \\sqrt{17}}{4}", "\\frac{3 \\pm \\sqrt{17}}{2}"]),
        ("1, 3, 5, 7, 9", ["9, 7, 5, 3, 1", "\\{1,3,5,7,9\\}"], ["1, 3, 5, 7", "1,3,5,7,9,11"]),
        ("\\{2\\}", ["2", "x = 2"], ["\\{2, -2\\}"]),
    ],
    "currency": [
        ("\\$9.99", ["9.99", "\\$9.99", "9.99 \\text{ dollars}", "999 \\text{ cents}"], ["\\$99.9", "\\$9.90", "9.99 \\text{ cents}"]),
        ("1500", ["\\$1,500", "\\$1500", "1,500 \\text{ USD}", "\\$1.5 \\text{ thousand}"], ["\\$15,000", "\\$150"]),
        ("\\$3.5 \\text{ billion}", ["\\$3,500,000,000", "3.5 \\text{ billion dollars}"], ["\\$3.5 \\text{ million}", "\\$350,000,000"]),
        ("\\$120.50", ["120.5", "\\$120.50", "120.50"], ["\\$12.05", "\\$1205"]),
    ],
    "physics": [
        ("\\frac{mv}{qB}", ["\\frac{m v}{q B}", "\\frac{mv}{Bq}", "mv/(qB)"], ["\\frac{qB}{mv}", "\\frac{mv^2}{qB}", "\\frac{m}{qB}"]),
        ("\\frac{1}{2}kx^2", ["\\frac{k x^{2}}{2}", "0.5kx^2"], ["kx^2", "\\frac{1}{2}kx"]),
        ("\\frac{hc}{\\lambda}", ["\\frac{h c}{\\lambda}", "hc\\lambda^{-1}"], ["\\frac{h}{\\lambda}", "h c \\lambda"]),
        ("6.0 \\times 10^{-3} \\mathrm{~kg}", ["6 \\text{ g}", "0.006 \\text{ kg}", "6.0 \\times 10^{-3}"], ["6 \\text{ kg}", "6 \\text{ mg}", "6.0 \\times 10^{-2} \\text{ kg}"]),
        ("20 \\mathrm{~m/s}", ["20 \\text{ m/s}", "72 \\text{ km/h}", "20 \\mathrm{m} / \\mathrm{s}", "20 \\, \\mathrm{m\\,s^{-1}}"], ["20 \\text{ km/h}", "2 \\text{ m/s}", "200 \\text{ m/s}"]),
        ("1.5 \\text{ A}", ["1500 \\text{ mA}", "1.5 \\text{ amperes}"], ["1.5 \\text{ mA}", "15 \\text{ A}"]),
        ("\\sqrt{\\frac{k}{m}}", ["\\sqrt{k/m}"], ["\\sqrt{\\frac{m}{k}}", "\\frac{k}{m}"]),
        ("\\frac{\\mu_0 I}{2 \\pi r}", ["\\frac{\\mu_{0} I}{2\\pi r}"], ["\\frac{\\mu_0 I}{2 r}", "\\frac{\\mu_0 I}{4\\pi r}"]),
        ("100 \\text{ kPa}", ["1.0 \\times 10^5 \\text{ Pa}", "100000 \\text{ Pa}", "100 kPa"], ["100 \\text{ Pa}", "10 \\text{ kPa}"]),
        ("5 \\text{ eV}", ["5 \\text{ eV}", "5.0 \\mathrm{eV}", "8.01088317 \\times 10^{-19} \\text{ J}"], ["5 \\text{ keV}", "5 \\text{ J}"]),
    ],
    "intervals": [
        ("(-3, 3)", ["-3 < x < 3", "|x| < 3", "\\left(-3,3\\right)"], ["[-3, 3]", "(-3, 3]", "|x| \\le 3"]),
        ("[-2, \\infty)", ["x \\ge -2", "[-2, +\\infty)", "\\left[-2, \\infty\\right)"], ["(-2, \\infty)", "x \\le -2"]),
        ("(-\\infty, 0) \\cup (0, \\infty)", ["x \\ne 0", "\\mathbb{R}\\setminus\\{0\\}", "(0,\\infty) \\cup (-\\infty,0)"], ["(0, \\infty)", "\\mathbb{R}"]),
        ("[1, 3]", ["1 \\le x \\le 3", "|x - 2| \\le 1"], ["(1, 3)", "[1, 3)", "|x-2| < 1"]),
        ("(-\\infty, -2] \\cup [2, \\infty)", ["|x| \\ge 2", "x \\le -2 \\text{ or } x \\ge 2"], ["[-2, 2]", "(-\\infty,-2)\\cup(2,\\infty)"]),
        ("\\left[ \\frac{\\pi}{6}, \\frac{5\\pi}{6} \\right]", ["[\\frac{\\pi}{6}, \\frac{5\\pi}{6}]", "\\frac{\\pi}{6} \\le x \\le \\frac{5\\pi}{6}"], ["(\\frac{\\pi}{6}, \\frac{5\\pi}{6})", "[\\frac{\\pi}{3}, \\frac{5\\pi}{6}]"]),
        ("(1, e)", ["(1, e)", "1 < x < e"], ["(1, 2.718)", "[1, e)"]),
    ],
    "thousands": [
        ("3,628,800", ["3628800", "10!", "3{,}628{,}800"], ["362,880", "3,628,880"]),
        ("42000", ["42,000", "42\\,000", "4.2 \\times 10^4"], ["4,200", "420,000"]),
        ("1,001", ["1001", "1{,}001"], ["1.001", "1, 1"]),
        ("999,999", ["999999", "10^6 - 1"], ["99,999"]),
    ],
    "symbolic": [
        ("\\sin^2 x", ["1 - \\cos^2 x", "\\frac{1 - \\cos 2x}{2}", "(\\sin x)^2"], ["\\cos^2 x", "1 - \\sin^2 x", "\\sin x^2"]),
        ("\\sqrt{3} - 1", ["\\frac{2}{\\sqrt{3}+1}", "-1 + \\sqrt 3"], ["1 - \\sqrt{3}", "\\sqrt{2}"]),
        ("\\frac{1}{2}\\ln 2", ["\\ln \\sqrt{2}", "\\frac{\\ln 2}{2}", "\\ln(2)/2"], ["\\ln 2", "2\\ln 2"]),
        ("x^2 + 5x + 6", ["(x+2)(x+3)", "(x + 3)(x + 2)"], ["(x+1)(x+6)", "(x-2)(x-3)"]),
        ("\\frac{a+b}{ab}", ["\\frac{1}{a} + \\frac{1}{b}"], ["\\frac{1}{a+b}", "a+b"]),
        ("2^{n+1} - 2", ["2(2^n - 1)", "2 \\cdot 2^n - 2"], ["2^n - 1", "2^{n+1} - 1"]),
        ("\\frac{\\sqrt{2}}{2}", ["\\frac{1}{\\sqrt2}", "\\sin\\frac{\\pi}{4}"], ["\\sqrt{2}", "0.707"]),
        ("e^{-x}", ["\\frac{1}{e^x}", "\\exp(-x)"], ["-e^x", "e^{x}"]),
        ("\\pi^2/6", ["\\frac{\\pi^2}{6}", "\\frac{1}{6}\\pi^{2}"], ["\\frac{\\pi}{6}", "\\frac{\\pi^2}{3}"]),
        ("3^{20}", ["3486784401", "9^{10}"], ["3^{19}", "3486784400"]),
        ("\\binom{n}{2}", ["\\frac{n(n-1)}{2}", "\\frac{n^2 - n}{2}"], ["\\frac{n(n+1)}{2}", "n^2"]),
        ("\\cos x", ["\\sin(\\frac{\\pi}{2} - x)"], ["\\sin x"]),
        ("(x+y)^5", ["x^5 + 5x^4y + 10x^3y^2 + 10x^2y^3 + 5xy^4 + y^5"], ["x^5 + 5x^4y + 10x^3y^2 + 10x^2y^3 + 5xy^4 - y^5"]),
        ("4\\sqrt{2} + 2\\sqrt{3}", ["2\\sqrt3 + \\sqrt{32}"], ["4\\sqrt{3} + 2\\sqrt{2}"]),
        ("\\log_3 5 + 1", ["\\log_3 15"], ["\\log_3 5"]),
        ("(x+y+z)^4", ["x^4+y^4+z^4+4x^3y+4x^3z+4xy^3+4y^3z+4xz^3+4yz^3+6x^2y^2+6x^2z^2+6y^2z^2+12x^2yz+12xy^2z+12xyz^2"],
         ["x^4+y^4+z^4+4x^3y+4x^3z+4xy^3+4y^3z+4xz^3+4yz^3+6x^2y^2+6x^2z^2+6y^2z^2+12x^2yz+12xy^2z+6xyz^2"]),
        ("\\frac{1}{(x-1)(x-2)(x-3)}", ["\\frac{1}{2(x-1)} - \\frac{1}{x-2} + \\frac{1}{2(x-3)}"], ["\\frac{1}{2(x-1)} + \\frac{1}{x-2} + \\frac{1}{2(x-3)}"]),
        ("\\sin 3x", ["3\\sin x - 4\\sin^3 x"], ["3\\sin x - 4\\sin^2 x"]),
        ("\\tan 2x", ["\\frac{2\\tan x}{1 - \\tan^2 x}"], ["\\frac{2\\tan x}{1 + \\tan^2 x}"]),
        ("\\sqrt{5 + 2\\sqrt{6}}", ["\\sqrt{2} + \\sqrt{3}"], ["\\sqrt{5} + \\sqrt{6}"]),
        ("\\sqrt[3]{2}\\cdot\\sqrt[3]{4}", ["2"], ["4"]),
        ("\\frac{\\sqrt{6} - \\sqrt{2}}{4}", ["\\sin\\frac{\\pi}{12}"], ["\\cos\\frac{\\pi}{12}"]),
        ("\\cos\\frac{\\pi}{5}", ["\\frac{1+\\sqrt5}{4}"], ["\\frac{-1+\\sqrt5}{4}"]),
        ("x^{100} - 1", ["(x^{50}+1)(x^{50}-1)"], ["(x^{50}+1)^2"]),
    ],
    "inequalities": [
        ("x < -1", ["-1 > x", "(-\\infty, -1)"], ["x \\le -1", "x > -1", "x < 1"]),
        ("m \\geq 4", ["m \\ge 4", "4 \\le m", "[4, \\infty)"], ["m > 4", "m \\geq -4"]),
        ("2 \\le a \\le 5", ["a \\in [2, 5]", "5 \\ge a \\ge 2", "2 \\leq a \\leq 5"], ["2 < a < 5", "2 \\le a < 5"]),
        ("x > 0 \\text{ and } x \\neq 1", ["(0,1)\\cup(1,\\infty)"], ["x > 0", "(0, \\infty)"]),
        ("a < b", ["b > a"], ["a > b", "a \\le b"]),
        ("x^2 + y^2 < 1", ["x^2+y^2<1", "1 > x^2 + y^2"], ["x^2+y^2 \\le 1", "x^2 + y^2 > 1"]),
    ],
    "tuples_vs_sets": [
        ("(2, 3)", ["(2,3)", "x = 2, y = 3", "\\left(2, 3\\right)"], ["(3, 2)", "\\{2, 3\\}", "(2, -3)"]),
        ("(0, 0, 1)", ["\\langle 0,0,1\\rangle", "(0,0,1)"], ["(0, 1, 0)", "(1, 0, 0)"]),
        ("\\{3, 5, 7\\}", ["7, 5, 3", "\\{7,3,5\\}"], ["(3, 5, 7)", "\\{3, 5\\}"]),
        ("(1, -1), (-1, 1)", ["(-1, 1), (1, -1)", "\\{(1,-1),(-1,1)\\}"], ["(1, -1)", "(1, 1), (-1, -1)"]),
        ("(a, b) = (3, 4)", ["(3, 4)", "a=3, b=4"], ["(4, 3)", "a=4, b=3"]),
    ],
    "infinity": [
        ("+\\infty", ["\\infty", "+\\infty", "\\text{infinity}"], ["-\\infty", "0"]),
        ("(-\\infty, 5]", ["x \\le 5", "(-\\infty,5]"], ["(-\\infty, 5)", "[5, \\infty)"]),
        ("\\text{infinite}", ["\\infty", "\\text{infinitely many}"], ["1"]),
    ],
    "mixed_numbers": [
        ("4\\frac{2}{3}", ["\\frac{14}{3}", "4 \\frac{2}{3}", "4 2/3"], ["\\frac{8}{3}", "4.67", "4\\frac{1}{3}"]),
        ("\\frac{9}{4}", ["2\\frac14", "2.25", "2 \\tfrac{1}{4}"], ["2\\frac{1}{2}", "\\frac{4}{9}"]),
        ("-2\\frac{1}{3}", ["-\\frac{7}{3}"], ["-\\frac{5}{3}", "\\frac{7}{3}"]),
        ("1\\frac{1}{2} \\text{ cups}", ["\\frac{3}{2}", "1.5 \\text{ cups}"], ["\\frac{1}{2}", "2.5"]),
    ],
    "degrees": [
        ("60", ["60^\\circ", "60°", "60 \\text{ degrees}"], ["30^\\circ", "120^\\circ"]),
        ("135^\\circ", ["135", "135^{\\circ}", "135 \\deg"], ["45^\\circ", "225^\\circ"]),
        ("72^{\\circ}", ["72°"], ["108^\\circ"]),
        ("36^\\circ", ["36.0"], ["3.6"]),
    ],
    "percent": [
        ("20\\%", ["20", "0.2", "\\frac{1}{5}", "20.0\\%", "20 \\text{ percent}"], ["2\\%", "0.02", "80\\%"]),
        ("0.05", ["5\\%"], ["0.5\\%", "50\\%"]),
        ("66\\frac{2}{3}\\%", ["\\frac{2}{3}", "\\frac{200}{3}\\%"], ["66\\%", "67\\%"]),
        ("15", ["15\\%"], ["0.15\\%", "1.5\\%"]),
    ],
    "multiple_choice": [
        ("\\textbf{(D)}", ["D", "(D)", "\\textbf{(D)}\\ 24"], ["(C)", "\\text{(E)}"]),
        ("B", ["B", "\\text{B}", "(B) \\frac{1}{2}", "\\textbf{(B)}"], ["A", "(C)", "B, C"]),
        ("(A)", ["A", "\\text{(A)}"], ["(B)"]),
    ],
    "matrices": [
        ("\\begin{pmatrix} 3 & 0 \\\\ 0 & 3 \\end{pmatrix}", ["3\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}", "\\begin{bmatrix} 3 & 0 \\\\ 0 & 3 \\end{bmatrix}"], ["\\begin{pmatrix} 3 & 0 \\\\ 0 & -3 \\end{pmatrix}", "3"]),
        ("\\begin{pmatrix} -1 \\\\ 4 \\end{pmatrix}", ["(-1, 4)", "\\begin{bmatrix} -1 \\\\ 4 \\end{bmatrix}"], ["(4, -1)", "(-1, -4)"]),
        ("\\begin{pmatrix} 1 & -2 \\\\ -3 & 4 \\end{pmatrix}", ["\\begin{pmatrix} 1&-2\\\\-3&4 \\end{pmatrix}"], ["\\begin{pmatrix} 4 & -2 \\\\ -3 & 1 \\end{pmatrix}"]),
        ("\\begin{pmatrix} \\frac{3}{5} \\\\ \\frac{4}{5} \\end{pmatrix}", ["\\begin{pmatrix} 0.6 \\\\ 0.8 \\end{pmatrix}", "\\frac{1}{5}\\begin{pmatrix} 3 \\\\ 4 \\end{pmatrix}"], ["\\begin{pmatrix} 3 \\\\ 4 \\end{pmatrix}"]),
    ],
    "decimals": [
        ("2.5", ["2.50", "\\frac{5}{2}", "2\\frac{1}{2}"], ["25", "0.25", "2.05"]),
        ("0.001", ["10^{-3}", "\\frac{1}{1000}", "1 \\times 10^{-3}", "1e-3"], ["0.01", "0.0001"]),
        ("3.75", ["\\frac{15}{4}", "3\\frac{3}{4}"], ["3.57", "3.7"]),
        ("0.1\\overline{6}", ["\\frac{1}{6}"], ["0.16", "0.17"]),
        ("1.732", ["\\sqrt{3}"], ["1.73", "1.7"]),
        ("-0.5", ["-\\frac{1}{2}", "-.5"], ["0.5", "-5"]),
    ],
}
_RESPONSES_SECOND: dict[str, list[tuple[str, str, bool]]] = {
    "no_boxed": [
        ("Thus, the minimum value is $-\\frac{9}{4}$.", "-\\frac94", True),
        ("The sum of the roots is 7.", "7", True),
        ("Final answer: $\\frac{\\pi}{3}$", "\\frac{\\pi}{3}", True),
        ("So $a + b = 11$.", "11", True),
        ("Therefore, the number of ways is 120.", "120", True),
        ("Therefore, the number of ways is 120.", "60", False),
        ("Answer: x = 4", "4", True),
        ("The remainder when $2^{10}$ is divided by 7 is 2.", "2", True),
        ("The remainder is 2 when divided by 7.", "2", True),
        ("**Answer**: 15", "15", True),
        ("The final result is $x^2 + 2x + 1$.", "(x+1)^2", True),
        ("Therefore $n = 12$.", "12", True),
        ("Therefore $n = 12$.", "13", False),
        ("So there are 3 solutions in total.", "3", True),
        ("We conclude that the probability equals 1/6.", "\\frac16", True),
        ("The answer is: **7**", "7", True),
        ("The perimeter is 24", "24", True),
        ("I think the answer might be 5 or 6.", "5", False),
    ],
    "units_in_text": [
        ("The train travels at 80 km/h.", "80", True),
        ("The train travels at 80 km/h.", "80 \\text{ km/h}", True),
        ("The tank holds \\boxed{1.5 \\text{ liters}}.", "1500 \\text{ mL}", True),
        ("The tank holds \\boxed{1.5 \\text{ liters}}.", "1.5 \\text{ mL}", False),
        ("The rope is \\boxed{2.5 \\text{ ft}}.", "30 \\text{ inches}", True),
        ("The rope is \\boxed{2.5 \\text{ ft}}.", "2.5 \\text{ m}", False),
        ("So the answer is \\boxed{90 \\text{ minutes}}.", "1.5 \\text{ hours}", True),
        ("The answer is 12 square meters.", "12 \\text{ m}^2", True),
        ("The answer is 12 square feet.", "12 \\text{ m}^2", False),
        ("Its weight is \\boxed{2 \\text{ lb}}.", "32 \\text{ oz}", True),
        ("Therefore, the distance is 5 miles.", "5", True),
        ("Therefore, the distance is 5 miles.", "8 \\text{ km}", False),
        ("The density is \\boxed{1 \\text{ g/cm}^3}.", "1000 \\text{ kg/m}^3", True),
        ("The answer is 45 mph.", "45 \\text{ miles per hour}", True),
        ("It costs \\boxed{\\$4.50} per pound.", "4.50", True),
    ],
    "last_answer": [
        ("I first got \\boxed{24}, but I double counted; dividing by 2 gives \\boxed{12}.", "12", True),
        ("I first got \\boxed{24}, but I double counted; dividing by 2 gives \\boxed{12}.", "24", False),
        ("Answer: 3\nWait, let me recheck... yes.\nAnswer: 3", "3", True),
        ("$x = 1$ or $x = 2$; only $x = 2$ satisfies the domain, so $x = 2$.", "2", True),
        ("The answer is \\boxed{5}. Actually, no: the answer is \\boxed{7}.", "7", True),
        ("The answer is \\boxed{5}. Actually, no: the answer is \\boxed{7}.", "5", False),
        ("\\boxed{A}\n\nAfter reconsidering option C more carefully: \\boxed{C}", "C", True),
        ("\\boxed{A}\n\nAfter reconsidering option C more carefully: \\boxed{C}", "A", False),
        ("The sum is 10. The product is 21.", "21", True),
    ],
}
# Hard cases for the latency tail: long polynomials and rational functions, partial fractions,
# trigonometric identities, nested radicals, symbolic matrices, long root lists.
_HARD: dict[str, list[tuple[str, list[str], list[str]]]] = {
    "symbolic": [
        ("(x+y)^{8}", ["x^8+8x^7y+28x^6y^2+56x^5y^3+70x^4y^4+56x^3y^5+28x^2y^6+8xy^7+y^8"],
         ["x^8+8x^7y+28x^6y^2+56x^5y^3+72x^4y^4+56x^3y^5+28x^2y^6+8xy^7+y^8"]),
        ("\\frac{x^4 - 1}{x^2 + 1}", ["x^2 - 1"], ["x^2 + 1"]),
        ("(a+b+c)^3", ["a^3+b^3+c^3+3a^2b+3a^2c+3ab^2+3b^2c+3ac^2+3bc^2+6abc"],
         ["a^3+b^3+c^3+3a^2b+3a^2c+3ab^2+3b^2c+3ac^2+3bc^2+3abc"]),
        ("\\frac{1}{x} + \\frac{1}{x+1} + \\frac{1}{x+2}", ["\\frac{3x^2+6x+2}{x(x+1)(x+2)}"],
         ["\\frac{3x^2+6x+1}{x(x+1)(x+2)}"]),
        ("\\sin^4 x - \\cos^4 x", ["-\\cos 2x"], ["\\cos 2x"]),
        ("\\cos^3 x", ["\\frac{3\\cos x + \\cos 3x}{4}"], ["\\frac{3\\cos x - \\cos 3x}{4}"]),
        ("\\frac{\\sqrt{2}+\\sqrt{6}}{4}", ["\\cos\\frac{\\pi}{12}"], ["\\sin\\frac{\\pi}{12}"]),
        ("\\sqrt{11+6\\sqrt{2}}", ["3+\\sqrt{2}"], ["2+3\\sqrt{2}"]),
        ("\\frac{1}{\\sqrt{2}+\\sqrt{3}+\\sqrt{5}}", ["\\frac{2\\sqrt{3}+3\\sqrt{2}-\\sqrt{30}}{12}"],
         ["\\frac{2\\sqrt{3}+3\\sqrt{2}+\\sqrt{30}}{12}"]),
        ("x^6 - 1", ["(x-1)(x+1)(x^2+x+1)(x^2-x+1)"], ["(x-1)(x+1)(x^2+x+1)(x^2+x+1)"]),
        ("\\frac{n(n+1)(2n+1)}{6}", ["\\frac{2n^3+3n^2+n}{6}", "\\frac{n^3}{3}+\\frac{n^2}{2}+\\frac{n}{6}"],
         ["\\frac{n(n+1)(2n-1)}{6}"]),
        ("\\left(\\frac{n(n+1)}{2}\\right)^2", ["\\frac{n^4+2n^3+n^2}{4}"], ["\\frac{n^4+2n^3+n^2}{2}"]),
        ("\\frac{x^5-1}{x-1}", ["x^4+x^3+x^2+x+1"], ["x^4+x^3+x^2+x"]),
        ("\\tan\\frac{\\pi}{8}", ["\\sqrt{2}-1"], ["\\sqrt{2}+1"]),
        ("\\frac{a^3-b^3}{a-b}", ["a^2+ab+b^2"], ["a^2-ab+b^2"]),
        ("(x^2+x+1)(x^2-x+1)", ["x^4+x^2+1"], ["x^4+1"]),
        ("\\frac{x}{(x-1)^2(x+1)}", ["\\frac{1}{4(x-1)} + \\frac{1}{2(x-1)^2} - \\frac{1}{4(x+1)}"],
         ["\\frac{1}{4(x-1)} + \\frac{1}{2(x-1)^2} + \\frac{1}{4(x+1)}"]),
        ("\\frac{\\sqrt{3}}{2} + \\frac{1}{2}i", ["e^{i\\pi/6}"], ["e^{i\\pi/3}"]),
        ("\\frac{1 + \\sqrt{5}}{2}", ["2\\cos\\frac{\\pi}{5}"], ["2\\sin\\frac{\\pi}{5}"]),
        ("\\frac{1023}{1024}", ["\\frac12+\\frac14+\\frac18+\\frac1{16}+\\frac1{32}+\\frac1{64}+\\frac1{128}+\\frac1{256}+\\frac1{512}+\\frac1{1024}"],
         ["\\frac12+\\frac14+\\frac18+\\frac1{16}+\\frac1{32}+\\frac1{64}+\\frac1{128}+\\frac1{256}+\\frac1{512}"]),
        ("2^{100}", ["1267650600228229401496703205376"], ["1267650600228229401496703205375"]),
        ("\\binom{20}{10}", ["184756"], ["184765"]),
        ("\\log_2 3 + \\log_2 5", ["\\log_2 15"], ["\\log_2 8"]),
    ],
    "matrices": [
        ("\\begin{pmatrix} \\cos 2\\theta & -\\sin 2\\theta \\\\ \\sin 2\\theta & \\cos 2\\theta \\end{pmatrix}",
         ["\\begin{pmatrix} \\cos^2\\theta - \\sin^2\\theta & -2\\sin\\theta\\cos\\theta \\\\ 2\\sin\\theta\\cos\\theta & \\cos^2\\theta-\\sin^2\\theta \\end{pmatrix}"],
         ["\\begin{pmatrix} \\cos^2\\theta - \\sin^2\\theta & 2\\sin\\theta\\cos\\theta \\\\ -2\\sin\\theta\\cos\\theta & \\cos^2\\theta-\\sin^2\\theta \\end{pmatrix}"]),
        ("\\begin{pmatrix} \\frac{1}{3} & \\frac{2}{3} & \\frac{2}{3} \\\\ \\frac{2}{3} & \\frac{1}{3} & -\\frac{2}{3} \\\\ \\frac{2}{3} & -\\frac{2}{3} & \\frac{1}{3} \\end{pmatrix}",
         ["\\frac{1}{3}\\begin{pmatrix} 1 & 2 & 2 \\\\ 2 & 1 & -2 \\\\ 2 & -2 & 1 \\end{pmatrix}"],
         ["\\frac{1}{3}\\begin{pmatrix} 1 & 2 & 2 \\\\ 2 & 1 & 2 \\\\ 2 & -2 & 1 \\end{pmatrix}"]),
    ],
    "sets": [
        ("\\frac{1 \\pm \\sqrt{5}}{2}, \\frac{-1 \\pm \\sqrt{5}}{2}",
         ["\\frac{-1-\\sqrt5}{2}, \\frac{1-\\sqrt5}{2}, \\frac{-1+\\sqrt5}{2}, \\frac{1+\\sqrt5}{2}"],
         ["\\frac{-1-\\sqrt5}{2}, \\frac{1-\\sqrt5}{2}, \\frac{-1+\\sqrt5}{2}, \\frac{-1+\\sqrt5}{2}"]),
    ],
    "equations": [
        ("x^2 + y^2 - 6x + 8y = 0", ["(x-3)^2 + (y+4)^2 = 25"], ["(x-3)^2+(y+4)^2=5"]),
    ],
    "physics": [
        ("\\frac{1}{4\\pi\\epsilon_0}\\frac{q_1 q_2}{r^2}", ["\\frac{q_1 q_2}{4\\pi\\epsilon_0 r^2}"],
         ["\\frac{q_1 q_2}{4\\pi\\epsilon_0 r}"]),
        ("\\frac{G M m}{2 R}", ["\\frac{1}{2}\\frac{GMm}{R}"], ["\\frac{GMm}{R}"]),
    ],
}
# fmt: on


def _merged(first: dict, second: dict) -> dict:
    return {kind: first.get(kind, []) + second.get(kind, []) for kind in {**first, **second}}


def _boxed_cases() -> list[Case]:
    cases = []
    i = 0
    for kind, groups in _merged(_BOXED, _BOXED_SECOND).items():
        for gold, rights, wrongs in groups:
            for answers, correct in ((rights, True), (wrongs, False)):
                for answer in answers:
                    template = BOX_TEMPLATES[i % len(BOX_TEMPLATES)]
                    i += 1
                    cases.append(Case(kind, template % answer, gold, correct))
    return cases


def _hard_cases() -> list[Case]:
    cases = []
    for kind, groups in _HARD.items():
        for gold, rights, wrongs in groups:
            for answers, correct in ((rights, True), (wrongs, False)):
                for answer in answers:
                    template = BOX_TEMPLATES[len(cases) % len(BOX_TEMPLATES)]
                    cases.append(Case(kind, template % answer, gold, correct, hard=True))
    return cases


def _response_cases() -> list[Case]:
    return [
        Case(kind, response, gold, correct)
        for kind, rows in _merged(_RESPONSES, _RESPONSES_SECOND).items()
        for response, gold, correct in rows
    ]


CASES: tuple[Case, ...] = tuple(_boxed_cases() + _hard_cases() + _response_cases())
KINDS: tuple[str, ...] = tuple(dict.fromkeys(c.kind for c in CASES))
