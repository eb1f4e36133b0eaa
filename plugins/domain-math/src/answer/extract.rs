//! Where an answer is looked for in a text, and in which order: the
//! extraction patterns of Math-Verify 0.9.0 with their priorities.
//!
//! Three families, each a list of (pattern, priority); a lower priority is
//! tried first, and within one priority the match that ends last (then the
//! longest) is tried first:
//!
//! | priority | LaTeX (`$..$`, `$$..$$`, `\(..\)`, `\[..\]`, ` [..] `, `\frac{a}{b}`) | plain numbers / expressions | letters A-D |
//! |---|---|---|---|
//! | 0   | `final answer is <math>. I hope` | `final answer is <expr>. I hope` | same with a letter |
//! | 50  | `final answer ... is <math>` | `final answer ... is <expr>` | same |
//! | 100 | `answer: ... <math>` | `answer: ... = <expr>` | `answer: ... <letter>` |
//! | 200 | `answer ... <math>` | `answer ... = <expr>` | `answer ... <letter>` |
//! | 250 | | | a letter at the very start |
//! | 300 | any math span | any expression, any number | any letter standing alone |
//! | 50 (0 in Math-Verify's tests) | a math span holding `\boxed{}`, and `\boxed{...}` itself | | |
//!
//! "`<math>`" may be up to six spans joined by `,`, "and" or "or" (then
//! the answer is the set of all of them). A number may carry thousands
//! separators, a currency sign before it and a percent sign after it.

use std::sync::OnceLock;

use super::boxed_start;
use super::normalize::{Boxes, TooComplex};
use super::pattern::{
    alt, cap, ch, ci, cls, find_iter_from, group_str, lit, look, opt, plus, plus_lazy, reaches,
    rep, seq, star, star_lazy, Budget, Class, Look, Match, Node, Prog, StopFn,
};

/// Which families to look for, and the priority of boxes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Targets {
    pub latex: bool,
    pub expr: bool,
    pub letters: bool,
    /// Priority of the boxed patterns; negative turns them off.
    pub boxed_priority: i32,
}

/// One math span of a LaTeX match.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Span {
    /// The text between the delimiters (or the `\boxed{...}` itself).
    pub text: String,
    /// Which boxes normalisation keeps.
    pub boxes: Boxes,
    /// A percent sign followed the span.
    pub percent: bool,
}

/// What a match found, before normalisation and parsing.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Found {
    /// One to six math spans.
    Latex(Vec<Span>),
    /// A plain number: digits without separators and leading zeros
    /// (`1,234.50` -> `1234.50`), and whether a percent sign followed.
    Number { text: String, percent: bool },
    /// A plain arithmetic expression such as `3/4` or `2^10 - 1`.
    Expr(String),
    /// A letter A-D.
    Letter(char),
}

/// A match, with what decides the order in which matches are tried.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub start: usize,
    pub end: usize,
    pub found: Found,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Latex,
    Expr,
    Letters,
}

#[derive(Clone, Copy, Debug)]
enum Priority {
    Fixed(i32),
    Boxed,
    /// [`Priority::Boxed`], for the math spans holding a box (whose first
    /// possible start [`boxed_start`] finds).
    BoxedSpans,
}

struct Pattern {
    family: Family,
    priority: Priority,
    prog: Prog,
    /// A byte offset of the text before which no match starts.
    start_bound: Option<fn(&str) -> usize>,
}

/// The priorities at which `targets` has patterns, in the order tried.
pub(crate) fn priorities(targets: &Targets) -> Vec<i32> {
    let mut out: Vec<i32> = patterns()
        .iter()
        .filter(|p| enabled(p, targets))
        .filter_map(|p| priority_of(p, targets))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn enabled(p: &Pattern, t: &Targets) -> bool {
    match p.family {
        Family::Latex => t.latex,
        Family::Expr => t.expr,
        Family::Letters => t.letters,
    }
}

fn priority_of(p: &Pattern, t: &Targets) -> Option<i32> {
    match p.priority {
        Priority::Fixed(x) => Some(x),
        Priority::Boxed | Priority::BoxedSpans if t.boxed_priority >= 0 => Some(t.boxed_priority),
        Priority::Boxed | Priority::BoxedSpans => None,
    }
}

/// The matches of priority `priority`, in the order they are tried: the
/// one ending last first, then the longest; ties keep the pattern order
/// (LaTeX, then expressions, then letters).
pub(crate) fn candidates(
    raw: &str,
    text: &[char],
    targets: &Targets,
    priority: i32,
    budget: &mut Budget,
) -> Result<Vec<Candidate>, TooComplex> {
    let mut out = Vec::new();
    for family in [Family::Latex, Family::Expr, Family::Letters] {
        for p in patterns().iter().filter(|p| p.family == family) {
            if !enabled(p, targets) || priority_of(p, targets) != Some(priority) {
                continue;
            }
            let from = p.start_bound.map_or(0, |bound| char_index(raw, bound(raw)));
            let matches = find_iter_from(&p.prog, text, from, budget).map_err(|()| TooComplex)?;
            for m in matches {
                if let Some(found) = found(p.family, &m, text) {
                    out.push(Candidate {
                        start: m.start,
                        end: m.end,
                        found,
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| b.end.cmp(&a.end).then(a.start.cmp(&b.start)));
    Ok(out)
}

/// The index of the character holding byte `byte` of `raw`.
fn char_index(raw: &str, byte: usize) -> usize {
    let mut b = byte.min(raw.len());
    while !raw.is_char_boundary(b) {
        b -= 1;
    }
    raw[..b].chars().count()
}

// ---------------------------------------------------------------------
// Capture groups
// ---------------------------------------------------------------------

/// The kinds of math span, in the order they are tried at one position.
const SPAN_KINDS: usize = 6;
const PERCENT: usize = SPAN_KINDS;
/// Groups per span slot: one per kind, and the percent sign.
const PER_SLOT: usize = SPAN_KINDS + 1;
/// The first span and up to five more joined to it.
const SLOTS: usize = 6;
const BOXED_GROUP: usize = SLOTS * PER_SLOT;
const LATEX_GROUPS: usize = BOXED_GROUP + 1;

const G_EXPR: usize = 0;
const G_INT: [usize; 3] = [1, 3, 6];
const G_DEC: [usize; 3] = [2, 4, 5];
const G_PCT: usize = 7;
const EXPR_GROUPS: usize = 8;

const G_LETTER: usize = 0;

fn found(family: Family, m: &Match, text: &[char]) -> Option<Found> {
    match family {
        Family::Latex => {
            let mut spans = Vec::new();
            for slot in 0..SLOTS {
                let base = slot * PER_SLOT;
                let kind = (0..SPAN_KINDS).find(|k| m.group(base + k).is_some_and(|(a, b)| b > a));
                let (g, boxes) = match kind {
                    Some(k) => (base + k, Boxes::All),
                    None if slot == 0 && m.group(BOXED_GROUP).is_some() => {
                        (BOXED_GROUP, Boxes::Last)
                    }
                    None => continue,
                };
                spans.push(Span {
                    text: group_str(m, text, g),
                    boxes,
                    percent: slot_percent(m, base),
                });
            }
            (!spans.is_empty()).then_some(Found::Latex(spans))
        }
        Family::Expr => {
            let first = |gs: &[usize]| {
                gs.iter()
                    .map(|g| group_str(m, text, *g))
                    .find(|s| !s.is_empty())
                    .unwrap_or_default()
            };
            let integer = first(&G_INT);
            let decimal = first(&G_DEC);
            if !integer.is_empty() || !decimal.is_empty() {
                let digits: String = integer.chars().filter(|c| *c != ',' && *c != ' ').collect();
                let mut digits = digits.trim_start_matches('0').to_string();
                if digits.is_empty() {
                    digits.push('0');
                }
                digits.push_str(&decimal.replace(',', "."));
                let percent = m.group(G_PCT).is_some_and(|(a, b)| b > a);
                return Some(Found::Number {
                    text: digits,
                    percent,
                });
            }
            Some(Found::Expr(group_str(m, text, G_EXPR)))
        }
        Family::Letters => group_str(m, text, G_LETTER)
            .chars()
            .next()
            .map(Found::Letter),
    }
}

fn slot_percent(m: &Match, base: usize) -> bool {
    m.group(base + PERCENT).is_some_and(|(a, b)| b > a)
}

// ---------------------------------------------------------------------
// Patterns
// ---------------------------------------------------------------------

fn sp() -> Node {
    cls(Class::Space)
}

fn digit() -> Node {
    cls(Class::Digit)
}

/// `(?:,?and|,?or|,)`
fn joiner() -> Node {
    alt(vec![
        seq(vec![opt(ch(',')), lit("and")]),
        seq(vec![opt(ch(',')), lit("or")]),
        ch(','),
    ])
}

/// The content of one span kind: `unit+?`, or with `boxed`,
/// `unit*? \boxed{ unit+? } unit*?`. `end` tells where no unit of the
/// kind can start (the span's closing delimiter, a newline for one-line
/// kinds): a boxed span whose `\boxed{` lies beyond it is not tried.
fn content(unit: impl Fn() -> Node, boxed: bool, end: Option<StopFn>) -> Node {
    if boxed {
        let mut parts: Vec<Node> = end
            .map(|end| reaches("\\boxed{", end))
            .into_iter()
            .collect();
        parts.extend([
            star_lazy(unit()),
            lit("\\boxed{"),
            plus_lazy(unit()),
            ch('}'),
            star_lazy(unit()),
        ]);
        seq(parts)
    } else {
        plus_lazy(unit())
    }
}

fn not_after_backslash() -> Node {
    look(Look::NotAfter(Class::Char('\\')))
}

// Where no unit of a span kind's content can start (see [`content`]).
fn stop_display_dollar(t: &[char], p: usize) -> bool {
    t[p..].starts_with(&['$', '$'])
}
fn stop_display_bracket(t: &[char], p: usize) -> bool {
    t[p..].starts_with(&['\\', ']'])
}
/// A `$` after a backslash may be the end of a `\$` unit.
fn stop_inline_dollar(t: &[char], p: usize) -> bool {
    t[p] == '\n' || (t[p] == '$' && (p == 0 || t[p - 1] != '\\'))
}
fn stop_inline_paren(t: &[char], p: usize) -> bool {
    t[p] == '\n' || t[p..].starts_with(&['\\', ')'])
}
fn stop_inline_bracket(t: &[char], p: usize) -> bool {
    matches!(t[p], '\n' | ']' | '[')
}

/// One math span (slot `slot`), then optional spaces and a percent sign;
/// `prune` adds the look-aheads that skip boxed spans without a box.
fn span(slot: usize, boxed: bool, prune: bool) -> Node {
    let g = |k: usize| slot * PER_SLOT + k;
    // $$ ... $$ (may span lines)
    let display_dollar = seq(vec![
        not_after_backslash(),
        lit("$$"),
        cap(
            g(0),
            content(
                || {
                    alt(vec![
                        cls(Class::NoneOf("$")),
                        seq(vec![ch('$'), look(Look::NotBefore(Class::Char('$')))]),
                    ])
                },
                boxed,
                prune.then_some(stop_display_dollar),
            ),
        ),
        not_after_backslash(),
        lit("$$"),
    ]);
    // \[ ... \]
    let display_bracket = seq(vec![
        not_after_backslash(),
        lit("\\["),
        cap(
            g(1),
            content(
                || {
                    alt(vec![
                        cls(Class::NoneOf("\\")),
                        seq(vec![ch('\\'), look(Look::NotBefore(Class::Char(']')))]),
                    ])
                },
                boxed,
                prune.then_some(stop_display_bracket),
            ),
        ),
        not_after_backslash(),
        lit("\\]"),
    ]);
    // $ ... $ (one line; not right after a digit, so "5$ and 6$" is no span)
    let inline_dollar = seq(vec![
        look(Look::NotAfter(Class::Pred(|c| {
            c == '\\' || c.is_ascii_digit()
        }))),
        ch('$'),
        cap(
            g(2),
            content(
                || alt(vec![lit("\\$"), cls(Class::NoneOf("\n$"))]),
                boxed,
                prune.then_some(stop_inline_dollar),
            ),
        ),
        not_after_backslash(),
        ch('$'),
    ]);
    // \( ... \)
    let inline_paren = seq(vec![
        not_after_backslash(),
        lit("\\("),
        cap(
            g(3),
            content(
                || {
                    alt(vec![
                        cls(Class::NoneOf("\\\n")),
                        seq(vec![ch('\\'), look(Look::NotBefore(Class::Char(')')))]),
                    ])
                },
                boxed,
                prune.then_some(stop_inline_paren),
            ),
        ),
        not_after_backslash(),
        lit("\\)"),
    ]);
    // " [ ... ] " between spaces
    let inline_bracket = seq(vec![
        sp(),
        ch('['),
        cap(
            g(4),
            content(
                || cls(Class::NoneOf("\n][")),
                boxed,
                prune.then_some(stop_inline_bracket),
            ),
        ),
        ch(']'),
        sp(),
    ]);
    let mut kinds = vec![
        display_dollar,
        display_bracket,
        inline_dollar,
        inline_paren,
        inline_bracket,
    ];
    if !boxed {
        // A bare \frac{a}{b} of two plain numbers.
        let number = || {
            seq(vec![
                opt(ch('-')),
                plus(digit()),
                opt(seq(vec![cls(Class::OneOf(".,")), plus(digit())])),
            ])
        };
        kinds.push(cap(
            g(5),
            seq(vec![
                opt(ch('-')),
                lit("\\frac{"),
                number(),
                lit("}{"),
                number(),
                ch('}'),
            ]),
        ));
    }
    let percent_word = |rest: &'static str| seq(vec![cls(Class::OneOf("Pp")), lit(rest)]);
    seq(vec![
        alt(kinds),
        star(sp()),
        opt(cap(
            g(PERCENT),
            alt(vec![
                seq(vec![opt(ch('\\')), ch('%')]),
                percent_word("ercent"),
                percent_word("ercentage"),
                percent_word("ct"),
            ]),
        )),
    ])
}

/// A first span and up to five more joined by `,`, "and" or "or".
fn spans(boxed: bool, prune: bool) -> Node {
    let mut parts = vec![span(0, boxed, prune)];
    for slot in 1..SLOTS {
        let next = seq(vec![
            star(sp()),
            joiner(),
            star(sp()),
            span(slot, boxed, prune),
        ]);
        if boxed {
            parts.push(seq(vec![star(sp()), opt(next)]));
        } else {
            parts.push(opt(next));
        }
    }
    seq(parts)
}

/// `.{0,n}` (lazy or greedy), `.` matching newlines when `dotall`.
fn gap(n: u32, greedy: bool, dotall: bool) -> Node {
    let c = if dotall {
        Class::Any
    } else {
        Class::NotNewline
    };
    rep(cls(c), 0, Some(n), greedy)
}

/// The anchored forms shared by the families, around `target`:
/// (pattern, priority) for "final answer is X. I hope", "final answer
/// ... is X", and the two "answer" forms (built by `answer`).
fn final_answer(target: impl Fn() -> Node, dotall: bool, space_after_is: bool) -> Vec<(Node, i32)> {
    let i_hope = seq(vec![
        ci("final answer is"),
        opt(ch(':')),
        star(sp()),
        target(),
        opt(ch('.')),
        opt(sp()),
        lit("I hope"),
    ]);
    let mut just_is = vec![
        ci("final answer"),
        gap(100, false, dotall),
        plus(sp()),
        lit("is"),
        opt(ch(':')),
    ];
    if space_after_is {
        just_is.push(star(sp()));
    }
    just_is.push(target());
    vec![(i_hope, 0), (seq(just_is), 50)]
}

fn latex_patterns() -> Vec<(Node, Priority)> {
    let mut out: Vec<(Node, Priority)> = final_answer(|| spans(false, false), true, true)
        .into_iter()
        .map(|(n, p)| (n, Priority::Fixed(p)))
        .collect();
    out.push((
        seq(vec![
            ci("answer"),
            ch(':'),
            gap(50, false, true),
            spans(false, false),
        ]),
        Priority::Fixed(100),
    ));
    out.push((
        seq(vec![
            ci("answer"),
            gap(50, false, true),
            spans(false, false),
        ]),
        Priority::Fixed(200),
    ));
    out.push((spans(false, false), Priority::Fixed(300)));
    out.push((spans(true, true), Priority::BoxedSpans));
    // `\boxed{` to the last `}` of the text; normalisation finds the box.
    out.push((
        cap(
            BOXED_GROUP,
            seq(vec![lit("\\boxed{"), Node::ThroughLast('}')]),
        ),
        Priority::Boxed,
    ));
    out
}

const CURRENCIES: &str = "$€£¥₹₽₪₩₫฿₡₢₣₤₥₦₧₨₩₪₫₭₮₯₰₱₲₳₴₵₶₷₸₹₺₻₼₽₾₿";

/// Characters of a plain expression, and its operators.
fn expr_char(c: char) -> bool {
    c.is_ascii_digit() || c == '.' || super::pattern::is_space(c) || expr_op(c)
}
fn expr_op(c: char) -> bool {
    "+-*×/^()÷".contains(c)
}

/// Start of text, a space or `=`, then an optional `**` (markdown bold).
fn expr_prefix() -> Node {
    seq(vec![
        alt(vec![look(Look::Start), sp(), ch('=')]),
        opt(lit("**")),
    ])
}

/// An expression with at least one operator, followed by punctuation, a
/// space, `)`, `$` or the end.
fn expr_with_anchors() -> Node {
    let e = cap(
        G_EXPR,
        seq(vec![
            opt(ch('-')),
            opt(ch('(')),
            opt(ch('-')),
            digit(),
            star(cls(Class::Pred(expr_char))),
            cls(Class::Pred(expr_op)),
            plus(cls(Class::Pred(expr_char))),
            opt(ch(')')),
        ]),
    );
    seq(vec![
        expr_prefix(),
        e,
        opt(lit("**")),
        alt(vec![cls(Class::OneOf(".,: )$")), sp(), look(Look::End)]),
    ])
}

/// A number: with thousands separators, with decimals, decimals only, or
/// an integer; then an optional percent sign or word.
fn number_with_anchors() -> Node {
    let pp = || cls(Class::OneOf("Pp"));
    let int_sep = seq(vec![
        opt(ch('-')),
        cls(Class::OneOf("123456789")),
        rep(digit(), 0, Some(2), true),
        plus(seq(vec![
            cls(Class::OneOf(" ,")),
            rep(digit(), 3, Some(3), true),
        ])),
    ]);
    let number = seq(vec![
        look(Look::NotAfter(Class::Digit)),
        alt(vec![
            seq(vec![
                cap(G_INT[0], int_sep),
                opt(cap(G_DEC[0], seq(vec![ch('.'), plus(digit())]))),
            ]),
            seq(vec![
                cap(G_INT[1], seq(vec![opt(ch('-')), plus(digit())])),
                cap(G_DEC[1], seq(vec![cls(Class::OneOf(".,")), plus(digit())])),
            ]),
            cap(G_DEC[2], seq(vec![ch('.'), plus(digit())])),
            cap(G_INT[2], seq(vec![opt(ch('-')), plus(digit())])),
        ]),
        opt(cap(
            G_PCT,
            seq(vec![
                star(sp()),
                alt(vec![
                    ch('%'),
                    seq(vec![pp(), lit("ercent")]),
                    seq(vec![star(sp()), pp(), lit("ercentage")]),
                    seq(vec![star(sp()), pp(), lit("ct")]),
                ]),
            ]),
        )),
    ]);
    seq(vec![
        expr_prefix(),
        opt(cls(Class::OneOf(CURRENCIES))),
        number,
    ])
}

fn expr_or_number() -> Node {
    alt(vec![expr_with_anchors(), number_with_anchors()])
}

fn expr_patterns() -> Vec<(Node, Priority)> {
    let mut out: Vec<(Node, Priority)> = final_answer(expr_or_number, false, false)
        .into_iter()
        .map(|(n, p)| (n, Priority::Fixed(p)))
        .collect();
    for (colon, priority) in [(true, 100), (false, 200)] {
        let mut parts = vec![ci("answer")];
        if colon {
            parts.push(ch(':'));
        }
        parts.push(alt(vec![
            seq(vec![gap(100, true, false), ch('='), star(sp())]),
            gap(50, false, false),
        ]));
        parts.push(expr_or_number());
        parts.push(look(Look::NotBeforeSpacesEq));
        out.push((seq(parts), Priority::Fixed(priority)));
    }
    out.push((expr_with_anchors(), Priority::Fixed(300)));
    out.push((number_with_anchors(), Priority::Fixed(300)));
    out
}

fn letter_patterns() -> Vec<(Node, Priority)> {
    let key = || cap(G_LETTER, cls(Class::OneOf("ABCD")));
    let suffix = || {
        seq(vec![
            opt(lit("**")),
            alt(vec![cls(Class::OneOf(".,:")), sp(), look(Look::End)]),
        ])
    };
    let standalone = || {
        seq(vec![
            alt(vec![look(Look::Start), sp()]),
            opt(lit("**")),
            key(),
            suffix(),
        ])
    };
    let mut out: Vec<(Node, Priority)> = final_answer(key, false, true)
        .into_iter()
        .map(|(n, p)| (n, Priority::Fixed(p)))
        .collect();
    out.push((
        seq(vec![
            ci("answer"),
            ch(':'),
            gap(50, false, false),
            standalone(),
        ]),
        Priority::Fixed(100),
    ));
    out.push((
        seq(vec![ci("answer"), gap(50, false, false), standalone()]),
        Priority::Fixed(200),
    ));
    out.push((
        seq(vec![look(Look::Start), opt(lit("**")), key(), suffix()]),
        Priority::Fixed(250),
    ));
    out.push((standalone(), Priority::Fixed(300)));
    out
}

fn patterns() -> &'static [Pattern] {
    static PATTERNS: OnceLock<Vec<Pattern>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let mut out = Vec::new();
        for (family, list, groups) in [
            (Family::Latex, latex_patterns(), LATEX_GROUPS),
            (Family::Expr, expr_patterns(), EXPR_GROUPS),
            (Family::Letters, letter_patterns(), 1),
        ] {
            for (node, priority) in list {
                out.push(Pattern {
                    family,
                    priority,
                    prog: Prog::new(&node, groups),
                    start_bound: matches!(priority, Priority::BoxedSpans)
                        .then_some(boxed_start::first_possible_start as fn(&str) -> usize),
                });
            }
        }
        out
    })
}

// ---------------------------------------------------------------------
// Plain arithmetic
// ---------------------------------------------------------------------

/// Most nested parentheses in a plain expression.
const MAX_ARITH_DEPTH: usize = 64;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(String),
    Op(&'static str),
    Open,
    Close,
}

/// Reads a plain expression the way Python reads it (Math-Verify hands
/// these to SymPy's `parse_expr`, with `^` as `**`) and writes it as
/// LaTeX with explicit grouping; None where Python would reject it
/// (`2 3`, `01`, `2(3)`, `×`, unbalanced parentheses, ...).
pub(crate) fn python_arithmetic(s: &str) -> Option<String> {
    let toks = arith_tokens(s)?;
    let mut p = Arith {
        toks: &toks,
        pos: 0,
        depth: 0,
    };
    let (out, _) = p.sum()?;
    (p.pos == toks.len()).then_some(out)
}

fn arith_tokens(s: &str) -> Option<Vec<Tok>> {
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let x = c[i];
        if super::pattern::is_space(x) {
            i += 1;
        } else if x.is_ascii_digit()
            || (x == '.' && c.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            while i < c.len() && c[i].is_ascii_digit() {
                i += 1;
            }
            let mut float = false;
            if i < c.len() && c[i] == '.' {
                float = true;
                i += 1;
                while i < c.len() && c[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let text: String = c[start..i].iter().collect();
            let int_part = text.split('.').next().unwrap_or("");
            // Python 3 refuses leading zeros in integers ("01").
            if !float
                && int_part.len() > 1
                && int_part.starts_with('0')
                && int_part.chars().any(|d| d != '0')
            {
                return None;
            }
            if matches!(out.last(), Some(Tok::Num(_)) | Some(Tok::Close)) {
                return None;
            }
            let mut text = text;
            if text.starts_with('.') {
                text.insert(0, '0');
            }
            if text.ends_with('.') {
                text.push('0');
            }
            out.push(Tok::Num(text));
        } else {
            let op = match x {
                '*' if c.get(i + 1) == Some(&'*') => {
                    i += 1;
                    "**"
                }
                '^' => "**",
                '/' if c.get(i + 1) == Some(&'/') => return None,
                '+' => "+",
                '-' => "-",
                '*' => "*",
                '/' => "/",
                '(' => {
                    // `2(3)` and `(2)(3)` are calls in Python.
                    if matches!(out.last(), Some(Tok::Num(_)) | Some(Tok::Close)) {
                        return None;
                    }
                    out.push(Tok::Open);
                    i += 1;
                    continue;
                }
                ')' => {
                    out.push(Tok::Close);
                    i += 1;
                    continue;
                }
                _ => return None,
            };
            out.push(Tok::Op(op));
            i += 1;
        }
    }
    Some(out)
}

struct Arith<'a> {
    toks: &'a [Tok],
    pos: usize,
    depth: usize,
}

/// A LaTeX rendering and whether it needs parentheses as an operand.
type Piece = (String, bool);

fn wrap((s, compound): Piece) -> String {
    if compound {
        format!("({s})")
    } else {
        s
    }
}

impl Arith<'_> {
    fn peek_op(&self) -> Option<&'static str> {
        match self.toks.get(self.pos) {
            Some(Tok::Op(o)) => Some(o),
            _ => None,
        }
    }

    fn sum(&mut self) -> Option<Piece> {
        let mut acc = self.product()?;
        while let Some(op @ ("+" | "-")) = self.peek_op() {
            self.pos += 1;
            let rhs = self.product()?;
            acc = (format!("{}{op}{}", wrap(acc), wrap(rhs)), true);
        }
        Some(acc)
    }

    fn product(&mut self) -> Option<Piece> {
        let mut acc = self.unary()?;
        while let Some(op @ ("*" | "/")) = self.peek_op() {
            self.pos += 1;
            let rhs = self.unary()?;
            acc = (format!("{}{op}{}", wrap(acc), wrap(rhs)), true);
        }
        Some(acc)
    }

    fn unary(&mut self) -> Option<Piece> {
        match self.peek_op() {
            Some("+") => {
                self.pos += 1;
                self.nested(|p| p.unary())
            }
            Some("-") => {
                self.pos += 1;
                let inner = self.nested(|p| p.unary())?;
                Some((format!("-{}", wrap(inner)), true))
            }
            _ => self.power(),
        }
    }

    fn power(&mut self) -> Option<Piece> {
        let base = self.atom()?;
        if self.peek_op() == Some("**") {
            self.pos += 1;
            let exp = self.nested(|p| p.unary())?;
            return Some((format!("{}^{{{}}}", wrap(base), exp.0), true));
        }
        Some(base)
    }

    fn atom(&mut self) -> Option<Piece> {
        match self.toks.get(self.pos)? {
            Tok::Num(n) => {
                self.pos += 1;
                Some((n.clone(), false))
            }
            Tok::Open => {
                self.pos += 1;
                let inner = self.nested(|p| p.sum())?;
                if self.toks.get(self.pos) != Some(&Tok::Close) {
                    return None;
                }
                self.pos += 1;
                Some(inner)
            }
            _ => None,
        }
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self) -> Option<Piece>) -> Option<Piece> {
        if self.depth >= MAX_ARITH_DEPTH {
            return None;
        }
        self.depth += 1;
        let out = f(self);
        self.depth -= 1;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: Targets = Targets {
        latex: true,
        expr: true,
        letters: false,
        boxed_priority: 50,
    };

    /// All candidates in the order they would be tried.
    fn order(text: &str, t: &Targets) -> Vec<Found> {
        let chars: Vec<char> = text.chars().collect();
        let mut b = Budget::new(10_000_000);
        let mut out = Vec::new();
        for p in priorities(t) {
            out.extend(
                candidates(text, &chars, t, p, &mut b)
                    .unwrap()
                    .into_iter()
                    .map(|c| c.found),
            );
        }
        out
    }

    fn latex(s: &str) -> Found {
        Found::Latex(vec![Span {
            text: s.into(),
            boxes: Boxes::All,
            percent: false,
        }])
    }

    #[test]
    fn last_span_first() {
        let o = order("We have $x=1$ and then $y = 2$ so", &DEFAULT);
        // "$x=1$ and then" is no join (text between), so two spans; the
        // number 2 inside the last span ends before it.
        assert_eq!(o[0], latex("y = 2"));
        assert_eq!(
            o[1],
            Found::Number {
                text: "2".into(),
                percent: false
            }
        );
    }

    #[test]
    fn joined_spans() {
        let o = order("roots $1$, $2$ and $3$.", &DEFAULT);
        match &o[0] {
            Found::Latex(s) => assert_eq!(
                s.iter().map(|s| s.text.as_str()).collect::<Vec<_>>(),
                vec!["1", "2", "3"]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn boxed_before_plain_spans() {
        let o = order("So $\\boxed{5}$ and later $7$", &DEFAULT);
        assert_eq!(o[0], latex("\\boxed{5}"));
    }

    #[test]
    fn bare_boxed_to_last_brace() {
        let o = order("thus \\boxed{\\frac{1}{2}} done", &DEFAULT);
        assert_eq!(
            o[0],
            Found::Latex(vec![Span {
                text: "\\boxed{\\frac{1}{2}}".into(),
                boxes: Boxes::Last,
                percent: false,
            }])
        );
    }

    #[test]
    fn final_answer_and_answer_anchors() {
        let o = order(
            "Final Answer: The final answer is $42$. I hope it is correct.",
            &DEFAULT,
        );
        assert_eq!(o[0], latex("42"));
        let o = order("Answer: 17\nmore text 3", &DEFAULT);
        assert_eq!(
            o[0],
            Found::Number {
                text: "17".into(),
                percent: false
            }
        );
    }

    #[test]
    fn numbers() {
        let o = order("It costs $1,234.50 total", &DEFAULT);
        assert!(o.contains(&Found::Number {
            text: "1234.50".into(),
            percent: false
        }));
        let o = order("about 15 %", &DEFAULT);
        assert_eq!(
            o[0],
            Found::Number {
                text: "15".into(),
                percent: true
            }
        );
        let o = order("x is 007", &DEFAULT);
        assert_eq!(
            o[0],
            Found::Number {
                text: "7".into(),
                percent: false
            }
        );
        let o = order("so 3/4.", &DEFAULT);
        assert_eq!(o[0], Found::Expr("3/4.".into()));
    }

    #[test]
    fn python_arithmetic_grammar() {
        let p = |s: &str| python_arithmetic(s);
        assert_eq!(p("3/4").as_deref(), Some("3/4"));
        assert_eq!(p("2^10 - 1").as_deref(), Some("(2^{10})-1"));
        assert_eq!(p("2**-1").as_deref(), Some("2^{-1}"));
        assert_eq!(p("(1+2)*3").as_deref(), Some("(1+2)*3"));
        assert_eq!(p(".5+1.").as_deref(), Some("0.5+1.0"));
        assert_eq!(p("--2").as_deref(), Some("-(-2)"));
        for bad in [
            "2 3", "01+1", "2(3)", "(2)(3)", "2×3", "(1+2", "1+2)", "7//2", "1.5.2+1", "",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
        let deep = "(".repeat(10_000) + "1" + &")".repeat(10_000);
        assert_eq!(p(&deep), None);
    }

    #[test]
    fn letters() {
        let t = Targets {
            latex: false,
            expr: false,
            letters: true,
            boxed_priority: 50,
        };
        assert_eq!(order("The answer is B.", &t)[0], Found::Letter('B'));
        assert_eq!(order("C", &t)[0], Found::Letter('C'));
        assert!(order("ABCD", &t).is_empty());
    }

    /// Texts made of the tokens the boxed-span pattern cares about.
    fn span_soup() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let token = prop::sample::select(vec![
            "$",
            "$$",
            "\\$",
            "\\[",
            "\\]",
            "\\(",
            "\\)",
            " [",
            "[",
            "]",
            "\n",
            " ",
            "x",
            "\\boxed{",
            "}",
            "{",
            "\\",
            ",",
            " and ",
            "7",
            "%",
            "é",
            "\u{3000}[",
        ]);
        prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
    }

    /// A match's start, end and groups.
    type FoundSpan = (usize, usize, Vec<Option<(usize, usize)>>);

    fn spans_of(prog: &Prog, text: &[char], from: usize) -> Vec<FoundSpan> {
        let mut b = Budget::new(10_000_000);
        find_iter_from(prog, text, from, &mut b)
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m.start,
                    m.end,
                    (0..LATEX_GROUPS).map(|g| m.group(g)).collect(),
                )
            })
            .collect()
    }

    proptest::proptest! {
        /// The look-aheads and the start bound only skip work: the pruned
        /// boxed-span pattern, searched from the bound, finds exactly the
        /// matches of the plain one searched from the start.
        #[test]
        fn boxed_span_pruning_keeps_every_match(text in span_soup()) {
            let plain = Prog::new(&spans(true, false), LATEX_GROUPS);
            let pruned = Prog::new(&spans(true, true), LATEX_GROUPS);
            let chars: Vec<char> = text.chars().collect();
            let from = char_index(&text, boxed_start::first_possible_start(&text));
            proptest::prop_assert_eq!(spans_of(&plain, &chars, 0), spans_of(&pruned, &chars, from));
        }
    }

    #[test]
    fn hostile_inputs_are_bounded() {
        let inputs = [
            "$".repeat(100_000),
            "\\(".repeat(50_000),
            "answer ".repeat(15_000),
            "1 ".repeat(50_000) + "1+1+1+1x",
            "final answer ".repeat(8_000),
            "{".repeat(10_000) + "\\boxed{" + &"}".repeat(10_000),
        ];
        for s in inputs {
            let chars: Vec<char> = s.chars().collect();
            let mut b = Budget::new(20_000_000);
            for p in priorities(&DEFAULT) {
                if candidates(&s, &chars, &DEFAULT, p, &mut b).is_err() {
                    break;
                }
            }
        }
    }
}
