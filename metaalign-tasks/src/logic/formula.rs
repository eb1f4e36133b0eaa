//! Propositional formulas over numbered variables, and their text form.
//!
//! The printer writes exactly the paper's format (`puzzle_spec.formulas`):
//! a negated variable is `¬A`, any other negation is `¬(…)` around its
//! operand's own text (so `¬((A ∧ B))`, `¬(¬B)`, `¬(A)`), and every binary
//! operation is fully parenthesised, `(l op r)`, with the operators
//! `∧ ∨ → ↔ ⊕`. The parser reads that format back to the same tree (so
//! print ∘ parse is the identity on the paper's formulas), and also accepts
//! unparenthesised input with the usual precedence (¬ > ∧ > ∨ > ⊕ > → > ↔,
//! `→` right-associative) and ASCII spellings (`~ ! & | ^ -> => <-> <=>`).
//! It is total: any input gives a formula or a [`ParseError`], never a panic.

use std::fmt;

/// A variable, numbered from 0.
pub type Var = u16;

/// Binary connectives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `∧`.
    And,
    /// `∨`.
    Or,
    /// `→`.
    Implies,
    /// `↔`.
    Iff,
    /// `⊕`.
    Xor,
}

impl BinOp {
    /// Every connective.
    pub(crate) const ALL: [BinOp; 5] = [
        BinOp::And,
        BinOp::Or,
        BinOp::Implies,
        BinOp::Iff,
        BinOp::Xor,
    ];

    /// The paper's symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::And => "∧",
            BinOp::Or => "∨",
            BinOp::Implies => "→",
            BinOp::Iff => "↔",
            BinOp::Xor => "⊕",
        }
    }

    /// Applies the connective to 64 assignments at once.
    #[inline]
    pub fn apply(self, a: u64, b: u64) -> u64 {
        match self {
            BinOp::And => a & b,
            BinOp::Or => a | b,
            BinOp::Implies => !a | b,
            BinOp::Iff => !(a ^ b),
            BinOp::Xor => a ^ b,
        }
    }

    /// Applies the connective to one pair of truth values.
    #[inline]
    pub(crate) fn apply_bool(self, a: bool, b: bool) -> bool {
        match self {
            BinOp::And => a && b,
            BinOp::Or => a || b,
            BinOp::Implies => !a || b,
            BinOp::Iff => a == b,
            BinOp::Xor => a != b,
        }
    }

    /// Binding strength for the tolerant parser (higher binds tighter).
    fn precedence(self) -> u8 {
        match self {
            BinOp::And => 5,
            BinOp::Or => 4,
            BinOp::Xor => 3,
            BinOp::Implies => 2,
            BinOp::Iff => 1,
        }
    }
}

/// A formula. `NegVar` (`¬A`) and `Not(Var)` (`¬(A)`) mean the same but are
/// written differently, so both are kept to print the paper's text exactly.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Formula {
    /// A variable, `A`.
    Var(Var),
    /// A negated variable, `¬A`.
    NegVar(Var),
    /// A negated formula, `¬(…)`.
    Not(Box<Formula>),
    /// Two formulas joined by a connective.
    Bin(BinOp, Box<Formula>, Box<Formula>),
}

impl Formula {
    /// `¬(f)`.
    pub(crate) fn negate(f: Formula) -> Formula {
        Formula::Not(Box::new(f))
    }

    /// `l op r`.
    pub(crate) fn bin(op: BinOp, l: Formula, r: Formula) -> Formula {
        Formula::Bin(op, Box::new(l), Box::new(r))
    }

    /// Evaluates under a full assignment (`value(v)` for each variable).
    pub fn eval(&self, value: &impl Fn(Var) -> bool) -> bool {
        match self {
            Formula::Var(v) => value(*v),
            Formula::NegVar(v) => !value(*v),
            Formula::Not(f) => !f.eval(value),
            Formula::Bin(op, l, r) => op.apply_bool(l.eval(value), r.eval(value)),
        }
    }

    /// Evaluates 64 assignments at once: `column(v)` gives variable `v`'s
    /// values as a bit mask over the 64 assignments.
    #[inline]
    pub fn eval_word(&self, column: &impl Fn(Var) -> u64) -> u64 {
        match self {
            Formula::Var(v) => column(*v),
            Formula::NegVar(v) => !column(*v),
            Formula::Not(f) => !f.eval_word(column),
            Formula::Bin(op, l, r) => op.apply(l.eval_word(column), r.eval_word(column)),
        }
    }

    /// Kleene three-valued evaluation under a partial assignment
    /// (`None` = unknown).
    pub fn eval_partial(&self, value: &impl Fn(Var) -> Option<bool>) -> Option<bool> {
        match self {
            Formula::Var(v) => value(*v),
            Formula::NegVar(v) => value(*v).map(|b| !b),
            Formula::Not(f) => f.eval_partial(value).map(|b| !b),
            Formula::Bin(op, l, r) => {
                let a = l.eval_partial(value);
                let b = r.eval_partial(value);
                match op {
                    BinOp::And => match (a, b) {
                        (Some(false), _) | (_, Some(false)) => Some(false),
                        (Some(true), Some(true)) => Some(true),
                        _ => None,
                    },
                    BinOp::Or => match (a, b) {
                        (Some(true), _) | (_, Some(true)) => Some(true),
                        (Some(false), Some(false)) => Some(false),
                        _ => None,
                    },
                    BinOp::Implies => match (a, b) {
                        (Some(false), _) | (_, Some(true)) => Some(true),
                        (Some(true), Some(false)) => Some(false),
                        _ => None,
                    },
                    BinOp::Iff => Some(a? == b?),
                    BinOp::Xor => Some(a? != b?),
                }
            }
        }
    }

    /// Calls `f` on every variable occurrence.
    pub fn for_each_var(&self, f: &mut impl FnMut(Var)) {
        match self {
            Formula::Var(v) | Formula::NegVar(v) => f(*v),
            Formula::Not(x) => x.for_each_var(f),
            Formula::Bin(_, l, r) => {
                l.for_each_var(f);
                r.for_each_var(f);
            }
        }
    }

    /// The largest variable number used, if any.
    pub fn max_var(&self) -> Var {
        let mut m = 0;
        self.for_each_var(&mut |v| m = m.max(v));
        m
    }

    /// Nesting depth: a (possibly negated) variable is 0; each `¬(…)` or
    /// binary operation adds one.
    pub fn depth(&self) -> usize {
        match self {
            Formula::Var(_) | Formula::NegVar(_) => 0,
            Formula::Not(f) => 1 + f.depth(),
            Formula::Bin(_, l, r) => 1 + l.depth().max(r.depth()),
        }
    }

    /// Number of nodes.
    pub fn size(&self) -> usize {
        match self {
            Formula::Var(_) | Formula::NegVar(_) => 1,
            Formula::Not(f) => 1 + f.size(),
            Formula::Bin(_, l, r) => 1 + l.size() + r.size(),
        }
    }

    /// Writes the paper's text form, naming variables with `name`.
    pub fn write<N: AsRef<str>>(&self, out: &mut String, name: &impl Fn(Var) -> N) {
        match self {
            Formula::Var(v) => out.push_str(name(*v).as_ref()),
            Formula::NegVar(v) => {
                out.push('¬');
                out.push_str(name(*v).as_ref());
            }
            Formula::Not(f) => {
                out.push_str("¬(");
                f.write(out, name);
                out.push(')');
            }
            Formula::Bin(op, l, r) => {
                out.push('(');
                l.write(out, name);
                out.push(' ');
                out.push_str(op.symbol());
                out.push(' ');
                r.write(out, name);
                out.push(')');
            }
        }
    }

    /// The paper's text form with standard variable names (`A`…`Z`, `A1`…).
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, &var_name);
        s
    }
}

impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// Standard variable names: `A`…`Z` for 0–25, then `A1`…`Z1`, `A2`…
pub fn var_name(v: Var) -> String {
    let letter = (b'A' + (v % 26) as u8) as char;
    let round = v / 26;
    if round == 0 {
        letter.to_string()
    } else {
        format!("{letter}{round}")
    }
}

/// Inverse of [`var_name`] (exact case).
pub fn var_index(name: &str) -> Option<Var> {
    let mut chars = name.chars();
    let letter = chars.next()?;
    if !letter.is_ascii_uppercase() {
        return None;
    }
    let rest = chars.as_str();
    let round: u32 = if rest.is_empty() {
        0
    } else {
        if rest.starts_with('0') || !rest.bytes().all(|b| b.is_ascii_digit()) || rest.len() > 4 {
            return None;
        }
        rest.parse().ok()?
    };
    let idx = round * 26 + (letter as u32 - 'A' as u32);
    Var::try_from(idx).ok()
}

/// Why a formula could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset in the input.
    pub pos: usize,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.pos)
    }
}

impl std::error::Error for ParseError {}

/// Nesting deeper than this is refused (keeps the recursive parser and the
/// evaluators far from the stack limit on hostile input).
pub const MAX_NESTING: usize = 200;

/// The parser's recursion guard (stack safety). Printed formulas spend up to
/// three recursion levels per nesting level (`¬(` is unary, `(`, expr), so
/// the guard leaves room for every formula of depth up to [`MAX_NESTING`] in
/// the form [`Formula::write`] prints, which must read back.
const MAX_RECURSION: usize = 4 * MAX_NESTING + 8;

#[derive(Clone, Debug, PartialEq)]
enum Tok<'a> {
    LParen,
    RParen,
    Not,
    Op(BinOp),
    Ident(&'a str),
}

fn tokenize(text: &str) -> Result<Vec<(usize, Tok<'_>)>, ParseError> {
    let mut toks = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let c = match rest.chars().next() {
            Some(c) => c,
            None => break,
        };
        let (tok, len) = match c {
            c if c.is_whitespace() => {
                i += c.len_utf8();
                continue;
            }
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '¬' | '~' | '!' => (Tok::Not, c.len_utf8()),
            '∧' => (Tok::Op(BinOp::And), c.len_utf8()),
            '∨' => (Tok::Op(BinOp::Or), c.len_utf8()),
            '→' | '⇒' => (Tok::Op(BinOp::Implies), c.len_utf8()),
            '↔' | '⇔' => (Tok::Op(BinOp::Iff), c.len_utf8()),
            '⊕' | '^' => (Tok::Op(BinOp::Xor), c.len_utf8()),
            '&' => (
                Tok::Op(BinOp::And),
                if rest.starts_with("&&") { 2 } else { 1 },
            ),
            '|' => (
                Tok::Op(BinOp::Or),
                if rest.starts_with("||") { 2 } else { 1 },
            ),
            '-' if rest.starts_with("->") => (Tok::Op(BinOp::Implies), 2),
            '=' if rest.starts_with("=>") => (Tok::Op(BinOp::Implies), 2),
            '<' if rest.starts_with("<->") => (Tok::Op(BinOp::Iff), 3),
            '<' if rest.starts_with("<=>") => (Tok::Op(BinOp::Iff), 3),
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut j = i;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                (Tok::Ident(&text[i..j]), j - i)
            }
            other => {
                return Err(ParseError {
                    pos: i,
                    message: format!("unexpected character {other:?}"),
                })
            }
        };
        toks.push((i, tok));
        i += len;
    }
    Ok(toks)
}

struct Parser<'a, 'r, R> {
    toks: Vec<(usize, Tok<'a>)>,
    pos: usize,
    end: usize,
    resolve: &'r mut R,
}

impl<'a, R: FnMut(&str) -> Option<Var>> Parser<'a, '_, R> {
    fn here(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |t| t.0)
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            pos: self.here(),
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<&Tok<'a>> {
        self.toks.get(self.pos).map(|t| &t.1)
    }

    fn var(&mut self, name: &str) -> Result<Var, ParseError> {
        match (self.resolve)(name) {
            Some(v) => Ok(v),
            None => self.err(format!("unknown variable `{name}`")),
        }
    }

    /// expr := unary (op unary)*, by precedence climbing. Returns the
    /// formula and its depth.
    fn expr(&mut self, min_prec: u8, nest: usize) -> Result<(Formula, usize), ParseError> {
        if nest > MAX_RECURSION {
            return self.err(format!("nesting deeper than {MAX_NESTING}"));
        }
        let (mut lhs, mut depth) = self.unary(nest + 1)?;
        while let Some(Tok::Op(op)) = self.peek() {
            let op = *op;
            let prec = op.precedence();
            if prec < min_prec {
                break;
            }
            self.pos += 1;
            // `→` is right-associative, the others left-associative.
            let next_min = if op == BinOp::Implies { prec } else { prec + 1 };
            let (rhs, rdepth) = self.expr(next_min, nest + 1)?;
            depth = depth.max(rdepth) + 1;
            if depth > MAX_NESTING {
                return self.err(format!("nesting deeper than {MAX_NESTING}"));
            }
            lhs = Formula::bin(op, lhs, rhs);
        }
        Ok((lhs, depth))
    }

    fn unary(&mut self, nest: usize) -> Result<(Formula, usize), ParseError> {
        if nest > MAX_RECURSION {
            return self.err(format!("nesting deeper than {MAX_NESTING}"));
        }
        match self.peek().cloned() {
            Some(Tok::Not) => {
                self.pos += 1;
                if let Some(Tok::Ident(name)) = self.peek().cloned() {
                    self.pos += 1;
                    return Ok((Formula::NegVar(self.var(name)?), 0));
                }
                let (inner, depth) = self.unary(nest + 1)?;
                if depth + 1 > MAX_NESTING {
                    return self.err(format!("nesting deeper than {MAX_NESTING}"));
                }
                Ok((Formula::negate(inner), depth + 1))
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let inner = self.expr(0, nest + 1)?;
                match self.peek() {
                    Some(Tok::RParen) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    Some(_) => self.err("expected `)`"),
                    None => self.err("missing `)` at end of formula"),
                }
            }
            Some(Tok::Ident(name)) => {
                self.pos += 1;
                Ok((Formula::Var(self.var(name)?), 0))
            }
            Some(Tok::RParen) => self.err("unexpected `)`"),
            Some(Tok::Op(op)) => {
                self.err(format!("operator `{}` without a left operand", op.symbol()))
            }
            None => self.err("formula ends where an operand was expected"),
        }
    }
}

/// Parses one formula, resolving variable names with `resolve`.
pub fn parse_with(
    text: &str,
    resolve: &mut impl FnMut(&str) -> Option<Var>,
) -> Result<Formula, ParseError> {
    let toks = tokenize(text)?;
    if toks.is_empty() {
        return Err(ParseError {
            pos: 0,
            message: "empty formula".into(),
        });
    }
    let mut p = Parser {
        toks,
        pos: 0,
        end: text.len(),
        resolve,
    };
    let (f, _) = p.expr(0, 0)?;
    if p.pos < p.toks.len() {
        return p.err("unexpected text after the end of the formula");
    }
    Ok(f)
}

/// Parses one formula with standard variable names (`A`…`Z`, `A1`…).
pub fn parse(text: &str) -> Result<Formula, ParseError> {
    parse_with(text, &mut |name| var_index(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `formula_parser` fuzz target: 68 stacked negations
    /// parsed, but their printed form `¬(¬(…))` hit the recursion guard.
    /// Every formula up to the depth limit must read back as printed.
    #[test]
    fn deep_negations_read_back_as_printed() {
        for n in [68, MAX_NESTING + 1] {
            let text = format!("{}A", "!".repeat(n));
            let f = parse(&text).unwrap();
            assert_eq!(f.depth(), n - 1);
            assert_eq!(parse(&f.to_text()).unwrap(), f);
        }
        let too_deep = format!("{}A", "!".repeat(MAX_NESTING + 2));
        let err = parse(&too_deep).unwrap_err();
        assert!(err.message.contains("nesting deeper"), "{err:?}");
        let deep_bin = format!(
            "{}A{}",
            "(A ∧ ".repeat(MAX_NESTING),
            ")".repeat(MAX_NESTING)
        );
        let f = parse(&deep_bin).unwrap();
        assert_eq!(parse(&f.to_text()).unwrap(), f);
    }

    #[test]
    fn paper_forms_round_trip() {
        for s in [
            "¬(¬B)",
            "(A ∧ C)",
            "¬(A)",
            "¬((F ∨ ¬D))",
            "¬(¬(¬J))",
            "((((¬I → C) ∧ (D ∨ ¬I)) ⊕ ¬((B ∧ G))) ∧ ((¬(¬A) ⊕ (¬H ∧ ¬E)) ⊕ ((C → C) ↔ ¬(J))))",
            "A",
            "¬A",
        ] {
            let f = parse(s).unwrap();
            assert_eq!(f.to_text(), s);
        }
        assert_eq!(parse("¬(A)").unwrap(), Formula::negate(Formula::Var(0)));
        assert_eq!(parse("¬A").unwrap(), Formula::NegVar(0));
    }

    #[test]
    fn tolerant_forms_and_precedence() {
        let f = parse("A & B | ~C -> D <-> E").unwrap();
        assert_eq!(f.to_text(), "((((A ∧ B) ∨ ¬C) → D) ↔ E)");
        assert_eq!(parse("A -> B -> C").unwrap().to_text(), "(A → (B → C))");
        assert_eq!(parse("A ^ B ^ C").unwrap().to_text(), "((A ⊕ B) ⊕ C)");
        assert_eq!(parse("  (A1∧Z2) ").unwrap().to_text(), "(A1 ∧ Z2)");
    }

    #[test]
    fn errors_name_the_problem() {
        for (s, want) in [
            ("", "empty"),
            ("(A ∧ B", "missing `)`"),
            ("A ∧", "operand"),
            ("A B", "after the end"),
            ("∧ A", "left operand"),
            ("a ∧ B", "unknown variable `a`"),
            ("A # B", "unexpected character"),
            ("A0", "unknown variable"),
        ] {
            let e = parse(s).unwrap_err();
            assert!(e.message.contains(want), "{s:?}: {e}");
        }
        let deep = "(".repeat(100_000) + "A" + &")".repeat(100_000);
        assert!(parse(&deep).unwrap_err().message.contains("nesting"));
        let chain = vec!["A"; 100_000].join(" ∧ ");
        assert!(parse(&chain).unwrap_err().message.contains("nesting"));
        let nots = "¬".repeat(100_000) + "(A)";
        assert!(parse(&nots).unwrap_err().message.contains("nesting"));
    }

    #[test]
    fn names_round_trip() {
        for v in 0..200 {
            assert_eq!(var_index(&var_name(v)), Some(v));
        }
        assert_eq!(var_name(26), "A1");
        assert_eq!(var_index("A01"), None);
        assert_eq!(var_index("a"), None);
    }

    #[test]
    fn evaluation_modes_agree() {
        let f = parse("((A → ¬B) ⊕ ¬((C ↔ A)))").unwrap();
        for m in 0u32..8 {
            let val = |v: Var| m >> v & 1 == 1;
            let b = f.eval(&val);
            let w = f.eval_word(&|v| if val(v) { !0 } else { 0 });
            assert_eq!(w == !0, b);
            assert_eq!(f.eval_partial(&|v| Some(val(v))), Some(b));
        }
        // A → x is true whatever x when A is false.
        let g = parse("(A → (B ⊕ C))").unwrap();
        assert_eq!(g.eval_partial(&|v| (v == 0).then_some(false)), Some(true));
        assert_eq!(g.eval_partial(&|v| (v == 0).then_some(true)), None);
    }
}
