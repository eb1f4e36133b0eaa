//! Clean-up of an extracted LaTeX answer before it is parsed, with the
//! steps (and the order) of Math-Verify's default normalisation:
//!
//! 1. boxes: the content of the last `\boxed{}`/`\fbox{}` (or of all of
//!    them, joined by commas);
//! 2. basic LaTeX: `\left`/`\right`, `\dfrac`/`\tfrac`/`\cfrac`,
//!    `\mathrm`/`\textbf`/... to `\text`, `\displaystyle`, `\!`, `$`,
//!    quotes, `{,}` thousands separators, "and"/"or" to commas, `\ldots`,
//!    "percent"/"pct" to `\%`, "infinity"/"inf" to `\infty`, `(n)_{k}`;
//! 3. units: a trailing `\text{...}`/`\mbox{...}` and trailing unit words
//!    ("cm", "dollars" is not one, "degrees", "m", "s", ...);
//! 4. nits: a leading `.` becomes `0.`, `0.5` becomes `\frac{1}{2}`;
//! 5. malformed operators: `\sqrt2`, `\frac12`, `\frac{1}2`, `sqrt(2)`,
//!    `^(2)`, `\log_28`, and `a/b` of two integers to `\frac{a}{b}`.
//!
//! Every step is total; the pattern steps draw on the caller's budget.

use std::sync::OnceLock;

use super::pattern::{
    alt, ch, cls, group_str, lit, look, opt, plus, plus_lazy, replace_all, seq, star, star_lazy,
    Budget, Class, Look, Node, Prog,
};

/// Which boxes to keep when a text holds several.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Boxes {
    /// Every box, joined by commas (`\boxed{1}, \boxed{2}` -> `1,2`).
    All,
    /// The last box, and the ones just before it that are separated from
    /// it by a comma, "and" or "or" (or by less than 10 characters).
    Last,
}

/// Too much work: the budget ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TooComplex;

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

fn string(c: &[char]) -> String {
    c.iter().collect()
}

fn find(hay: &[char], needle: &[char], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| starts_at(hay, i, needle))
}

/// `needle` occurs at `i` (the first character is compared alone first:
/// a slice comparison per position would cost a `memcmp` call each).
fn starts_at(hay: &[char], i: usize, needle: &[char]) -> bool {
    match needle.first() {
        Some(c) => hay.get(i) == Some(c) && hay[i..].starts_with(needle),
        None => true,
    }
}

/// Last start of `needle` with the whole of it inside `hay[..end]`.
fn rfind(hay: &[char], needle: &[char], end: usize) -> Option<usize> {
    let end = end.min(hay.len());
    if needle.len() > end {
        return None;
    }
    (0..=end - needle.len())
        .rev()
        .find(|&i| starts_at(hay, i, needle))
}

/// Python's `str.replace`.
fn replace(text: &[char], from: &str, to: &str) -> Vec<char> {
    let from: Vec<char> = chars(from);
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if !from.is_empty() && starts_at(text, i, &from) {
            out.extend(to.chars());
            i += from.len();
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

fn contains(text: &[char], needle: &str) -> bool {
    find(text, &chars(needle), 0).is_some()
}

fn strip(text: &[char]) -> &[char] {
    let is = super::pattern::is_space;
    let a = text.iter().position(|c| !is(*c)).unwrap_or(text.len());
    let b = text.iter().rposition(|c| !is(*c)).map_or(a, |i| i + 1);
    &text[a..b.max(a)]
}

fn lstrip(text: &[char]) -> &[char] {
    let a = text
        .iter()
        .position(|c| !super::pattern::is_space(*c))
        .unwrap_or(text.len());
    &text[a..]
}

/// The content of the boxes in `text` (the text itself when it has none).
/// A box without a closing brace gives the rest of the text from its brace.
pub(crate) fn boxed_content(text: &[char], mode: Boxes) -> Vec<char> {
    let boxed = chars("\\boxed");
    let fbox = chars("\\fbox");
    let mut results: Vec<Vec<char>> = Vec::new();
    let mut current = text.len();
    let mut max_pos = text.len();
    let mut last_start: Option<usize> = None;
    // Cached searches: an occurrence found before stays the last one
    // while it still ends before `current`.
    let mut b_cache: Option<Option<usize>> = None;
    let mut f_cache: Option<Option<usize>> = None;
    let last_of = |cache: &mut Option<Option<usize>>, needle: &[char], current: usize| {
        let fresh = match *cache {
            Some(None) => None,
            Some(Some(i)) if i + needle.len() <= current => Some(i),
            _ => rfind(text, needle, current),
        };
        *cache = Some(fresh);
        fresh
    };
    loop {
        let b = last_of(&mut b_cache, &boxed, current);
        let f = last_of(&mut f_cache, &fbox, current);
        let (start, command_end) = match (b, f) {
            (None, None) => break,
            (Some(b), Some(f)) if f > b => (f, f + 5),
            (Some(b), _) => (b, b + 6),
            (None, Some(f)) => (f, f + 5),
        };
        let mut brace = command_end;
        while brace < max_pos && super::pattern::is_space(text[brace]) {
            brace += 1;
        }
        if brace >= max_pos {
            break;
        }
        if text[brace] != '{' {
            if results.is_empty() {
                results.push(text[brace..].to_vec());
            }
            break;
        }
        let Some(close) = closing_brace(text, brace, max_pos) else {
            if results.is_empty() {
                results.push(text[brace..].to_vec());
            }
            break;
        };
        let content = strip(&text[brace + 1..close]).to_vec();
        if mode == Boxes::Last {
            if let Some(next_start) = last_start {
                let next = results.last().map(|r| r.as_slice()).unwrap_or(&[]);
                if !keep_with_next(text, &content, next, close, next_start) {
                    break;
                }
            }
        }
        if results.last() != Some(&content) {
            results.push(content);
        }
        last_start = Some(start);
        max_pos = start;
        current = start;
    }
    if results.is_empty() {
        return text.to_vec();
    }
    let mut out = Vec::new();
    for (i, r) in results.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.extend_from_slice(r);
    }
    out
}

/// The brace closing the one at `open`, looking before `max_pos` only.
fn closing_brace(text: &[char], open: usize, max_pos: usize) -> Option<usize> {
    let mut depth = 1usize;
    let mut i = open;
    while i + 1 < max_pos {
        i += 1;
        match text[i] {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether a box ending at `end` belongs with the box that starts at
/// `next_start` (close to it, or a different answer after a separator).
fn keep_with_next(
    text: &[char],
    content: &[char],
    next: &[char],
    end: usize,
    next_start: usize,
) -> bool {
    let between = text.get(end + 1..next_start).unwrap_or(&[]);
    if between.len() < 10 {
        return true;
    }
    next != content && between.len() < 70 && has_separator(between)
}

/// `\b(and|or)\b`, a comma or a semicolon.
fn has_separator(text: &[char]) -> bool {
    if text.iter().any(|c| *c == ',' || *c == ';') {
        return true;
    }
    let word = super::pattern::is_word;
    for w in [&['a', 'n', 'd'][..], &['o', 'r'][..]] {
        let mut from = 0;
        while let Some(i) = find(text, w, from) {
            let before = i > 0 && word(text[i - 1]);
            let after = text.get(i + w.len()).is_some_and(|c| word(*c));
            if !before && !after {
                return true;
            }
            from = i + 1;
        }
    }
    false
}

struct Progs {
    left: Prog,
    right: Prog,
    permutation: Prog,
    remove: Prog,
    replace: Prog,
    slash_fix: Prog,
    unit_superscript: Prog,
    units: Prog,
    units_max_len: usize,
    malformed: Vec<(Prog, Template)>,
}

/// A replacement: literal pieces and group numbers.
type Template = &'static [Piece];

enum Piece {
    Text(&'static str),
    Group(usize),
}

/// `(?:text|mbox)`-style alternation of literals.
fn lits(words: &[&'static str]) -> Node {
    alt(words.iter().map(|w| lit(w)).collect())
}

/// The replacements of the basic clean-up, tried in this order at each
/// position: (pattern, replacement).
fn replacements() -> Vec<(Node, &'static str)> {
    let sp = || cls(Class::Space);
    let alpha = Class::Pred(|c| c.is_ascii_alphabetic());
    let wb = || look(Look::WordBoundary);
    vec![
        (
            seq(vec![lit("\\math"), lits(&["rm", "it", "bf"])]),
            "\\text",
        ),
        (
            seq(vec![lit("\\text"), lits(&["normal", "bf", "it", "rm"])]),
            "\\text",
        ),
        (
            seq(vec![ch('\\'), cls(Class::OneOf("dtc")), lit("frac")]),
            "\\frac",
        ),
        (seq(vec![sp(), ch('.')]), " 0."),
        (lit("{."), "{0."),
        (lit("~="), "\\approx"),
        (
            seq(vec![
                star(sp()),
                ch('{'),
                star(sp()),
                ch(','),
                star(sp()),
                ch('}'),
            ]),
            ",",
        ),
        (
            seq(vec![
                look(Look::NotAfter(alpha)),
                opt(ch(',')),
                star(sp()),
                lits(&["and", "or"]),
                look(Look::NotBefore(alpha)),
            ]),
            ",",
        ),
        (
            seq(vec![
                opt(ch(',')),
                star(sp()),
                lit("\\text{"),
                star(sp()),
                lits(&["and", "or"]),
                star(sp()),
                ch('}'),
            ]),
            ",",
        ),
        (
            seq(vec![
                look(Look::NotAfter(Class::Char('\\'))),
                ch('\\'),
                sp(),
            ]),
            " ",
        ),
        (lit("infinity"), "\\infty"),
        (seq(vec![opt(ch(',')), lit("\\ldots")]), " "),
        (seq(vec![star(sp()), wb(), lit("percentage"), wb()]), "\\%"),
        (lit("\\text{percentage}"), "%"),
        (seq(vec![star(sp()), wb(), lit("percent"), wb()]), "\\%"),
        (lit("\\text{percent}"), "%"),
        (seq(vec![star(sp()), wb(), lit("pct"), wb()]), "\\%"),
        (lit("\\text{pct}"), "%"),
        (
            seq(vec![
                look(Look::NotAfter(Class::Char('\\'))),
                lit("inf"),
                look(Look::NotBeforeStr("inity")),
            ]),
            "\\infty",
        ),
        (lit(" sqrt"), "\\sqrt"),
    ]
}

/// Words dropped at the end of an answer after a digit, `}` or space
/// (with an optional plural `s`/`es`); `.` stands for any character.
const UNITS: &[&str] = &[
    "integerpoint",
    "feet",
    "sue",
    "digit",
    "pound",
    "meal",
    "edge",
    "student",
    "children ticket",
    "multiple",
    "east",
    "degree",
    "mph",
    "kmph",
    "ft",
    "m square",
    " m east",
    "sq m",
    "deg",
    "mile",
    "q .",
    "monkey",
    "prime",
    "ratio",
    "profit of rs",
    "rd",
    "o",
    "gm",
    "p . m",
    "lb",
    "tile",
    "per",
    "dm",
    "lt",
    "gain",
    "ab",
    "way",
    "west",
    "a .",
    "b .",
    "c .",
    "d .",
    "e .",
    "f .",
    "g .",
    "h .",
    "t",
    "h",
    "no change",
    "men",
    "soldier",
    "pie",
    "bc",
    "excess",
    "st",
    "inches",
    "noon",
    "cent",
    "by",
    "gal",
    "kmh",
    "c",
    "acre",
    "rise",
    "a . m",
    "th",
    "π r 2",
    "sq",
    "mark",
    "l",
    "toy",
    "coin",
    "sq . m",
    "gallon",
    "° f",
    "profit",
    "minw",
    "yr",
    "women",
    "am",
    "pm",
    "hr",
    "cu cm",
    "square",
    "v â € ™",
    "are",
    "rupee",
    "rounds",
    "cubic",
    "cc",
    "mtr",
    "s",
    "ohm",
    "number",
    "kmph",
    "day",
    "hour",
    "minute",
    "min",
    "second",
    "man",
    "woman",
    "sec",
    "cube",
    "mt",
    "sq inch",
    "mp",
    "∏ cm ³",
    "hectare",
    "more",
    "sec",
    "unit",
    "cu . m",
    "cm 2",
    "rs .",
    "rs",
    "kg",
    "g",
    "month",
    "km",
    "m",
    "cm",
    "mm",
    "apple",
    "liter",
    "loss",
    "yard",
    "pure",
    "year",
    "increase",
    "decrease",
    "d",
    "less",
    "Surface",
    "litre",
    "pi sq m",
    "s .",
    "metre",
    "meter",
    "inch",
];

fn unit_node(word: &'static str) -> Node {
    seq(word
        .chars()
        .map(|c| {
            if c == '.' {
                cls(Class::NotNewline)
            } else {
                ch(c)
            }
        })
        .collect())
}

fn progs() -> &'static Progs {
    static PROGS: OnceLock<Progs> = OnceLock::new();
    PROGS.get_or_init(build)
}

fn build() -> Progs {
    let sp = || cls(Class::Space);
    let d = || cls(Class::Digit);
    let any_lazy = || star_lazy(cls(Class::NotNewline));
    let left = seq(vec![
        ch('\\'),
        opt(ch('m')),
        lit("left"),
        cap0(lits(&[
            "\\{",
            "{",
            "\\|",
            "|",
            "[",
            "(",
            "\\rbracl",
            "\\lgroup",
            "\\lbrace",
            "\\lbrack",
            "\\vert",
            "\\lvert",
            "\\lceil",
            "\\lfloor",
            "\\vert",
            "\\lvert",
            "\\langle",
            "\\llcorner",
            "\\ulcorner",
        ])),
    ]);
    let right = seq(vec![
        ch('\\'),
        opt(ch('m')),
        lit("right"),
        cap0(lits(&[
            "\\}",
            "}",
            "\\|",
            "|",
            "]",
            ")",
            "\\rbrack",
            "\\rgroup",
            "\\rbrace",
            "\\rbrack",
            "\\vert",
            "\\rvert",
            "\\rceil",
            "\\rfloor",
            "\\vert",
            "\\rvert",
            "\\rangle",
            "\\lrcorner",
            "\\urcorner",
        ])),
    ]);
    let perm_class = || {
        cls(Class::Pred(|c| {
            c.is_ascii_alphanumeric() || "+-*/\\ ".contains(c)
        }))
    };
    let permutation = seq(vec![
        ch('('),
        cap0(plus_lazy(perm_class())),
        ch(')'),
        lit("_{"),
        super::pattern::cap(1, plus_lazy(perm_class())),
        ch('}'),
    ]);
    let remove = alt(vec![
        lit("\\mathrm{th}"),
        seq(vec![lit("\\!"), star(sp())]),
        seq(vec![
            lit("\\text"),
            star(sp()),
            ch('{'),
            star(sp()),
            ch('}'),
        ]),
        lit("\\$"),
        ch('$'),
        seq(vec![
            look(Look::NotAfter(Class::Char('\\'))),
            cls(Class::OneOf("\"'")),
        ]),
        lit("\\displaystyle"),
    ]);
    let reps = replacements();
    let n_reps = reps.len();
    let replace = alt(reps
        .into_iter()
        .enumerate()
        .map(|(i, (node, _))| super::pattern::cap(i, node))
        .collect());
    let slash_fix = seq(vec![
        lit("\\\\"),
        look(Look::Before(Class::Pred(|c| c.is_ascii_alphabetic()))),
    ]);
    let unit_superscript = seq(vec![
        ch('\\'),
        lits(&["text", "mbox"]),
        ch('{'),
        any_lazy(),
        ch('}'),
        opt(alt(vec![
            seq(vec![ch('^'), d()]),
            seq(vec![lit("{^"), d(), ch('}')]),
        ])),
        look(Look::End),
    ]);
    let units = seq(vec![
        cap0(alt(vec![d(), ch('}'), sp()])),
        star(sp()),
        alt(UNITS.iter().map(|u| unit_node(u)).collect()),
        opt(lits(&["s", "es"])),
        star(sp()),
        look(Look::End),
    ]);
    let units_max_len = UNITS.iter().map(|u| u.chars().count()).max().unwrap_or(0);
    let c = super::pattern::cap;
    let malformed: Vec<(Node, Template)> = vec![
        (
            seq(vec![ch('^'), opt(sp()), ch('('), c(0, any_lazy()), ch(')')]),
            &[Piece::Text("^{"), Piece::Group(0), Piece::Text("}")],
        ),
        (
            seq(vec![
                lit("sqrt"),
                opt(sp()),
                ch('('),
                c(0, any_lazy()),
                ch(')'),
            ]),
            &[Piece::Text("\\sqrt{"), Piece::Group(0), Piece::Text("}")],
        ),
        (
            seq(vec![
                lit("\\frac"),
                opt(sp()),
                c(0, d()),
                opt(sp()),
                c(1, plus(d())),
            ]),
            FRAC,
        ),
        (
            seq(vec![
                lit("\\log_"),
                opt(sp()),
                c(0, d()),
                opt(sp()),
                c(1, plus(d())),
            ]),
            &[
                Piece::Text("\\log_{"),
                Piece::Group(0),
                Piece::Text("}{"),
                Piece::Group(1),
                Piece::Text("}"),
            ],
        ),
        (
            seq(vec![
                lit("\\frac"),
                opt(sp()),
                ch('{'),
                c(0, any_lazy()),
                ch('}'),
                opt(sp()),
                c(1, d()),
            ]),
            FRAC,
        ),
        (
            seq(vec![
                lit("\\frac"),
                opt(sp()),
                c(0, d()),
                opt(sp()),
                ch('{'),
                c(1, any_lazy()),
                ch('}'),
            ]),
            FRAC,
        ),
        (
            seq(vec![lit("\\sqrt"), opt(sp()), c(0, d())]),
            &[Piece::Text("\\sqrt{"), Piece::Group(0), Piece::Text("}")],
        ),
    ];
    Progs {
        left: Prog::new(&left, 1),
        right: Prog::new(&right, 1),
        permutation: Prog::new(&permutation, 2),
        remove: Prog::new(&remove, 0),
        replace: Prog::new(&replace, n_reps),
        slash_fix: Prog::new(&slash_fix, 0),
        unit_superscript: Prog::new(&unit_superscript, 0),
        units: Prog::new(&units, 1),
        units_max_len,
        malformed: malformed
            .into_iter()
            .map(|(n, t)| (Prog::new(&n, 2), t))
            .collect(),
    }
}

const FRAC: Template = &[
    Piece::Text("\\frac{"),
    Piece::Group(0),
    Piece::Text("}{"),
    Piece::Group(1),
    Piece::Text("}"),
];

fn cap0(n: Node) -> Node {
    super::pattern::cap(0, n)
}

/// Replaces each match of `prog` with the text of `template`.
fn sub(
    prog: &Prog,
    text: &[char],
    template: Template,
    budget: &mut Budget,
) -> Result<Vec<char>, TooComplex> {
    replace_all(prog, text, budget, |m, t| {
        let mut s = String::new();
        for p in template {
            match p {
                Piece::Text(x) => s.push_str(x),
                Piece::Group(i) => s.push_str(&group_str(m, t, *i)),
            }
        }
        s
    })
    .map_err(|()| TooComplex)
}

/// Normalises an extracted answer (see the module docs), `boxes` telling
/// which boxes to keep.
pub(crate) fn normalize(
    text: &str,
    boxes: Boxes,
    budget: &mut Budget,
) -> Result<String, TooComplex> {
    let p = progs();
    let mut t = boxed_content(&chars(text), boxes);

    // Basic LaTeX.
    t = replace(&t, "\\mathrm{T}", "T");
    t = replace(&t, "\\mathrm{d}", "d");
    t = replace(&t, "{\\rm d}", "d");
    t = replace(&t, "\\left[\\begin{matrix}", "\\begin{bmatrix}");
    t = replace(&t, "\\end{matrix}\\right]", "\\end{bmatrix}");
    t = sub(&p.left, &t, &[Piece::Group(0)], budget)?;
    t = sub(&p.right, &t, &[Piece::Group(0)], budget)?;
    t = sub(
        &p.permutation,
        &t,
        &[
            Piece::Text("\\frac{("),
            Piece::Group(0),
            Piece::Text(")!}{(("),
            Piece::Group(0),
            Piece::Text(")-("),
            Piece::Group(1),
            Piece::Text("))!}"),
        ],
        budget,
    )?;
    t = sub(&p.remove, &t, &[], budget)?;
    let reps = replacements();
    t = replace_all(&p.replace, &t, budget, |m, _| {
        (0..reps.len())
            .find(|i| m.group(*i).is_some())
            .map(|i| reps[i].1.to_string())
            .unwrap_or_default()
    })
    .map_err(|()| TooComplex)?;
    t = t
        .into_iter()
        .map(|c| if c == '\n' || c == '\t' { ' ' } else { c })
        .collect();
    if !contains(&t, "matrix") {
        t = sub(&p.slash_fix, &t, &[Piece::Text("\\")], budget)?;
    }

    // Units.
    let without = sub(&p.unit_superscript, &t, &[], budget)?;
    let without = strip(&without).to_vec();
    if !without.is_empty() && without != t {
        t = without;
    }
    for _ in 0..2 {
        let without = strip_units(p, &t, budget)?;
        if !without.is_empty() && without != t {
            t = without;
        }
    }

    // Nits.
    if t.first() == Some(&'.') {
        t.insert(0, '0');
    }
    if t == chars("0.5") {
        t = chars("\\frac{1}{2}");
    }

    // Malformed operators.
    for (prog, template) in &p.malformed {
        t = sub(prog, &t, template, budget)?;
    }
    t = replace(&t, " sqrt", "\\sqrt");
    t = fix_sqrt(&t);
    t = fix_fracs(&t);
    t = fix_a_slash_b(&t);

    Ok(string(strip(&t)))
}

/// Drops a trailing unit word. Only the tail can match (the pattern is
/// anchored at the end), so the search starts near it.
fn strip_units(p: &Progs, t: &[char], budget: &mut Budget) -> Result<Vec<char>, TooComplex> {
    let is = super::pattern::is_space;
    let mut end = t.len();
    while end > 0 && is(t[end - 1]) {
        end -= 1;
    }
    let mut from = end.saturating_sub(p.units_max_len + 2);
    while from > 0 && is(t[from - 1]) {
        from -= 1;
    }
    from = from.saturating_sub(1);
    let matches =
        super::pattern::find_iter_from(&p.units, t, from, budget).map_err(|()| TooComplex)?;
    let mut out = Vec::with_capacity(t.len());
    let mut last = 0;
    for m in &matches {
        out.extend_from_slice(&t[last..m.start]);
        out.extend(group_str(m, t, 0).chars());
        last = m.end;
    }
    out.extend_from_slice(&t[last..]);
    Ok(out)
}

/// `\sqrt2` -> `\sqrt{2}` (the first character after `\sqrt` becomes the
/// argument unless it is `{` or `[`).
fn fix_sqrt(t: &[char]) -> Vec<char> {
    let key = chars("\\sqrt");
    if find(t, &key, 0).is_none() {
        return t.to_vec();
    }
    let parts = split(t, &key);
    let mut out = parts[0].to_vec();
    for part in &parts[1..] {
        let part = lstrip(part);
        match part.first() {
            Some(c) if *c != '{' && *c != '[' => {
                out.extend(key.iter());
                out.push('{');
                out.push(*c);
                out.push('}');
                out.extend_from_slice(&part[1..]);
            }
            _ => {
                out.extend(key.iter());
                out.extend_from_slice(part);
            }
        }
    }
    out
}

/// `\frac12` -> `\frac{1}{2}`, `\frac1{2}` -> `\frac{1}{2}`; a `\frac`
/// with less than two characters after it leaves the text unchanged.
fn fix_fracs(t: &[char]) -> Vec<char> {
    let key = chars("\\frac");
    let parts = split(t, &key);
    let mut out = parts[0].to_vec();
    for part in &parts[1..] {
        let part = lstrip(part);
        out.extend(key.iter());
        if part.first() == Some(&'{') {
            out.extend_from_slice(part);
        } else if part.len() < 2 {
            return t.to_vec();
        } else {
            let (a, b) = (part[0], part[1]);
            out.push('{');
            out.push(a);
            out.push('}');
            if b != '{' {
                out.push('{');
                out.push(b);
                out.push('}');
            } else {
                out.push(b);
            }
            out.extend_from_slice(&part[2..]);
        }
    }
    out
}

/// `3/4` (two plain integers) -> `\frac{3}{4}`.
fn fix_a_slash_b(t: &[char]) -> Vec<char> {
    let parts = split(t, &['/']);
    if parts.len() != 2 {
        return t.to_vec();
    }
    let canonical = |s: &[char]| {
        let digits = s.strip_prefix(&['-']).unwrap_or(s);
        !digits.is_empty()
            && digits.iter().all(|c| c.is_ascii_digit())
            && (digits == ['0'] || digits[0] != '0')
            && s != ['-', '0']
    };
    if canonical(parts[0]) && canonical(parts[1]) {
        let mut out = chars("\\frac{");
        out.extend_from_slice(parts[0]);
        out.extend(['}', '{']);
        out.extend_from_slice(parts[1]);
        out.push('}');
        out
    } else {
        t.to_vec()
    }
}

/// Python's `str.split(sep)`.
fn split<'a>(t: &'a [char], sep: &[char]) -> Vec<&'a [char]> {
    let mut out = Vec::new();
    let mut last = 0;
    let mut i = 0;
    while i + sep.len() <= t.len() {
        if !sep.is_empty() && starts_at(t, i, sep) {
            out.push(&t[last..i]);
            i += sep.len();
            last = i;
        } else {
            i += 1;
        }
    }
    out.push(&t[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize(s, Boxes::All, &mut Budget::new(10_000_000)).unwrap()
    }

    fn boxed(s: &str, mode: Boxes) -> String {
        string(&boxed_content(&chars(s), mode))
    }

    #[test]
    fn boxes() {
        assert_eq!(
            boxed("so \\boxed{\\frac{1}{2}}.", Boxes::Last),
            "\\frac{1}{2}"
        );
        assert_eq!(boxed("\\boxed{1} and \\boxed{2}", Boxes::Last), "1,2");
        assert_eq!(
            boxed(
                "\\boxed{1} then much later text here \\boxed{2}",
                Boxes::Last
            ),
            "2"
        );
        assert_eq!(
            boxed(
                "\\boxed{1} then much later text here \\boxed{2}",
                Boxes::All
            ),
            "1,2"
        );
        assert_eq!(boxed("\\fbox{3}", Boxes::Last), "3");
        assert_eq!(boxed("\\boxed{5", Boxes::Last), "{5");
        assert_eq!(boxed("\\boxed 5", Boxes::Last), "5");
        assert_eq!(boxed("no box", Boxes::Last), "no box");
        assert_eq!(boxed("\\boxed{2}\\boxed{2}", Boxes::All), "2");
    }

    #[test]
    fn basic_latex() {
        assert_eq!(norm("\\left( 1, 2 \\right)"), "( 1, 2 )");
        assert_eq!(norm("\\dfrac{3}{4}"), "\\frac{3}{4}");
        assert_eq!(norm("\\displaystyle 5"), "5");
        assert_eq!(norm("1{,}000"), "1,000");
        assert_eq!(norm("x=1 \\text{ or } x=2"), "x=1, x=2");
        assert_eq!(norm("1 and 2"), "1, 2");
        assert_eq!(norm("\\$18.90"), "18.90");
        assert_eq!(norm("10 percent"), "10\\%");
        assert_eq!(norm("(-infinity, 2)"), "(-\\infty, 2)");
        assert_eq!(norm("(5)_{2}"), "\\frac{(5)!}{((5)-(2))!}");
        assert_eq!(norm("\\mathrm{cm}"), "\\text{cm}");
    }

    #[test]
    fn units() {
        assert_eq!(norm("12 \\text{ cm}"), "12");
        assert_eq!(norm("5 \\mbox{ inches}^2"), "5");
        assert_eq!(norm("\\text{(C)}"), "\\text{(C)}");
        assert_eq!(norm("5t"), "5");
        assert_eq!(norm("90 degrees"), "90");
        assert_eq!(norm("3 cm"), "3");
    }

    #[test]
    fn nits_and_malformed() {
        assert_eq!(norm(".5"), "\\frac{1}{2}");
        assert_eq!(norm(".25"), "0.25");
        assert_eq!(norm("0.5"), "\\frac{1}{2}");
        assert_eq!(norm("\\sqrt2"), "\\sqrt{2}");
        assert_eq!(norm("\\frac12"), "\\frac{1}{2}");
        assert_eq!(norm("\\frac1{2}"), "\\frac{1}{2}");
        assert_eq!(norm("\\frac{\\sqrt3}{2}"), "\\frac{\\sqrt{3}}{2}");
        assert_eq!(norm("3/4"), "\\frac{3}{4}");
        assert_eq!(norm("03/4"), "03/4");
        assert_eq!(norm("2^(3)"), "2^{3}");
        assert_eq!(norm("\\frac1"), "\\frac1");
    }

    #[test]
    fn hostile_text_is_bounded() {
        let deep = "{".repeat(10_000) + "\\boxed{" + &"{".repeat(10_000);
        let mut b = Budget::new(5_000_000);
        let _ = normalize(&deep, Boxes::Last, &mut b);
        let long = "1 and ".repeat(20_000);
        let mut b = Budget::new(5_000_000);
        let _ = normalize(&long, Boxes::All, &mut b);
    }
}
