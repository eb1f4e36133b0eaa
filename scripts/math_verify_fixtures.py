#!/usr/bin/env python3
"""Conformance fixtures for metaalign-domain-math's answer verifier, produced
by Math-Verify 0.9.0 (https://github.com/huggingface/Math-Verify).

Usage (from the repository root, with a venv that has math-verify==0.9.0):
    /work/mv-venv/bin/python scripts/math_verify_fixtures.py [--mv-src DIR]

DIR is an unpacked Math-Verify 0.9.0 source tree (it must hold tests/*.py).
Without --mv-src the script runs
    pip download --no-deps --no-binary :all: math-verify==0.9.0
into a temporary directory and unpacks the sdist, whose tests/ are the ones
of the 0.9.0 release (the GitHub repository has no 0.9.0 tag).

Writes, under plugins/domain-math/tests/fixtures/:

math_verify_cases.jsonl -- the gold/prediction/expected triples of
  Math-Verify's own test suite. The test files are read with `ast`: every
  `@pytest.mark.parametrize` table is evaluated (the tables are literals, one
  f-string with `math.sqrt`), and the assertion in the test body tells which
  call it makes (`compare_strings(gold, pred, match_types=..., precision=...,
  strict=..., allow_set_relation_comp=...)`, or `verify(parse(gold),
  parse(pred))`), plus the literal `compare_strings(...) == 1` assertions of
  non-parametrized tests. One JSON object a line:
    {"source": "tests/test_x.py::test_name[3]", "gold": ..., "pred": ...,
     "match_types": ["latex", "expr"], "float_rounding": 6,
     "numeric_precision": 15, "strict": true,
     "allow_set_relation_comp": false, "boxed_match_priority": 0,
     "expected": true, "math_verify": true}
  `expected` is what the test asserts, `math_verify` what 0.9.0 returns when
  the call is replayed here. `boxed_match_priority` is the latex extraction
  setting the test used: 0 for `compare_strings` (it builds
  LatexExtractionConfig(boxed_match_priority=0)), 50 (the library default)
  for direct `parse(...)` calls. test_string_extraction.py's
  `parse(pred, [StringExtractionConfig()])` cases become "letters" triples:
  gold is the letter the test expects (or "A" where it expects nothing),
  `expected` is whether it expects a letter. Tests that mock internals
  (test_timeout, test_raise_on_error), call sympy directly (test_precision's
  sympy_expr_eq asserts, test_gamma_func) or change the normalisation config
  (test_configs) have no gold/prediction strings and are left out, as is the
  string case with a non-default `strings=` tuple.

math_verify_realistic.jsonl -- ~300 model responses generated here (seeded,
  deterministic) against MATH-500-style gold answers. Fields:
    {"id": 17, "category": "boxed_cot/decimal", "gold": "\\frac{3}{4}",
     "gold_text": "\\boxed{\\frac{3}{4}}", "response": ...,
     "math_verify": true, "verl_reward": 1.0}
  `math_verify` = verify(parse(gold_text), parse(response)) with every
  math-verify default (extraction [LatexExtractionConfig(),
  ExprExtractionConfig()], boxed_match_priority 50, fallback "first_match",
  float_rounding 6, numeric_precision 15, strict True, timeouts 5 s).
  gold_text is exactly what is parsed for the gold: "\\boxed{" + gold + "}",
  the wrapping veRL's math_verify reward applies to ground truths.
  `verl_reward` is what veRL's reward (verl/utils/reward_score/math_verify.py)
  returns: math_metric(gold_extraction_target=(LatexExtractionConfig(),),
  pred_extraction_target=(ExprExtractionConfig(), LatexExtractionConfig()))
  applied to ([gold_text], [response]), 0.0 on any exception.

MATH_VERIFY_LICENSE -- written by hand next to the fixtures; not generated.

Everything is deterministic; rerunning gives the same files.
"""
import argparse
import ast
import json
import math
import random
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import math_verify
from math_verify import (
    ExprExtractionConfig,
    LatexExtractionConfig,
    StringExtractionConfig,
    math_metric,
    parse,
    verify,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "plugins" / "domain-math" / "tests" / "fixtures"
MV_VERSION = "0.9.0"


# --------------------------------------------------------------------------
# Math-Verify source
# --------------------------------------------------------------------------


def fetch_sdist(tmp: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--no-binary", ":all:", f"math-verify=={MV_VERSION}", "-d", str(tmp)],
        check=True,
    )
    (archive,) = tmp.glob("math_verify-*.tar.gz")
    with tarfile.open(archive) as t:
        t.extractall(tmp)
    return tmp / f"math_verify-{MV_VERSION}"


# --------------------------------------------------------------------------
# Test-suite cases
# --------------------------------------------------------------------------


def eval_node(node, env):
    """Evaluates a literal-ish expression node (literals, f-strings with math.*)."""
    code = compile(ast.Expression(body=node), "<fixture>", "eval")
    return eval(code, {"math": math, "__builtins__": {}}, env)


def param_tables(fn: ast.FunctionDef):
    """Yields (argnames, rows) of each pytest.mark.parametrize on fn."""
    for dec in fn.decorator_list:
        if (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute)
                and dec.func.attr == "parametrize"):
            names = eval_node(dec.args[0], {})
            if isinstance(names, str):
                names = [n.strip() for n in names.split(",")]
            rows = eval_node(dec.args[1], {})
            yield list(names), rows


def call_name(node):
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name):
            return node.func.id
        if isinstance(node.func, ast.Attribute):
            return node.func.attr
    return None


def describe_call(call: ast.Call):
    """Returns (kind, gold_node, pred_node, kwargs_nodes) for a compared call.

    kind is "compare_strings" or "verify_parse"; None when not recognised.
    """
    if call_name(call) == "int" and call.args:
        return describe_call(call.args[0])
    name = call_name(call)
    if name == "compare_strings":
        kw = {k.arg: k.value for k in call.keywords}
        return "compare_strings", call.args[0], call.args[1], kw
    if name == "verify" and len(call.args) == 2 and all(
            call_name(a) == "parse" and len(a.args) == 1 for a in call.args):
        kw = {k.arg: k.value for k in call.keywords}
        return "verify_parse", call.args[0].args[0], call.args[1].args[0], kw
    return None


def assertions(fn: ast.FunctionDef):
    """Yields (described_call, expected_node) for `assert CALL == X` in fn."""
    for node in ast.walk(fn):
        if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare):
            cmp = node.test
            if len(cmp.ops) == 1 and isinstance(cmp.ops[0], ast.Eq):
                left = cmp.left
                d = describe_call(left) if isinstance(left, ast.Call) else None
                if d is not None:
                    yield d, cmp.comparators[0]


def make_case(source, kind, gold, pred, kw, expected):
    case = {
        "source": source,
        "gold": gold,
        "pred": pred,
        "match_types": ["latex", "expr"],
        "float_rounding": 6,
        "numeric_precision": 15,
        "strict": True,
        "allow_set_relation_comp": False,
        "boxed_match_priority": 0 if kind == "compare_strings" else 50,
        "expected": bool(expected),
    }
    if kind == "compare_strings":
        if "match_types" in kw:
            case["match_types"] = list(kw["match_types"])
        if "precision" in kw:
            case["float_rounding"] = int(kw["precision"])
        if "strict" in kw:
            case["strict"] = bool(kw["strict"])
        if "allow_set_relation_comp" in kw:
            case["allow_set_relation_comp"] = bool(kw["allow_set_relation_comp"])
    elif kind == "verify_parse":
        for k in ("float_rounding", "numeric_precision", "strict",
                  "allow_set_relation_comp"):
            if k in kw:
                case[k] = kw[k]
    return case


def string_extraction_cases(rel, fn):
    """test_string_extraction: parse(pred, [config]) == expected list."""
    out = []
    for names, rows in param_tables_raw(fn):
        for i, row in enumerate(rows.elts):
            pred = eval_node(row.elts[0], {})
            exp = eval_node(row.elts[1], {})
            cfg = row.elts[2]
            kws = {k.arg for k in cfg.keywords} if isinstance(cfg, ast.Call) else {"?"}
            if kws - {"lowercase"}:
                continue  # non-default strings tuple: no such option in ours
            gold = exp[1] if exp else "A"
            out.append({
                "source": f"{rel}::{fn.name}[{i}]",
                "gold": gold,
                "pred": pred,
                "match_types": ["letters"],
                "float_rounding": 6,
                "numeric_precision": 15,
                "strict": True,
                "allow_set_relation_comp": False,
                "boxed_match_priority": 50,
                "expected": bool(exp),
            })
    return out


def param_tables_raw(fn):
    """Like param_tables but keeps the rows as AST (rows may hold calls)."""
    for dec in fn.decorator_list:
        if (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute)
                and dec.func.attr == "parametrize"):
            yield eval_node(dec.args[0], {}), dec.args[1]


def collect_cases(tests_dir: Path):
    cases = []
    for path in sorted(tests_dir.glob("test_*.py")):
        rel = f"tests/{path.name}"
        tree = ast.parse(path.read_text(), filename=str(path))
        for fn in tree.body:
            if not isinstance(fn, ast.FunctionDef) or not fn.name.startswith("test_"):
                continue
            if path.name == "test_string_extraction.py":
                cases += string_extraction_cases(rel, fn)
                continue
            asserts = list(assertions(fn))
            if not asserts:
                continue
            tables = list(param_tables(fn))
            if tables:
                (names, rows), = tables
                (kind, g, p, kw), exp_node = asserts[0]
                for i, row in enumerate(rows):
                    env = dict(zip(names, row))
                    kwv = {k: eval_node(v, env) for k, v in kw.items()}
                    cases.append(make_case(
                        f"{rel}::{fn.name}[{i}]", kind,
                        eval_node(g, env), eval_node(p, env), kwv,
                        eval_node(exp_node, env)))
            else:
                for i, ((kind, g, p, kw), exp_node) in enumerate(asserts):
                    kwv = {k: eval_node(v, {}) for k, v in kw.items()}
                    cases.append(make_case(
                        f"{rel}::{fn.name}[{i}]", kind, eval_node(g, {}),
                        eval_node(p, {}), kwv, eval_node(exp_node, {})))
    return cases


def targets(match_types, boxed_priority):
    out = []
    for m in match_types:
        if m == "latex":
            out.append(LatexExtractionConfig(boxed_match_priority=boxed_priority))
        elif m == "expr":
            out.append(ExprExtractionConfig())
        elif m == "letters":
            out.append(StringExtractionConfig())
        else:
            raise ValueError(m)
    return out


def run_case(case):
    t = targets(case["match_types"], case["boxed_match_priority"])
    g = parse(case["gold"], t)
    p = parse(case["pred"], t)
    return bool(verify(
        g, p,
        float_rounding=case["float_rounding"],
        numeric_precision=case["numeric_precision"],
        strict=case["strict"],
        allow_set_relation_comp=case["allow_set_relation_comp"],
    ))


# --------------------------------------------------------------------------
# Realistic responses
# --------------------------------------------------------------------------

# (gold as in MATH-500's "answer" field, [equivalent renderings], [wrong ones])
GOLDS = [
    ("5", ["5", "5.0", "05", "\\text{5}", "5 \\text{ apples}"], ["6", "-5", "25"]),
    ("\\frac{3}{4}", ["\\frac{3}{4}", "0.75", "3/4", "\\dfrac{3}{4}", "\\frac34", "\\tfrac{3}{4}"],
     ["\\frac{4}{3}", "0.7", "\\frac{3}{5}"]),
    ("2\\sqrt{5}", ["2\\sqrt{5}", "\\sqrt{20}", "2 \\sqrt 5", "4.472135955", "2\\sqrt5"],
     ["\\sqrt{10}", "4.47", "5\\sqrt{2}"]),
    ("10", ["10\\%", "10", "10 \\%", "10 percent"], ["0.1", "100", "11\\%"]),
    ("90", ["90^\\circ", "90^{\\circ}", "90°", "90 \\text{ degrees}", "90"], ["45^\\circ", "180"]),
    ("1000", ["1,000", "1{,}000", "1000", "1 000", "1000.00"], ["100", "10,000"]),
    ("18.90", ["\\$18.90", "18.9", "\\$18.9", "18.90 \\text{ dollars}"], ["18.09", "\\$19"]),
    ("(-\\infty, 3]", ["(-\\infty, 3]", "(-\\infty,3]", "x \\le 3", "x \\in (-\\infty, 3]"],
     ["(-\\infty, 3)", "[3, \\infty)"]),
    ("[2, 5)", ["[2,5)", "[2, 5)", "2 \\le x < 5"], ["(2, 5)", "[2, 5]"]),
    ("(-2, 2)", ["(-2, 2)", "-2 < x < 2", "(-2,2)"], ["[-2, 2]", "(-2, 3)"]),
    ("\\{1, 2, 3\\}", ["\\{1, 2, 3\\}", "1, 2, 3", "\\{3, 2, 1\\}", "1,2,3"], ["1, 2", "\\{1, 2, 4\\}"]),
    ("1, -3", ["1, -3", "-3, 1", "x = 1, x = -3", "x=-3 \\text{ or } x=1"], ["1, 3", "-1, 3"]),
    ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
     ["\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
      "\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}"],
     ["\\begin{pmatrix} 1 & 3 \\\\ 2 & 4 \\end{pmatrix}"]),
    ("\\begin{pmatrix} -1 \\\\ 2 \\\\ 5 \\end{pmatrix}",
     ["\\begin{pmatrix} -1 \\\\ 2 \\\\ 5 \\end{pmatrix}", "\\begin{pmatrix}-1\\\\2\\\\5\\end{pmatrix}"],
     ["\\begin{pmatrix} 1 \\\\ 2 \\\\ 5 \\end{pmatrix}"]),
    ("(3, -1)", ["(3, -1)", "(3,-1)", "\\left(3, -1\\right)"], ["(-1, 3)", "(3, 1)"]),
    ("(1, 2, 3)", ["(1, 2, 3)", "(1,2,3)"], ["(1, 3, 2)", "(1, 2)"]),
    ("x^2 + 2x + 1", ["x^2 + 2x + 1", "(x+1)^2", "x^2+2x+1", "1 + 2x + x^2"], ["x^2 + 1", "(x-1)^2"]),
    ("\\frac{x+1}{x-1}", ["\\frac{x+1}{x-1}", "\\dfrac{1+x}{x-1}", "(x+1)/(x-1)"], ["\\frac{x-1}{x+1}"]),
    ("2x - 3", ["2x - 3", "2x-3", "-3 + 2x", "2 x - 3"], ["2x + 3", "3 - 2x"]),
    ("y = 2x + 3", ["y = 2x + 3", "y=2x+3", "2x + 3"], ["y = 3x + 2", "y = 2x - 3"]),
    ("12", ["12 \\text{ cm}", "12\\text{ cm}", "12 \\mbox{ inches}", "12"], ["12.5 \\text{ cm}", "13"]),
    ("\\frac{\\sqrt{3}}{2}", ["\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt3}{2}", "\\sqrt{3}/2", "0.8660254"],
     ["\\frac{1}{2}", "\\frac{\\sqrt{2}}{2}"]),
    ("\\pi", ["\\pi", "3.14159265", "\\pi \\text{ radians}"], ["2\\pi", "3.14"]),
    ("\\frac{\\pi}{3}", ["\\frac{\\pi}{3}", "\\pi/3", "\\dfrac{\\pi}{3}", "60^\\circ"], ["\\frac{\\pi}{6}"]),
    ("1024", ["1024", "2^{10}", "1,024", "2^10"], ["1023", "2^{11}"]),
    ("-7", ["-7", "- 7", "-7.0"], ["7", "-6"]),
    ("-\\frac{1}{2}", ["-\\frac{1}{2}", "-0.5", "-1/2", "\\frac{-1}{2}"], ["\\frac{1}{2}", "-2"]),
    ("\\text{(C)}", ["\\text{(C)}", "(C)", "C", "\\textbf{(C)}"], ["\\text{(B)}", "D"]),
    ("\\text{Monday}", ["\\text{Monday}", "Monday"], ["\\text{Tuesday}"]),
    ("3 + 4i", ["3 + 4i", "3+4i", "4i + 3"], ["3 - 4i", "4 + 3i"]),
    ("1011_2", ["1011_2", "1011_{2}"], ["1101_2", "11"]),
    ("\\pm 3", ["\\pm 3", "3, -3", "-3, 3"], ["3", "9"]),
    ("\\infty", ["\\infty", "+\\infty"], ["-\\infty", "0"]),
    ("\\log_2 5", ["\\log_2 5", "\\log_{2} 5", "\\frac{\\ln 5}{\\ln 2}"], ["\\log_5 2"]),
    ("\\frac{1}{12}", ["\\frac{1}{12}", "0.0833333", "1/12"], ["0.08", "\\frac{1}{6}"]),
    ("6\\sqrt{3}", ["6\\sqrt{3}", "\\sqrt{108}", "6 \\sqrt{3}"], ["3\\sqrt{6}"]),
    ("1{,}234{,}567", ["1,234,567", "1234567", "1{,}234{,}567"], ["1,234,576"]),
    ("0", ["0", "0.0", "-0"], ["1", "\\emptyset"]),
    ("\\emptyset", ["\\emptyset", "\\varnothing", "\\{\\}"], ["0"]),
    ("a = 2, b = 3", ["a = 2, b = 3", "a=2,b=3", "b = 3, a = 2"], ["a = 3, b = 2"]),
    ("\\sqrt{2} - 1", ["\\sqrt{2} - 1", "-1 + \\sqrt{2}", "0.41421356"], ["1 - \\sqrt{2}"]),
    ("\\frac{9}{4}", ["\\frac{9}{4}", "2.25", "2\\frac{1}{4}", "\\frac{18}{8}"], ["\\frac{4}{9}"]),
    ("[-1, 1]", ["[-1,1]", "[-1, 1]", "-1 \\le y \\le 1"], ["(-1, 1)"]),
    ("(-\\infty, -2) \\cup (2, \\infty)", ["(-\\infty, -2) \\cup (2, \\infty)", "(-\\infty,-2)\\cup(2,\\infty)",
                                           "(2, \\infty) \\cup (-\\infty, -2)"], ["(-2, 2)"]),
    ("50\\%", ["50\\%", "50", "0.5"], ["25\\%"]),
    ("4.5", ["4.5", "\\frac{9}{2}", "4\\frac12", "4.50"], ["4.6", "45"]),
    ("2\\pi r", ["2\\pi r", "2 \\pi r", "2r\\pi"], ["\\pi r^2"]),
    ("e^2", ["e^2", "e^{2}", "7.3890561"], ["2e"]),
]

COT_STEPS = [
    "First, note that the problem asks for a single value, so we set up an equation.",
    "Let $n$ be the unknown. Then $3n + 4 = 19$, so $n = 5$ is one candidate we need to check.",
    "We compute $2 \\cdot 7 = 14$ and $14 + 6 = 20$.",
    "By the Pythagorean theorem, $a^2 + b^2 = c^2$, giving $c = \\sqrt{9 + 16} = 5$.",
    "Substituting $x = 2$ gives $4 - 2 + 1 = 3$.",
    "The sum of the interior angles of a triangle is $180^\\circ$.",
    "Dividing both sides by 4, we get $x = \\frac{12}{4} = 3$.",
    "Consider the quadratic $x^2 - 5x + 6 = 0$, which factors as $(x-2)(x-3) = 0$.",
    "There are $\\binom{5}{2} = 10$ ways to choose the pair.",
    "Hmm, wait. Let me double-check that arithmetic: $12 \\times 11 = 132$.",
    "Since the sequence is arithmetic with common difference $d = 3$, the 10th term is $a_1 + 9d$.",
    "Now we simplify: \\[ \\frac{6}{8} = \\frac{3}{4}. \\]",
    "The total cost is 3 items at \\$4 each, i.e. \\$12.",
    "Taking the derivative, $f'(x) = 2x - 4$, which vanishes at $x = 2$.",
    "So the probability is the ratio of favourable to total outcomes.",
    "Note that 1,000 divided by 8 is 125.",
    "We are told the area is 36 square units, so each side is 6.",
    "Therefore the remainder when dividing by 7 is what we need.",
]

INTROS = [
    "Let's solve this step by step.",
    "To solve the problem, we proceed as follows.",
    "We need to find the requested quantity.",
    "Okay, let me think about this carefully.",
    "",
]


def cot(rng, k=None):
    k = rng.randint(1, 4) if k is None else k
    return " ".join(rng.sample(COT_STEPS, k))


def render(rng, wrapper, ans, other):
    intro = rng.choice(INTROS)
    body = cot(rng)
    w = {
        "boxed_cot": lambda: f"{intro}\n\n{body}\n\nTherefore, the final answer is $\\boxed{{{ans}}}$.",
        "boxed_display": lambda: f"{intro} {body}\n\n**Final Answer**\n\\[\n\\boxed{{{ans}}}\n\\]",
        "minerva": lambda: f"{body}\nFinal Answer: The final answer is ${ans}$. I hope it is correct.",
        "final_answer_is": lambda: f"{body} The final answer is ${ans}$.",
        "answer_colon": lambda: f"{body}\n\nAnswer: {ans}",
        "answer_colon_latex": lambda: f"{body}\n\nAnswer: $ {ans} $",
        "plain": lambda: ans,
        "plain_dollars": lambda: f"${ans}$",
        "think_answer": lambda: f"<think>\n{intro} {body}\n</think>\n<answer>{ans}</answer>",
        "think_answer_boxed": lambda: f"<think>\n{body}\n</think>\n<answer>\\boxed{{{ans}}}</answer>",
        "inline_paren": lambda: f"{body} So the answer is \\({ans}\\).",
        "display_brackets": lambda: f"{body}\nThus\n\\[ {ans} \\]",
        "gsm8k": lambda: f"{body}\n#### {ans}",
        "two_boxes_last_right": lambda: f"{body} My first guess was $\\boxed{{{other}}}$, but that is wrong. Correcting the arithmetic, the answer is $\\boxed{{{ans}}}$.",
        "two_boxes_first_right": lambda: f"{body} We get $\\boxed{{{ans}}}$. Actually, let me reconsider... so it's $\\boxed{{{other}}}$.",
        "boxed_no_dollars": lambda: f"{body} Hence \\boxed{{{ans}}}",
        "answer_is_text": lambda: f"{body} The answer is {ans}.",
        "bold_answer": lambda: f"{body}\n\n**Answer:** ${ans}$",
    }
    return w[wrapper]()


NO_ANSWER = [
    "I'm not sure how to solve this problem.",
    "Let's think about it. We need more information about the triangle to proceed.",
    "<think>\nThis is hard. Let me try another approach.\n</think>\n<answer></answer>",
    "The problem cannot be solved with the given information.",
    "We compute $2 \\cdot 7 = 14$ and $14 + 6 = 20$. Then we stop here.",
    "",
    "\\boxed{}",
    "The answer is $",
]

WRAPPERS = ["boxed_cot", "boxed_display", "minerva", "final_answer_is", "answer_colon",
            "answer_colon_latex", "plain", "plain_dollars", "think_answer",
            "think_answer_boxed", "inline_paren", "display_brackets", "gsm8k",
            "boxed_no_dollars", "answer_is_text", "bold_answer"]


def realistic_cases(n_target=300):
    rng = random.Random(20240531)
    cases = []
    for gold, good, bad in GOLDS:
        # every equivalent rendering once, in a random wrapper
        for ans in good:
            w = rng.choice(WRAPPERS)
            cases.append((f"{w}/correct", gold, render(rng, w, ans, rng.choice(bad))))
        # wrong answers
        for ans in bad:
            w = rng.choice(WRAPPERS)
            cases.append((f"{w}/wrong", gold, render(rng, w, ans, rng.choice(good))))
        # two boxes
        w = rng.choice(["two_boxes_last_right", "two_boxes_first_right"])
        cases.append((f"{w}", gold, render(rng, w, rng.choice(good), rng.choice(bad))))
    for text in NO_ANSWER:
        gold = rng.choice(GOLDS)[0]
        cases.append(("no_answer", gold, text))
    while len(cases) < n_target:
        gold, good, bad = rng.choice(GOLDS)
        w = rng.choice(WRAPPERS)
        if rng.random() < 0.7:
            cases.append((f"{w}/correct", gold, render(rng, w, rng.choice(good), rng.choice(bad))))
        else:
            cases.append((f"{w}/wrong", gold, render(rng, w, rng.choice(bad), rng.choice(good))))
    return cases


def verl_reward(gold_text, response):
    fn = math_metric(
        gold_extraction_target=(LatexExtractionConfig(),),
        pred_extraction_target=(ExprExtractionConfig(), LatexExtractionConfig()),
    )
    try:
        score, _ = fn([gold_text], [response])
        return float(score)
    except BaseException:  # veRL catches Exception and TimeoutException
        return 0.0


# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mv-src", type=Path, default=None,
                    help="unpacked Math-Verify 0.9.0 source tree (with tests/)")
    args = ap.parse_args()
    if getattr(math_verify, "__version__", MV_VERSION) != MV_VERSION:
        print(f"warning: math_verify {math_verify.__version__} != {MV_VERSION}", file=sys.stderr)
    try:
        from importlib.metadata import version
        v = version("math-verify")
        if v != MV_VERSION:
            sys.exit(f"math-verify {v} installed, need {MV_VERSION}")
    except Exception:
        pass

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = args.mv_src or fetch_sdist(Path(tmp))
        cases = collect_cases(src / "tests")

    n_fail = 0
    with open(OUT / "math_verify_cases.jsonl", "w") as f:
        for c in cases:
            c["math_verify"] = run_case(c)
            if c["math_verify"] != c["expected"]:
                n_fail += 1
                print(f"0.9.0 fails its own test: {c['source']}: gold={c['gold']!r} "
                      f"pred={c['pred']!r} expected={c['expected']}", file=sys.stderr)
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    print(f"math_verify_cases.jsonl: {len(cases)} cases, {n_fail} where 0.9.0 != expected")

    real = realistic_cases()
    n_true = 0
    with open(OUT / "math_verify_realistic.jsonl", "w") as f:
        for i, (cat, gold, response) in enumerate(real):
            gold_text = "\\boxed{" + gold + "}"
            mv = bool(verify(parse(gold_text), parse(response)))
            n_true += mv
            f.write(json.dumps({
                "id": i, "category": cat, "gold": gold, "gold_text": gold_text,
                "response": response, "math_verify": mv,
                "verl_reward": verl_reward(gold_text, response),
            }, ensure_ascii=False) + "\n")
    print(f"math_verify_realistic.jsonl: {len(real)} cases, {n_true} verified equal")


if __name__ == "__main__":
    main()
