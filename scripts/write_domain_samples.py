#!/usr/bin/env python3
"""Writes the synthetic benchmark samples the project ships under
examples/data/ (plain Python 3, no third-party packages, fixed seed: the
same files on every run).

Usage (from the repository root):
    python3 scripts/write_domain_samples.py [--out examples/data]

Every problem is generated from a template and its answer computed, so the
files are ours to ship; the real benchmarks are listed in
examples/data/README.md. Files written:

  math500-sample.jsonl   50 problems in MATH-500's layout
  math-train.jsonl       ~400 easy integer-answer problems (domain RL on tiny models)
  aime-sample.jsonl      10 problems in the AIME datasets' layout
  gpqa-sample.jsonl      20 multiple-choice questions in GPQA's columns
  choice-sample.jsonl    10 questions with explicit options
  responses/math500-good.jsonl   tagged model outputs for math500-sample
  responses/math500-plain.jsonl  untagged (base-model style) outputs
  responses/gpqa-sample.jsonl    outputs for gpqa-sample, keyed by Record ID

Response lines are {"id", "response", "expected"}: `expected` (correct,
wrong or unparseable) is what a verifier should say, for tests; readers of
{"id", "response"} files ignore it.

The GPQA response letters refer to the options as the `choice` task kind
orders them at run seed 0; `choice_order` below mirrors its shuffle.
"""

import argparse
import json
import math
import os
import random
from fractions import Fraction

SEED = 20250531
M64 = (1 << 64) - 1

SUBJECT_SLUG = {
    "Prealgebra": "prealgebra",
    "Algebra": "algebra",
    "Number Theory": "number_theory",
    "Counting & Probability": "counting_and_probability",
    "Geometry": "geometry",
    "Intermediate Algebra": "intermediate_algebra",
    "Precalculus": "precalculus",
}


# --- the choice kind's option shuffle (mirrors plugins/domain-choice) ---

def mix64(z):
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def derive_seed(seed, label):
    h = 0xCBF29CE484222325
    for b in label.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & M64
    return mix64(seed ^ mix64(h))


def choice_order(run_seed, task_id, n):
    """Positions of the file's options [correct, incorrect 1, ...] after the
    shuffle: Fisher-Yates driven by a SplitMix64 stream."""
    state = derive_seed(run_seed, "choice/" + task_id)
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        out = mix64(state)
        state = (state + 0x9E3779B97F4A7C15) & M64
        j = out % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


# --- LaTeX helpers ---

def tex_frac(q):
    q = Fraction(q)
    if q.denominator == 1:
        return str(q.numerator)
    sign = "-" if q < 0 else ""
    return "%s\\frac{%d}{%d}" % (sign, abs(q.numerator), q.denominator)


def decimal_of(q):
    """The exact decimal of a fraction whose denominator has only 2s and 5s."""
    q = Fraction(q)
    d = q.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d != 1:
        return None
    s = "%.6f" % float(q)
    return s.rstrip("0").rstrip(".")


def thousands(n):
    return "{:,}".format(n)


def squarefree_split(n):
    a, b = 1, n
    k = 2
    while k * k <= b:
        while b % (k * k) == 0:
            b //= k * k
            a *= k
        k += 1
    return a, b


def tex_sqrt(n):
    a, b = squarefree_split(n)
    if b == 1:
        return str(a)
    return ("%d\\sqrt{%d}" % (a, b)) if a > 1 else ("\\sqrt{%d}" % b)


def pmatrix(a, b):
    return "\\begin{pmatrix} %d \\\\ %d \\end{pmatrix}" % (a, b)


def boxed_sentence(text, answer):
    return "%s $\\boxed{%s}$." % (text, answer)


# --- MATH-500-layout templates: each returns a dict with problem, steps,
# answer, subject, level, and for the response files `alt` (an equivalent
# form, or None) and `wrong` (a plausible wrong answer) ---

def t_arith(r):
    a, b, c = r.randint(2, 30), r.randint(2, 12), r.randint(2, 12)
    return dict(
        problem="Compute $%d + %d \\cdot %d$." % (a, b, c),
        steps="Multiplication comes first: $%d \\cdot %d = %d$, so the sum is $%d + %d = %d$."
        % (b, c, b * c, a, b * c, a + b * c),
        answer=str(a + b * c), subject="Prealgebra", level=1, alt=None, wrong=str((a + b) * c))


def t_frac(r):
    while True:
        a, b = r.randint(1, 9), r.randint(2, 16)
        if math.gcd(a, b) == 1:
            break
    g = r.randint(2, 9)
    q = Fraction(a, b)
    return dict(
        problem="Simplify $\\frac{%d}{%d}$." % (a * g, b * g),
        steps="Both $%d$ and $%d$ are divisible by $%d$, so $\\frac{%d}{%d} = \\frac{%d}{%d}$."
        % (a * g, b * g, g, a * g, b * g, a, b),
        answer=tex_frac(q), subject="Prealgebra", level=2, alt=decimal_of(q),
        wrong=tex_frac(Fraction(a, b + 1)))


def t_linear(r):
    a = r.randint(2, 9)
    x = Fraction(r.randint(-12, 12), r.choice([1, 1, a]))
    b = r.randint(-20, 20)
    c = a * x + b
    if c.denominator != 1:
        c = Fraction(round(c))
        x = (c - b) / a
    return dict(
        problem="Solve for $x$: $%dx %s %d = %d$." % (a, "+" if b >= 0 else "-", abs(b), c),
        steps="Moving the constant term to the right side gives $%dx = %d$, so $x = %s$."
        % (a, c - b, tex_frac(x)),
        answer=tex_frac(x), subject="Algebra", level=2, alt=decimal_of(x),
        wrong=tex_frac((c + b) / a))


def t_quadratic(r):
    while True:
        p, q = r.randint(-9, 9), r.randint(-9, 9)
        if p < q and p != 0 and q != 0:
            break
    B, C = -(p + q), p * q

    def term(k, var):
        if k == 0:
            return ""
        sign = "+" if k > 0 else "-"
        mag = "" if abs(k) == 1 and var else str(abs(k))
        return " %s %s%s" % (sign, mag, var)

    return dict(
        problem="Find all solutions to $x^2%s%s = 0$. Enter all the solutions, separated by commas."
        % (term(B, "x"), term(C, "")),
        steps="The quadratic factors as $(x %s %d)(x %s %d) = 0$."
        % ("-" if p >= 0 else "+", abs(p), "-" if q >= 0 else "+", abs(q)),
        answer="%d, %d" % (p, q), subject="Algebra", level=3, alt="%d,%d" % (q, p),
        wrong="%d, %d" % (-q, -p))


def t_gcd(r):
    g = r.randint(2, 15)
    a, b = g * r.randint(2, 12), g * r.randint(2, 12)
    if a == b:
        b += g
    d = math.gcd(a, b)
    return dict(
        problem="What is the greatest common divisor of $%d$ and $%d$?" % (a, b),
        steps="By the Euclidean algorithm, $\\gcd(%d, %d) = %d$." % (a, b, d),
        answer=str(d), subject="Number Theory", level=2, alt=None, wrong=str(a * b // d))


def t_lcm(r):
    a, b = r.randint(4, 30), r.randint(4, 30)
    if a == b:
        b += 1
    m = a * b // math.gcd(a, b)
    return dict(
        problem="What is the least common multiple of $%d$ and $%d$?" % (a, b),
        steps="$\\operatorname{lcm}(%d, %d) = \\frac{%d \\cdot %d}{\\gcd(%d, %d)} = %d$."
        % (a, b, a, b, a, b, m),
        answer=str(m), subject="Number Theory", level=2, alt=None, wrong=str(math.gcd(a, b)))


def t_remainder(r):
    n, d = r.randint(100, 9999), r.randint(3, 13)
    return dict(
        problem="What is the remainder when $%d$ is divided by $%d$?" % (n, d),
        steps="$%d = %d \\cdot %d + %d$." % (n, d, n // d, n % d),
        answer=str(n % d), subject="Number Theory", level=r.randint(1, 3), alt=None,
        wrong=str((n + 1) % d))


def t_binom(r):
    n = r.randint(5, 12)
    k = r.randint(2, n - 2)
    v = math.comb(n, k)
    return dict(
        problem="Compute $\\dbinom{%d}{%d}$." % (n, k),
        steps="$\\dbinom{%d}{%d} = \\frac{%d!}{%d!\\,%d!} = %d$." % (n, k, n, k, n - k, v),
        answer=thousands(v), subject="Counting & Probability", level=2,
        alt=str(v) if v >= 1000 else None, wrong=str(math.perm(n, k)))


def t_prob(r):
    if r.random() < 0.5:
        s = r.randint(3, 11)
        ways = sum(1 for i in range(1, 7) for j in range(1, 7) if i + j == s)
        p = Fraction(ways, 36)
        return dict(
            problem="Two fair six-sided dice are rolled. What is the probability that the sum "
            "of the numbers rolled is $%d$? Express your answer as a common fraction." % s,
            steps="Of the $36$ equally likely outcomes, $%d$ have sum $%d$, so the probability "
            "is $\\frac{%d}{36} = %s$." % (ways, s, ways, tex_frac(p)),
            answer=tex_frac(p), subject="Counting & Probability", level=3,
            alt=decimal_of(p), wrong=tex_frac(Fraction(ways, 6 * 6 + 6)))
    red, blue = r.randint(2, 12), r.randint(2, 12)
    p = Fraction(red, red + blue)
    return dict(
        problem="A bag holds $%d$ red marbles and $%d$ blue marbles. One marble is drawn at "
        "random. What is the probability that it is red? Express your answer as a common "
        "fraction." % (red, blue),
        steps="There are $%d$ marbles, $%d$ of them red, so the probability is $%s$."
        % (red + blue, red, tex_frac(p)),
        answer=tex_frac(p), subject="Counting & Probability", level=2, alt=decimal_of(p),
        wrong=tex_frac(Fraction(red, blue)))


def t_circle(r):
    rad = r.randint(2, 15)
    return dict(
        problem="A circle has radius $%d$ units. What is its area, in square units? Express "
        "your answer in terms of $\\pi$." % rad,
        steps="The area is $\\pi r^2 = \\pi \\cdot %d^2 = %d\\pi$." % (rad, rad * rad),
        answer="%d\\pi" % (rad * rad), subject="Geometry", level=2,
        alt="\\pi \\cdot %d" % (rad * rad), wrong="%d\\pi" % (2 * rad))


def t_sqrt(r):
    a, b = r.randint(2, 7), r.choice([2, 3, 5, 6, 7, 10, 11])
    n = a * a * b
    return dict(
        problem="Simplify $\\sqrt{%d}$." % n,
        steps="$\\sqrt{%d} = \\sqrt{%d \\cdot %d} = %s$." % (n, a * a, b, tex_sqrt(n)),
        answer=tex_sqrt(n), subject="Prealgebra", level=3, alt=None,
        wrong="%d\\sqrt{%d}" % (b, a))


def t_interval(r):
    a, k = r.randint(2, 7), r.randint(-6, 9)
    b = r.randint(1, 20)
    c = a * k - b
    if r.random() < 0.5:
        return dict(
            problem="Find all $x$ such that $%dx - %d \\ge %d$. Express your answer in "
            "interval notation." % (a, b, c),
            steps="Adding $%d$ gives $%dx \\ge %d$, so $x \\ge %d$." % (b, a, a * k, k),
            answer="[%d,\\infty)" % k, subject="Algebra", level=3,
            alt="[%d, \\infty)" % k, wrong="(%d,\\infty)" % k)
    return dict(
        problem="Find all $x$ such that $%dx - %d < %d$. Express your answer in interval "
        "notation." % (a, b, c),
        steps="Adding $%d$ gives $%dx < %d$, so $x < %d$." % (b, a, a * k, k),
        answer="(-\\infty,%d)" % k, subject="Algebra", level=3, alt=None,
        wrong="(-\\infty,%d]" % k)


def t_system(r):
    x, y = r.randint(-9, 9), r.randint(-9, 9)
    while x == y:
        y = r.randint(-9, 9)
    a, b = r.randint(1, 5), r.randint(1, 5)
    return dict(
        problem="Find the ordered pair $(x,y)$ that satisfies $%dx + %dy = %d$ and $x - y = %d$."
        % (a, b, a * x + b * y, x - y),
        steps="From the second equation $x = y + %d$; substituting gives $%dy = %d$, so "
        "$y = %d$ and $x = %d$." % (x - y, a + b, a * x + b * y - a * (x - y), y, x),
        answer="(%d,%d)" % (x, y), subject="Algebra", level=3, alt="(%d, %d)" % (x, y),
        wrong="(%d,%d)" % (y, x))


def t_vector(r):
    a, b, c, d = (r.randint(-6, 6) for _ in range(4))
    k = r.randint(2, 4)
    return dict(
        problem="Compute $%s + %d %s$." % (pmatrix(a, b), k, pmatrix(c, d)),
        steps="Componentwise, $%d + %d \\cdot %d = %d$ and $%d + %d \\cdot %d = %d$."
        % (a, k, c, a + k * c, b, k, d, b + k * d),
        answer=pmatrix(a + k * c, b + k * d), subject="Precalculus", level=2, alt=None,
        wrong=pmatrix(k * (a + c), k * (b + d)))


def t_angle(r):
    n = r.choice([5, 6, 8, 9, 10, 12, 15, 18])
    v = 180 * (n - 2) // n
    return dict(
        problem="What is the measure, in degrees, of each interior angle of a regular polygon "
        "with $%d$ sides?" % n,
        steps="The interior angles sum to $180^\\circ(%d-2) = %d^\\circ$, so each is "
        "$%d^\\circ$." % (n, 180 * (n - 2), v),
        answer="%d^\\circ" % v, subject="Geometry", level=2, alt=str(v), wrong="%d^\\circ" % (360 // n))


def t_arcsin(r):
    text, deg = r.choice([("\\frac{1}{2}", 30), ("\\frac{\\sqrt{2}}{2}", 45),
                          ("\\frac{\\sqrt{3}}{2}", 60), ("1", 90)])
    return dict(
        problem="Compute $\\arcsin %s$. Express your answer in degrees." % text,
        steps="Since $\\sin %d^\\circ = %s$, $\\arcsin %s = %d^\\circ$." % (deg, text, text, deg),
        answer="%d^\\circ" % deg, subject="Precalculus", level=1, alt=None,
        wrong="%d^\\circ" % (90 - deg if deg != 45 else 30))


def t_trig(r):
    expr, val = r.choice([("\\cos 60^\\circ", "\\frac{1}{2}"), ("\\tan 45^\\circ", "1"),
                          ("\\cos 30^\\circ", "\\frac{\\sqrt{3}}{2}"),
                          ("\\sin 45^\\circ", "\\frac{\\sqrt{2}}{2}"),
                          ("\\tan 60^\\circ", "\\sqrt{3}")])
    return dict(
        problem="Compute $%s$." % expr,
        steps="From the special right triangles, $%s = %s$." % (expr, val),
        answer=val, subject="Precalculus", level=1, alt=None, wrong="\\frac{\\sqrt{3}}{3}")


def t_percent(r):
    whole = r.choice([20, 40, 50, 80, 120, 200, 250, 400])
    pct = r.choice([5, 10, 15, 20, 25, 30, 40, 60, 75])
    part = Fraction(whole * pct, 100)
    if part.denominator != 1:
        whole, part = 200, Fraction(2 * pct)
    return dict(
        problem="What percent of $%d$ is $%d$?" % (whole, part),
        steps="$\\frac{%d}{%d} = %s = %d\\%%$." % (part, whole, tex_frac(part / whole), pct),
        answer="%d\\%%" % pct, subject="Prealgebra", level=2, alt="%d \\%%" % pct,
        wrong="%d\\%%" % (100 - pct))


def t_money(r):
    n, m = r.randint(2, 6), r.randint(1, 6)
    cost = Fraction(250 * n + 125 * m, 100)
    text = "%.2f" % float(cost)
    return dict(
        problem="A notebook costs $\\$2.50$ and a pen costs $\\$1.25$. How much, in dollars, do "
        "$%d$ notebooks and $%d$ pens cost together?" % (n, m),
        steps="$%d \\cdot \\$2.50 + %d \\cdot \\$1.25 = \\$%s$." % (n, m, text),
        answer="\\$%s" % text, subject="Prealgebra", level=2,
        alt=("%.2f" % float(cost)).rstrip("0").rstrip("."),
        wrong="\\$%.2f" % float(Fraction(250 * n + 250 * m, 100)))


def t_thousands(r):
    a, b = r.choice([25, 35, 45, 55, 75, 125]), r.randint(12, 90)
    return dict(
        problem="Compute $%d \\times %d$." % (a, b),
        steps="$%d \\times %d = %s$." % (a, b, thousands(a * b)),
        answer=thousands(a * b), subject="Prealgebra", level=1,
        alt=str(a * b) if a * b >= 1000 else None, wrong=thousands(a * b + 10))


def t_text_choice(r):
    vals = r.sample(range(2, 40), 5)
    exprs = []
    for v in vals:
        kind = r.randint(0, 2)
        if kind == 0:
            exprs.append(("%d" % v, v))
        elif kind == 1:
            exprs.append(("\\sqrt{%d}" % (v * v), v))
        else:
            exprs.append(("\\frac{%d}{2}" % (2 * v), v))
    best = max(range(5), key=lambda i: exprs[i][1])
    letters = "ABCDE"
    listing = "\n".join("(%s) $%s$" % (letters[i], exprs[i][0]) for i in range(5))
    wrong_i = min(range(5), key=lambda i: exprs[i][1])
    return dict(
        problem="Which of the following is the largest?\n\n%s\n\nEnter the letter of the "
        "correct option." % listing,
        steps="The values are $%s$; the largest is option (%s)."
        % (", ".join(str(v) for _, v in exprs), letters[best]),
        answer="\\text{(%s)}" % letters[best], subject="Algebra", level=2, alt=None,
        wrong="\\text{(%s)}" % letters[wrong_i])


def t_poly(r):
    a, b, c, k = r.randint(1, 5), r.randint(-9, 9), r.randint(-9, 9), r.randint(-4, 5)
    v = a * k * k + b * k + c
    return dict(
        problem="Let $f(x) = %dx^2 %s %dx %s %d$. Find $f(%d)$."
        % (a, "+" if b >= 0 else "-", abs(b), "+" if c >= 0 else "-", abs(c), k),
        steps="$f(%d) = %d(%d)^2 + (%d)(%d) + (%d) = %d$." % (k, a, k, b, k, c, v),
        answer=str(v), subject="Intermediate Algebra", level=1, alt=None, wrong=str(v + 2 * b * k))


def t_sum_roots(r):
    a, b, c = r.randint(2, 7), r.randint(-15, 15), r.randint(-9, 9)
    if b == 0:
        b = 5
    s = Fraction(-b, a)
    return dict(
        problem="What is the sum of the roots of $%dx^2 %s %dx %s %d = 0$?"
        % (a, "+" if b >= 0 else "-", abs(b), "+" if c >= 0 else "-", abs(c)),
        steps="By Vieta's formulas the sum of the roots is $-\\frac{b}{a} = %s$." % tex_frac(s),
        answer=tex_frac(s), subject="Intermediate Algebra", level=3, alt=decimal_of(s),
        wrong=tex_frac(-s))


def t_distance(r):
    x1, y1 = r.randint(-5, 5), r.randint(-5, 5)
    dx, dy = r.choice([(3, 4), (1, 1), (2, 3), (1, 2), (6, 8), (2, 2), (5, 12), (3, 3)])
    d2 = dx * dx + dy * dy
    return dict(
        problem="What is the distance between the points $(%d,%d)$ and $(%d,%d)$?"
        % (x1, y1, x1 + dx, y1 + dy),
        steps="$\\sqrt{%d^2 + %d^2} = \\sqrt{%d} = %s$." % (dx, dy, d2, tex_sqrt(d2)),
        answer=tex_sqrt(d2), subject="Algebra", level=2, alt=None, wrong=str(dx + dy))


def t_power(r):
    a, b = r.randint(2, 6), r.randint(2, 5)
    return dict(
        problem="Evaluate $2^{%d} \\cdot 2^{%d}$." % (a, b),
        steps="$2^{%d} \\cdot 2^{%d} = 2^{%d} = %d$." % (a, b, a + b, 2 ** (a + b)),
        answer=str(2 ** (a + b)), subject="Algebra", level=1, alt=None, wrong=str(2 ** (a * b)))


MATH_TEMPLATES = [
    t_arith, t_frac, t_linear, t_quadratic, t_gcd, t_lcm, t_remainder, t_binom, t_prob,
    t_circle, t_sqrt, t_interval, t_system, t_vector, t_angle, t_arcsin, t_trig, t_percent,
    t_money, t_thousands, t_text_choice, t_poly, t_sum_roots, t_distance, t_power,
]


def math500_sample(r, n=50):
    rows, seen, ids = [], set(), set()
    i = 0
    while len(rows) < n:
        t = MATH_TEMPLATES[i % len(MATH_TEMPLATES)]
        i += 1
        p = t(r)
        if p["problem"] in seen:
            continue
        seen.add(p["problem"])
        while True:
            uid = "sample/%s/%d.json" % (SUBJECT_SLUG[p["subject"]], r.randint(1, 1499))
            if uid not in ids:
                ids.add(uid)
                break
        p["unique_id"] = uid
        p["level"] = max(1, min(5, p["level"] + r.choice([0, 0, 1, 2])))
        rows.append(p)
    return rows


def math_row(p):
    return {
        "problem": p["problem"],
        "solution": boxed_sentence(p["steps"] + " The answer is", p["answer"]),
        "answer": p["answer"],
        "subject": p["subject"],
        "level": p["level"],
        "unique_id": p["unique_id"],
    }


def math_train(r, n=400):
    """Easy problems with short integer answers, so tiny models learn."""
    rows, seen = [], set()
    while len(rows) < n:
        kind = r.randint(0, 4)
        if kind == 0:
            a, b = r.randint(1, 20), r.randint(1, 20)
            q, s, v, subj, lvl = "What is $%d + %d$?" % (a, b), "$%d + %d = %d$." % (a, b, a + b), a + b, "Prealgebra", 1
        elif kind == 1:
            a, b = r.randint(2, 12), r.randint(2, 12)
            q, s, v, subj, lvl = "What is $%d \\times %d$?" % (a, b), "$%d \\times %d = %d$." % (a, b, a * b), a * b, "Prealgebra", 2
        elif kind == 2:
            a, b = r.randint(1, 30), r.randint(1, 30)
            q, s, v, subj, lvl = "What is $%d - %d$?" % (a, b), "$%d - %d = %d$." % (a, b, a - b), a - b, "Prealgebra", 1
        elif kind == 3:
            a, b = r.randint(10, 99), r.randint(2, 9)
            q = "What is the remainder when $%d$ is divided by $%d$?" % (a, b)
            s, v, subj, lvl = "$%d = %d \\cdot %d + %d$." % (a, b, a // b, a % b), a % b, "Number Theory", 2
        else:
            a, b, c = r.randint(1, 9), r.randint(1, 9), r.randint(1, 9)
            q, s, v, subj, lvl = (
                "What is $%d + %d \\times %d$?" % (a, b, c),
                "$%d \\times %d = %d$ and $%d + %d = %d$." % (b, c, b * c, a, b * c, a + b * c),
                a + b * c, "Prealgebra", 3)
        if q in seen:
            continue
        seen.add(q)
        rows.append({
            "problem": q,
            "solution": boxed_sentence(s + " The answer is", str(v)),
            "answer": str(v),
            "subject": subj,
            "level": lvl,
            "unique_id": "train/%s/%d.json" % (SUBJECT_SLUG[subj], len(rows) + 1),
        })
    return rows


def divisors(n):
    return sum(1 for d in range(1, n + 1) if n % d == 0)


def aime_sample(r):
    rows = []

    def add(problem, answer, solution):
        assert 0 <= answer <= 999
        n = len(rows) + 1
        rows.append({
            "id": 60 + n,
            "problem": problem,
            "answer": str(answer),
            "solution": solution + " The answer is $\\boxed{%d}$." % answer,
            "url": "https://example.invalid/synthetic-aime/%d" % n,
            "year": 2024,
        })

    b, e = r.choice([3, 7, 11, 13]), r.randint(100, 400)
    add("Find the remainder when $%d^{%d}$ is divided by $1000$." % (b, e), pow(b, e, 1000),
        "Reduce modulo $8$ and $125$ and combine with the Chinese remainder theorem.")
    n = r.choice([720, 840, 1260, 2520, 5040])
    add("Find the number of positive divisors of $%d$." % n, divisors(n),
        "Factor $%d$ into primes and multiply one more than each exponent." % n)
    lim, p, q, s = 1000, 3, 5, 7
    cnt = sum(1 for k in range(1, lim + 1) if (k % p == 0 or k % q == 0) and k % s != 0)
    add("How many integers $n$ with $1 \\le n \\le %d$ are divisible by $%d$ or $%d$ but not by $%d$?"
        % (lim, p, q, s), cnt, "Use inclusion-exclusion, then remove the multiples of $%d$." % s)
    rad = r.randint(6, 15)
    pts = sum(1 for x in range(-rad, rad + 1) for y in range(-rad, rad + 1) if x * x + y * y <= rad * rad)
    add("How many lattice points $(x,y)$ satisfy $x^2 + y^2 \\le %d$?" % (rad * rad), pts,
        "Count, for each $x$, the integers $y$ with $y^2 \\le %d - x^2$." % (rad * rad))
    n = r.randint(8, 12)
    tot = sum(1 for mask in range(1 << n)
              if sum(i + 1 for i in range(n) if mask >> i & 1) % 5 == 0) % 1000
    add("Let $N$ be the number of subsets of $\\{1,2,\\ldots,%d\\}$ (including the empty set) whose "
        "elements sum to a multiple of $5$. Find the remainder when $N$ is divided by $1000$." % n,
        tot, "Track the subset sums modulo $5$ with a generating function.")
    k = r.randint(3, 6)
    pr = Fraction(math.comb(6, k), 2 ** 6)
    add("A fair coin is flipped $6$ times. The probability of exactly $%d$ heads is $\\frac{m}{n}$, "
        "where $m$ and $n$ are relatively prime positive integers. Find $m+n$." % k,
        pr.numerator + pr.denominator, "The probability is $\\frac{\\binom{6}{%d}}{64} = %s$."
        % (k, tex_frac(pr)))
    lim = r.randint(200, 400)
    sq = sum(d for d in range(1, lim + 1) if round(math.sqrt(d)) ** 2 == d) % 1000
    add("Find the sum of all perfect squares between $1$ and $%d$, inclusive, modulo $1000$." % lim,
        sq, "Add $k^2$ for $k = 1, \\ldots, \\lfloor\\sqrt{%d}\\rfloor$." % lim)
    n = r.randint(20, 40)
    pairs = sum(1 for a in range(1, n) for b in range(1, n) if a + b <= n and math.gcd(a, b) == 1)
    add("Find the number of ordered pairs $(a,b)$ of positive integers with $a + b \\le %d$ and "
        "$\\gcd(a,b) = 1$." % n, pairs, "Sum Euler's totient function over the possible values of $a+b$.")
    n = r.randint(30, 60)
    digits = sum(int(c) for c in str(math.factorial(n)))
    add("Find the sum of the digits of $%d!$." % n, digits, "Compute $%d!$ and add its digits." % n)
    a1, d = r.randint(1, 9), r.randint(2, 7)
    terms = r.randint(12, 20)
    total = terms * (2 * a1 + (terms - 1) * d) // 2 % 1000
    add("An arithmetic sequence has first term $%d$ and common difference $%d$. Find the remainder "
        "when the sum of its first $%d$ terms is divided by $1000$." % (a1, d, terms), total,
        "The sum is $\\frac{n}{2}(2a_1 + (n-1)d)$.")
    return rows


# --- GPQA-layout questions ---

def fmt_num(x, digits=3):
    """x to `digits` significant figures, plainly written."""
    if x == 0:
        return "0"
    mag = int(math.floor(math.log10(abs(x))))
    dec = max(0, digits - 1 - mag)
    return ("%.*f" % (dec, round(x, dec)))


def gpqa_questions(r):
    """(question, correct, [3 wrong], explanation, domain, subdomain)."""
    out = []
    for _ in range(7):
        kind = len(out) % 7
        if kind == 0:
            m, v = r.randint(2, 20), r.randint(3, 30)
            ke = 0.5 * m * v * v
            out.append((
                "An object of mass %d kg moves at %d m/s. What is its kinetic energy?" % (m, v),
                "%s J" % fmt_num(ke), ["%s J" % fmt_num(m * v * v), "%s J" % fmt_num(m * v),
                                        "%s J" % fmt_num(0.5 * m * v)],
                "KE = (1/2) m v^2 = %s J." % fmt_num(ke), "Physics", "Physics (general)"))
        elif kind == 1:
            v, res = r.randint(3, 24), r.choice([2, 4, 5, 8, 10, 20])
            out.append((
                "A %d V battery drives a current through a %d ohm resistor. How much power does "
                "the resistor dissipate?" % (v, res),
                "%s W" % fmt_num(v * v / res), ["%s W" % fmt_num(v / res), "%s W" % fmt_num(v * res),
                                                 "%s W" % fmt_num(v * v / res / 2)],
                "P = V^2 / R = %s W." % fmt_num(v * v / res), "Physics", "Electromagnetism and Photonics"))
        elif kind == 2:
            f = r.choice([100, 200, 250, 400, 500, 680])
            lam = 3e8 / (f * 1e12)
            out.append((
                "Light of frequency %d THz travels in vacuum. What is its wavelength?" % f,
                "%s nm" % fmt_num(lam * 1e9), ["%s nm" % fmt_num(lam * 1e9 * 2),
                                               "%s nm" % fmt_num(lam * 1e9 / 2),
                                               "%s nm" % fmt_num(lam * 1e6)],
                "lambda = c / f = %s nm." % fmt_num(lam * 1e9), "Physics", "Optics and Acoustics"))
        elif kind == 3:
            grams, name, mm = r.choice([(36, "water", 18.02), (88, "carbon dioxide", 44.01),
                                        (117, "sodium chloride", 58.44), (180, "glucose", 180.16)])
            mol = grams / mm
            out.append((
                "How many moles are in %d g of %s?" % (grams, name),
                "%s mol" % fmt_num(mol), ["%s mol" % fmt_num(mol * 2), "%s mol" % fmt_num(grams * mm / 1000),
                                          "%s mol" % fmt_num(mol / 2)],
                "n = m / M = %d g / %.2f g/mol = %s mol." % (grams, mm, fmt_num(mol)),
                "Chemistry", "Chemistry (general)"))
        elif kind == 4:
            e = r.randint(1, 5)
            c = r.choice([1, 2, 5])
            ph = -math.log10(c * 10 ** -e)
            out.append((
                "What is the pH of a %d x 10^-%d M solution of hydrochloric acid at 25 C?" % (c, e),
                fmt_num(ph, 3), [fmt_num(14 - ph, 3), fmt_num(ph + 1, 3), fmt_num(ph * 2, 3)],
                "HCl dissociates fully, so pH = -log10[H+] = %s." % fmt_num(ph, 3),
                "Chemistry", "Physical Chemistry"))
        elif kind == 5:
            q = r.choice([0.1, 0.2, 0.3, 0.4])
            p = 1 - q
            out.append((
                "In a population in Hardy-Weinberg equilibrium, the recessive allele has frequency "
                "%.1f. What fraction of individuals are heterozygous?" % q,
                "%.2f" % (2 * p * q), ["%.2f" % (q * q), "%.2f" % (p * p), "%.2f" % (p * q)],
                "Heterozygotes make up 2pq = 2(%.1f)(%.1f) = %.2f." % (p, q, 2 * p * q),
                "Biology", "Genetics"))
        else:
            aa = r.randint(50, 400)
            out.append((
                "A mature protein has %d amino acids. Ignoring introns and untranslated regions, how "
                "many nucleotides of coding sequence, including the stop codon, encode it?" % aa,
                str(3 * aa + 3), [str(3 * aa), str(aa), str(4 * aa)],
                "Each amino acid takes a codon of 3 nucleotides, plus 3 for the stop codon: %d."
                % (3 * aa + 3), "Biology", "Molecular Biology"))
    return out


def gpqa_sample(r, n=20):
    rows, seen = [], set()
    while len(rows) < n:
        for q in gpqa_questions(r):
            if len(rows) == n:
                break
            question, correct, wrongs, expl, dom, sub = q
            if question in seen or correct in wrongs or len(set(wrongs)) < 3:
                continue
            seen.add(question)
            rid = "recSYN%011d" % r.randint(0, 10 ** 11 - 1)
            rows.append({
                "Question": question,
                "Correct Answer": correct,
                "Incorrect Answer 1": wrongs[0],
                "Incorrect Answer 2": wrongs[1],
                "Incorrect Answer 3": wrongs[2],
                "Explanation": expl,
                "Record ID": rid,
                "High-level domain": dom,
                "Subdomain": sub,
            })
    return rows


def choice_sample(r):
    rows = []
    items = []
    a, b = r.randint(6, 12), r.randint(6, 12)
    items.append(("What is $%d \\times %d$?" % (a, b), a * b, [a * b + a, a * b - b, a + b]))
    primes = [p for p in range(20, 60) if all(p % d for d in range(2, p))]
    pr = r.choice(primes)
    items.append(("Which of these numbers is prime?", pr, [pr + 1, pr + 3 if (pr + 3) % 2 == 0 else pr + 5, 51]))
    items.append(("Which planet is closest to the Sun?", "Mercury", ["Venus", "Earth", "Mars"]))
    items.append(("What is the chemical symbol for sodium?", "Na", ["S", "So", "Sd"]))
    items.append(("How many sides does a hexagon have?", "6", ["5", "7", "8"]))
    items.append(("Which organelle makes most of a cell's ATP?", "the mitochondrion",
                  ["the ribosome", "the Golgi apparatus", "the nucleus"]))
    items.append(("What is the derivative of $x^3$?", "$3x^2$", ["$x^2$", "$3x^3$", "$\\frac{x^4}{4}$"]))
    items.append(("Which gas makes up most of Earth's atmosphere?", "nitrogen", ["oxygen", "argon", "carbon dioxide"]))
    c = r.randint(15, 40)
    items.append(("What is %d%% of 200?" % c, 2 * c, [c, c + 100, 200 - c]))
    items.append(("What is the SI unit of force?", "the newton", ["the joule", "the watt", "the pascal"]))
    for i, (q, right, wrongs) in enumerate(items):
        opts = [str(x) for x in [right] + wrongs]
        assert len(set(opts)) == 4, opts
        r.shuffle(opts)
        k = opts.index(str(right))
        rows.append({
            "id": "choice-%02d" % (i + 1),
            "question": q,
            "choices": opts,
            # Every third row gives the answer as a 0-based index.
            "answer": k if i % 3 == 2 else "ABCD"[k],
        })
    return rows


# --- responses ---

THINK_LEADS = [
    "Let me work through this carefully.",
    "I'll start by restating what is asked.",
    "First, identify the quantities involved.",
    "Okay, let's see.",
]


def math_responses(r, problems, tagged):
    """~80% correct (some in an equivalent form), ~20% wrong."""
    out = []
    wrong = set(r.sample(range(len(problems)), len(problems) // 5))
    for i, p in enumerate(problems):
        if i in wrong:
            ans, expected = p["wrong"], "wrong"
        elif r.random() < 0.5 and p["alt"]:
            ans, expected = p["alt"], "correct"
        else:
            ans, expected = p["answer"], "correct"
        if ans == p["answer"] and expected == "wrong":
            expected = "correct"
        steps = p["steps"]
        if tagged:
            lead = r.choice(THINK_LEADS)
            body = "%s %s So the answer is %s.</think>\n<answer>\\boxed{%s}</answer>" % (
                lead, steps, ans, ans)
            # The prompt usually opens <think>; some models repeat it.
            text = ("<think>" + body) if i % 3 else body
        else:
            text = "%s\n\nTherefore, the final answer is $\\boxed{%s}$." % (steps, ans)
        out.append({"id": p["unique_id"], "response": text, "expected": expected})
    return out


def gpqa_responses(r, rows, seed=0):
    """Letters as a run with `seed` shows the options."""
    out = []
    letters = "ABCD"
    for i, row in enumerate(rows):
        order = choice_order(seed, row["Record ID"], 4)
        # order[pos] = index in [correct, wrong1, wrong2, wrong3] shown at pos
        right = letters[order.index(0)]
        wrong = letters[order.index(1 + r.randint(0, 2))]
        style = i % 5
        expected = "correct"
        letter = right
        if i in (3, 8, 14, 17):
            letter, expected = wrong, "wrong"
        reasoning = "Using the relevant relation: %s" % row["Explanation"]
        if i == 11:
            text = "%s Both look close; I'd go with one of them.\n\nANSWER: %s or %s" % (
                reasoning, right, wrong)
            expected = "unparseable"
        elif style == 0:
            text = "%s\n\nANSWER: %s" % (reasoning, letter)
        elif style == 1:
            text = "%s\n\nThe answer is (%s)." % (reasoning, letter)
        elif style == 2:
            text = "<think>%s</think>\n<answer>%s</answer>" % (reasoning, letter)
        elif style == 3:
            text = "%s\n\nAnswer: %s" % (reasoning, letter)
        else:
            text = "%s That matches option (%s), so the correct answer is %s." % (
                reasoning, letter, letter)
        out.append({"id": row["Record ID"], "response": text, "expected": expected})
    return out


def aime_responses(r, rows, k=4):
    """k sampled responses per problem, each right with probability 0.4."""
    out = []
    for row in rows:
        gold = int(row["answer"])
        for _ in range(k):
            right = r.random() < 0.4
            ans = gold if right else (gold + r.randint(1, 97)) % 1000
            text = ("<think>Working through the cases step by step gives %d.</think>\n"
                    "<answer>\\boxed{%d}</answer>" % (ans, ans))
            out.append({"id": str(row["id"]), "response": text,
                        "expected": "correct" if right else "wrong"})
    return out


def write_jsonl(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="examples/data")
    out = ap.parse_args().out
    r = random.Random(SEED)
    problems = math500_sample(r)
    write_jsonl(os.path.join(out, "math500-sample.jsonl"), [math_row(p) for p in problems])
    write_jsonl(os.path.join(out, "math-train.jsonl"), math_train(r))
    aime = aime_sample(r)
    write_jsonl(os.path.join(out, "aime-sample.jsonl"), aime)
    gpqa = gpqa_sample(r)
    write_jsonl(os.path.join(out, "gpqa-sample.jsonl"), gpqa)
    write_jsonl(os.path.join(out, "choice-sample.jsonl"), choice_sample(r))
    resp = os.path.join(out, "responses")
    write_jsonl(os.path.join(resp, "math500-good.jsonl"), math_responses(r, problems, True))
    write_jsonl(os.path.join(resp, "math500-plain.jsonl"), math_responses(r, problems, False))
    write_jsonl(os.path.join(resp, "gpqa-sample.jsonl"), gpqa_responses(r, gpqa))
    # An offline model for examples/pipelines/math-domain.toml (run seed 7):
    # one folder, one <task source>.jsonl per benchmark; AIME with k = 4
    # samples per problem, as avg@k is reported.
    ref = os.path.join(resp, "reference")
    write_jsonl(os.path.join(ref, "math500.jsonl"), math_responses(r, problems, True))
    write_jsonl(os.path.join(ref, "aime.jsonl"), aime_responses(r, aime))
    write_jsonl(os.path.join(ref, "gpqa.jsonl"), gpqa_responses(r, gpqa, seed=7))


if __name__ == "__main__":
    main()
