//! Reads one normalised answer (LaTeX or plain) into an [`Expr`], following
//! the grammar and conversions of latex2sympy2_extended as Math-Verify calls
//! it: a whole input is a list of elements (`1, 2` is a set), a relation
//! with sets on the right (`x \in [1, 2]`), or a set expression
//! (`(-\infty, 1) \cup (2, \infty)`); elements are relations, intervals,
//! tuples, finite sets or `a \pm b`.
//!
//! Bounded: nesting depth, token count and parser work are capped, and
//! exceeding a cap is an error for the whole input (never a panic).

use num_bigint::BigInt;

use super::expr::eval::{exact, gcd_q, lcm_q};
use super::expr::{Const, Expr, Func, Limits, Matrix, Rel, SetKind, NONREAL_MARK, Q};

#[path = "value/lexer.rs"]
mod lexer;

use lexer::{SetLitKind, Tok, Token};

#[path = "value/build.rs"]
mod build;

use build::*;

/// Parses one answer string.
pub(crate) fn parse(text: &str, limits: &Limits) -> Result<Expr, String> {
    if text.len() > limits.max_len {
        return Err(format!("answer longer than {} bytes", limits.max_len));
    }
    match parse_one(text, limits) {
        Ok(e) => Ok(e),
        Err(PErr::Fatal(m)) => Err(m),
        Err(PErr::NoMatch(m)) => {
            // as Math-Verify does: retry with the part after the last `=`
            // of a chain `a = b = c` (not for lists, which hold `a=1, b=2`)
            if let Some(last) = last_equation_part(text) {
                if let Ok(e) = parse_one(last, limits) {
                    return Ok(e);
                }
            }
            Err(m)
        }
    }
}

fn parse_one(text: &str, limits: &Limits) -> Result<Expr, PErr> {
    let toks = lexer::lex(text, limits.max_nodes).map_err(PErr::NoMatch)?;
    if toks.is_empty() {
        return Err(PErr::NoMatch("empty answer".into()));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        src: text,
        limits,
        depth: 0,
        steps: 0,
        abs_depth: 0,
        complex: looks_complex(text),
    };
    let e = p.math()?;
    if e.size() > limits.max_nodes {
        return Err(PErr::Fatal("answer too large".into()));
    }
    Ok(e)
}

/// A parse failure: `NoMatch` lets the caller try another reading;
/// `Fatal` (a cap was hit) ends the whole parse.
#[derive(Debug)]
enum PErr {
    NoMatch(String),
    Fatal(String),
}

type PResult<T> = Result<T, PErr>;

fn nomatch<T>(msg: &str) -> PResult<T> {
    Err(PErr::NoMatch(msg.to_string()))
}

struct Parser<'a> {
    toks: Vec<Token>,
    pos: usize,
    src: &'a str,
    limits: &'a Limits,
    depth: usize,
    steps: usize,
    /// Open `|...|` groups: a `|` in product position closes one.
    abs_depth: usize,
    /// Symbols are not real (the text mentions `i`, `\mathbb{C}`, ...).
    complex: bool,
}

impl<'a> Parser<'a> {
    // ----- token helpers -------------------------------------------------

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn peek_at(&self, k: usize) -> Option<&Tok> {
        self.toks.get(self.pos + k).map(|t| &t.tok)
    }

    fn at(&self, t: &Tok) -> bool {
        self.peek() == Some(t)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn bump(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|t| t.tok.clone());
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.at(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Tok) -> PResult<()> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(PErr::NoMatch(format!("expected {t:?}")))
        }
    }

    fn expect_end(&self) -> PResult<()> {
        if self.at_end() {
            Ok(())
        } else {
            nomatch("unexpected trailing input")
        }
    }

    /// Source text of tokens `from..to`, joined without the whitespace
    /// between them (ANTLR's `getText`).
    fn text(&self, from: usize, to: usize) -> String {
        let mut s = String::new();
        for t in self.toks.get(from..to).unwrap_or(&[]) {
            s.push_str(self.src.get(t.start..t.end).unwrap_or(""));
        }
        s
    }

    /// Whether the bracketed span opened at `self.pos` holds a comma at its
    /// own level (scans to the matching closer of any kind).
    fn has_top_level_comma(&self) -> bool {
        let mut depth = 0usize;
        for t in self.toks.get(self.pos + 1..).unwrap_or(&[]) {
            match t.tok {
                Tok::LParen
                | Tok::LBrace
                | Tok::LBracket
                | Tok::LBraceV
                | Tok::LBraceCmd
                | Tok::LBrack
                | Tok::LGroup
                | Tok::LParenV
                | Tok::LFloor
                | Tok::LCeil
                | Tok::LLCorner
                | Tok::ULCorner
                | Tok::LVert
                | Tok::LAngle
                | Tok::MatrixStart
                | Tok::DetStart => depth += 1,
                Tok::RParen
                | Tok::RBrace
                | Tok::RBracket
                | Tok::RBraceV
                | Tok::RBraceCmd
                | Tok::RBrack
                | Tok::RGroup
                | Tok::RParenV
                | Tok::RFloor
                | Tok::RCeil
                | Tok::LRCorner
                | Tok::URCorner
                | Tok::RVert
                | Tok::RAngle
                | Tok::MatrixEnd
                | Tok::DetEnd => {
                    if depth == 0 {
                        return false;
                    }
                    depth -= 1;
                }
                Tok::Comma if depth == 0 => return true,
                _ => {}
            }
        }
        false
    }

    /// Runs `f` one level deeper, failing fatally past the caps.
    fn nest<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        self.depth += 1;
        self.steps += 1;
        if self.depth > self.limits.max_depth {
            return Err(PErr::Fatal("answer nested too deeply".into()));
        }
        if self.steps > self.limits.max_steps {
            return Err(PErr::Fatal("answer too complex to read".into()));
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// Checks that wrapping a tree `k` more levels keeps it within the
    /// depth cap (loops that nest, like `a^b^c` or `x!!!`).
    fn wrap_ok(&self, k: usize) -> PResult<()> {
        if self.depth + k > self.limits.max_depth {
            Err(PErr::Fatal("answer nested too deeply".into()))
        } else {
            Ok(())
        }
    }

    /// Tries `f`; on `NoMatch` restores the position.
    fn attempt<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<Option<T>> {
        let save = self.pos;
        let save_abs = self.abs_depth;
        match self.nest(f) {
            Ok(v) => Ok(Some(v)),
            Err(PErr::NoMatch(_)) => {
                self.pos = save;
                self.abs_depth = save_abs;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// A symbol read from a complex-looking answer gets the non-real mark.
    fn mark(&self, e: Expr) -> Expr {
        match e {
            Expr::Sym(s) if self.complex => Expr::Sym(format!("{s}{NONREAL_MARK}")),
            other => other,
        }
    }

    // ----- top level -----------------------------------------------------

    fn math(&mut self) -> PResult<Expr> {
        if let Some(e) = self.attempt(|p| {
            let e = p.set_elements_relation()?;
            p.expect_end()?;
            Ok(e)
        })? {
            return Ok(e);
        }
        if let Some(e) = self.attempt(|p| {
            let e = p.set_elements()?;
            p.expect_end()?;
            Ok(e)
        })? {
            if is_comma_number(self.src) {
                return convert_comma_number(self.src, self.limits);
            }
            return Ok(e);
        }
        if let Some(e) = self.attempt(|p| {
            let e = p.set_relation()?;
            p.expect_end()?;
            Ok(e)
        })? {
            return Ok(e);
        }
        nomatch("cannot read the answer")
    }

    /// `atom_expr_list (\in | =) elements` with elements that are not
    /// relations: `x = 1, 2`, `x \in [0, 1]`, `(a, b) = (1, 2)`.
    fn set_elements_relation(&mut self) -> PResult<Expr> {
        let lhs = self.atom_expr_list()?;
        match self.bump() {
            Some(Tok::In) | Some(Tok::Assign) => {}
            _ => return nomatch("expected = or \\in"),
        }
        let elems = self.semicolon_elements(true)?;
        let rhs = to_set_or_tuple(elems)?;
        Ok(Expr::rel(Rel::Eq, lhs, rhs))
    }

    fn set_elements(&mut self) -> PResult<Expr> {
        let elems = self.semicolon_elements(false)?;
        to_set_or_tuple(elems)
    }

    fn semicolon_elements(&mut self, no_relation: bool) -> PResult<Vec<Vec<Expr>>> {
        self.nest(|p| {
            let mut out = vec![p.comma_elements(no_relation)?];
            while p.eat(&Tok::Semicolon) {
                out.push(p.comma_elements(no_relation)?);
                if out.len() > p.limits.max_elems {
                    return Err(PErr::Fatal("too many elements".into()));
                }
            }
            Ok(out)
        })
    }

    fn comma_elements(&mut self, no_relation: bool) -> PResult<Vec<Expr>> {
        let mut out = self.element(no_relation)?;
        while self.eat(&Tok::Comma) {
            out.extend(self.element(no_relation)?);
            if out.len() > self.limits.max_elems {
                return Err(PErr::Fatal("too many elements".into()));
            }
        }
        Ok(out)
    }

    fn is_element_follow(&self) -> bool {
        matches!(
            self.peek(),
            None | Some(
                Tok::Comma
                    | Tok::Semicolon
                    | Tok::RParen
                    | Tok::RBracket
                    | Tok::RBrace
                    | Tok::RBraceV
                    | Tok::RParenV
                    | Tok::RBrack
                    | Tok::RGroup
                    | Tok::RBraceCmd
            )
        )
    }

    /// One element; `a \pm b` gives two.
    fn element(&mut self, no_relation: bool) -> PResult<Vec<Expr>> {
        self.nest(|p| {
            if p.eat(&Tok::PlusMinus) {
                let e = p.expr()?;
                return Ok(vec![as_unary_minus(e.clone()), e]);
            }
            let start = p.pos;
            if let Some(e) = p.attempt(|q| {
                let e = q.set_atom()?;
                if q.is_element_follow() {
                    Ok(e)
                } else {
                    nomatch("set atom followed by more input")
                }
            })? {
                return Ok(vec![e]);
            }
            p.pos = start;
            let e = if no_relation {
                p.expr()?
            } else {
                p.relation()?
            };
            if p.at(&Tok::PlusMinus) && !e.is_relation() {
                p.bump();
                let r = p.expr()?;
                let plus = Expr::Add(vec![e.clone(), r.clone()]);
                let minus = Expr::Add(vec![e, as_unary_minus(r)]);
                return Ok(vec![plus, minus]);
            }
            Ok(vec![e])
        })
    }

    // ----- sets ----------------------------------------------------------

    fn set_atom(&mut self) -> PResult<Expr> {
        self.nest(|p| {
            if p.has_top_level_comma() {
                if let Some(e) = p.attempt(|q| q.interval())? {
                    return Ok(e);
                }
            }
            match p.peek() {
                Some(Tok::SetLit(k)) => {
                    let k = *k;
                    p.bump();
                    return Ok(Expr::SetKind(match k {
                        SetLitKind::Naturals => SetKind::Naturals,
                        SetLitKind::Integers => SetKind::Integers,
                        SetLitKind::Rationals => SetKind::Rationals,
                        SetLitKind::Reals => SetKind::Reals,
                        SetLitKind::Complexes => SetKind::Complexes,
                        SetLitKind::Primes => SetKind::Primes,
                        SetLitKind::Empty => SetKind::Empty,
                    }));
                }
                Some(Tok::LBrace) if p.peek_at(1) == Some(&Tok::RBrace) => {
                    p.pos += 2;
                    return Ok(Expr::SetKind(SetKind::Empty));
                }
                _ => {}
            }
            // ordered tuple
            let close = match p.peek() {
                Some(Tok::LParen) => Some(Tok::RParen),
                Some(Tok::LParenV) => Some(Tok::RParenV),
                Some(Tok::LBracket) => Some(Tok::RBracket),
                _ => None,
            };
            if let Some(close) = close {
                if let Some(e) = p.attempt(|q| {
                    q.bump();
                    let elems = q.semicolon_elements(false)?;
                    q.expect(&close)?;
                    if elems.len() == 1 && elems[0].len() == 1 {
                        return Ok(elems.into_iter().flatten().next().unwrap_or(Expr::int(0)));
                    }
                    Ok(Expr::Tuple(elems.into_iter().flatten().collect()))
                })? {
                    return Ok(e);
                }
            }
            // finite set
            let (close, boxed) = match p.peek() {
                Some(Tok::LBrace) => (Tok::RBrace, false),
                Some(Tok::LBraceV) => (Tok::RBraceV, false),
                Some(Tok::Boxed) if p.peek_at(1) == Some(&Tok::LBrace) => (Tok::RBrace, true),
                _ => return nomatch("not a set"),
            };
            p.bump();
            if boxed {
                p.bump();
            }
            let elems = p.semicolon_elements(false)?;
            p.expect(&close)?;
            if boxed {
                return to_set_or_tuple(elems);
            }
            Ok(Expr::finite_set(elems.into_iter().flatten().collect()))
        })
    }

    fn interval(&mut self) -> PResult<Expr> {
        let left_open = match self.bump() {
            Some(Tok::LParen | Tok::LGroup | Tok::LParenV) => true,
            Some(Tok::LBracket | Tok::LBrack) => false,
            _ => return nomatch("not an interval"),
        };
        let lo = self.expr()?;
        self.expect(&Tok::Comma)?;
        let hi = self.expr()?;
        let right_open = match self.bump() {
            Some(Tok::RParen | Tok::RGroup | Tok::RParenV) => true,
            Some(Tok::RBracket | Tok::RBrack) => false,
            _ => return nomatch("not an interval"),
        };
        make_interval(lo, hi, left_open, right_open, self.limits)
    }

    /// `atom_expr (\in | \notin | =) set_relation`, or a set expression.
    fn set_relation(&mut self) -> PResult<Expr> {
        self.nest(|p| {
            if let Some(e) = p.attempt(|q| {
                let lhs = q.atom_expr_list()?;
                let op = q.bump();
                let rhs = q.set_relation()?;
                match op {
                    Some(Tok::In) | Some(Tok::Assign) => Ok(Expr::rel(Rel::Eq, lhs, rhs)),
                    Some(Tok::NotIn) => Ok(Expr::Not(Box::new(Expr::rel(Rel::Eq, lhs, rhs)))),
                    _ => nomatch("expected a set relation"),
                }
            })? {
                return Ok(e);
            }
            let e = p.minus_expr()?;
            if matches!(p.peek(), Some(Tok::Subset | Tok::Supset)) {
                return nomatch("subset relations are not supported");
            }
            Ok(e)
        })
    }

    fn minus_expr(&mut self) -> PResult<Expr> {
        self.nest(|p| {
            let mut lhs = p.union_expr()?;
            let mut k = 0;
            while p.eat(&Tok::SetMinus) {
                k += 1;
                p.wrap_ok(k)?;
                let rhs = p.union_expr()?;
                lhs = Expr::Complement(Box::new(lhs), Box::new(rhs));
            }
            Ok(lhs)
        })
    }

    fn union_expr(&mut self) -> PResult<Expr> {
        let mut parts = vec![tuple_to_set(self.intersection_expr()?)];
        while self.eat(&Tok::Union) {
            parts.push(tuple_to_set(self.intersection_expr()?));
            if parts.len() > self.limits.max_elems {
                return Err(PErr::Fatal("too many sets".into()));
            }
        }
        if parts.len() == 1 {
            // a single operand keeps its tuple form
            return Ok(parts.pop().unwrap_or(Expr::SetKind(SetKind::Empty)));
        }
        Ok(Expr::Union(parts))
    }

    fn intersection_expr(&mut self) -> PResult<Expr> {
        let first = self.set_group()?;
        if !self.at(&Tok::Intersection) {
            return Ok(first);
        }
        let mut parts = vec![tuple_to_set(first)];
        while self.eat(&Tok::Intersection) {
            parts.push(tuple_to_set(self.set_group()?));
            if parts.len() > self.limits.max_elems {
                return Err(PErr::Fatal("too many sets".into()));
            }
        }
        Ok(Expr::Intersection(parts))
    }

    fn set_group(&mut self) -> PResult<Expr> {
        self.nest(|p| {
            if p.at(&Tok::LParen) {
                if let Some(e) = p.attempt(|q| {
                    q.bump();
                    let e = q.minus_expr()?;
                    q.expect(&Tok::RParen)?;
                    Ok(e)
                })? {
                    return Ok(e);
                }
            }
            p.set_atom()
        })
    }

    // ----- relations and expressions ------------------------------------

    fn relation(&mut self) -> PResult<Expr> {
        self.nest(|p| {
            let mut lhs = p.expr()?;
            loop {
                let rel = match p.peek() {
                    Some(Tok::Lt) => Rel::Lt,
                    Some(Tok::Le) => Rel::Le,
                    Some(Tok::Gt) => Rel::Gt,
                    Some(Tok::Ge) => Rel::Ge,
                    Some(Tok::Assign | Tok::Equal) => Rel::Eq,
                    Some(Tok::Ne) => Rel::Ne,
                    Some(Tok::Approx) => {
                        p.bump();
                        let rhs = p.expr()?;
                        lhs = if lhs.is_only_symbols() { rhs } else { lhs };
                        continue;
                    }
                    Some(Tok::In) => return nomatch("\\in needs a set"),
                    _ => break,
                };
                p.bump();
                let rhs = p.expr()?;
                lhs = chain_relation(lhs, rel, rhs);
            }
            Ok(lhs)
        })
    }

    fn expr(&mut self) -> PResult<Expr> {
        self.nest(|p| p.additive())
    }

    fn additive(&mut self) -> PResult<Expr> {
        let mut lhs = self.mp(false)?;
        loop {
            let sub = match self.peek() {
                Some(Tok::Add) => false,
                Some(Tok::Sub) => true,
                _ => break,
            };
            self.bump();
            let rhs = self.mp(false)?;
            if is_matrix(&lhs) || is_matrix(&rhs) {
                let rhs = if sub {
                    mat_mul(Expr::int(-1), rhs)?
                } else {
                    rhs
                };
                lhs = mat_add(lhs, rhs)?;
                continue;
            }
            let rhs = if sub {
                if is_number(&rhs) {
                    rhs.neg()
                } else {
                    Expr::mul_flat(Expr::int(-1), rhs)
                }
            } else {
                rhs
            };
            lhs = Expr::add_flat(lhs, rhs);
            if let Expr::Add(v) = &lhs {
                if v.len() > self.limits.max_nodes {
                    return Err(PErr::Fatal("too many terms".into()));
                }
            }
        }
        Ok(lhs)
    }

    /// Products and quotients; `nofunc` is the argument of `\sin x y`.
    fn mp(&mut self, nofunc: bool) -> PResult<Expr> {
        self.nest(|p| {
            let mut lhs = p.unary(nofunc)?;
            let mut k = 0;
            loop {
                let op = match p.peek() {
                    Some(Tok::Mul) => 0,
                    Some(Tok::Div | Tok::Colon) => 1,
                    Some(Tok::Mod) => 2,
                    _ => break,
                };
                if op != 0 {
                    k += 1;
                    p.wrap_ok(k)?;
                }
                p.bump();
                let rhs = p.unary(nofunc)?;
                lhs = match op {
                    0 => {
                        if is_matrix(&lhs) || is_matrix(&rhs) {
                            mat_mul(lhs, rhs)?
                        } else {
                            Expr::mul_flat(lhs, rhs)
                        }
                    }
                    1 => divide(lhs, rhs)?,
                    _ => {
                        if is_matrix(&rhs) || is_matrix(&lhs) {
                            return nomatch("modulo with a matrix");
                        }
                        Expr::Func(Func::Mod, vec![lhs, rhs])
                    }
                };
            }
            Ok(lhs)
        })
    }

    fn unary(&mut self, nofunc: bool) -> PResult<Expr> {
        self.nest(|p| match p.peek() {
            Some(Tok::Add) => {
                p.bump();
                p.unary(nofunc)
            }
            Some(Tok::Sub) => {
                p.bump();
                let e = p.unary(nofunc)?;
                if is_matrix(&e) {
                    return mat_mul(Expr::int(-1), e);
                }
                Ok(e.neg())
            }
            _ => p.postfix_list(nofunc),
        })
    }

    /// Whether the next token can start a factor of an implicit product.
    fn starts_factor(&self, nofunc: bool) -> bool {
        match self.peek() {
            None => false,
            Some(t) => match t {
                Tok::Bar => self.abs_depth == 0,
                Tok::LParen
                | Tok::LBrace
                | Tok::LBracket
                | Tok::LBraceV
                | Tok::LBraceCmd
                | Tok::LBrack
                | Tok::LGroup
                | Tok::Phantom
                | Tok::Boxed
                | Tok::Norm
                | Tok::LVert
                | Tok::Vert
                | Tok::LAngle
                | Tok::LFloor
                | Tok::LLCorner
                | Tok::LCeil
                | Tok::ULCorner
                | Tok::Letter(_)
                | Tok::Greek(_)
                | Tok::OtherSym(_)
                | Tok::Accent(..)
                | Tok::Infty
                | Tok::Partial
                | Tok::Num(_)
                | Tok::PctNum(_)
                | Tok::ENum(_)
                | Tok::BigE
                | Tok::Differential(_)
                | Tok::Variable(..)
                | Tok::Frac
                | Tok::Binom
                | Tok::MatrixStart
                | Tok::DetStart => true,
                Tok::Func(name) => !nofunc || *name == "Gamma" || *name == "gamma",
                Tok::MultiFunc(_)
                | Tok::OperatorName
                | Tok::Int
                | Tok::Sqrt
                | Tok::Sum
                | Tok::Prod
                | Tok::Lim
                | Tok::ExpE => !nofunc,
                _ => false,
            },
        }
    }

    /// `postfix+` (or `postfix postfix_nofunc*`): an implicit product,
    /// folded from the right with the mixed-number rule (`2\frac{1}{2}`).
    fn postfix_list(&mut self, nofunc: bool) -> PResult<Expr> {
        let mut items = vec![self.postfix(false)?];
        while self.starts_factor(nofunc) {
            items.push(self.postfix(nofunc)?);
            if items.len() > self.limits.max_nodes {
                return Err(PErr::Fatal("too many factors".into()));
            }
        }
        let Some(last) = items.pop() else {
            return nomatch("empty product");
        };
        // the product folded so far, factors in reverse order (a single
        // factor is the value itself)
        let mut rev: Vec<Expr> = vec![last];
        while let Some(res) = items.pop() {
            if rev.len() == 1 && !is_matrix(&res) {
                let acc = rev.pop().unwrap_or(Expr::int(1));
                let new = fold_factor(res, acc)?;
                rev = match new {
                    Expr::Mul(v) => v.into_iter().rev().collect(),
                    other => vec![other],
                };
            } else if is_matrix(&res) || rev.iter().any(is_matrix) {
                let acc = if rev.len() == 1 {
                    rev.pop().unwrap_or(Expr::int(1))
                } else {
                    Expr::Mul(rev.drain(..).rev().collect())
                };
                rev = match mat_mul(res, acc)? {
                    Expr::Mul(v) => v.into_iter().rev().collect(),
                    other => vec![other],
                };
            } else {
                match res {
                    Expr::Mul(v) => rev.extend(v.into_iter().rev()),
                    other => rev.push(other),
                }
            }
        }
        if rev.len() == 1 {
            return Ok(rev.pop().unwrap_or(Expr::int(1)));
        }
        rev.reverse();
        Ok(Expr::Mul(rev))
    }

    fn postfix(&mut self, nofunc: bool) -> PResult<Expr> {
        self.nest(|p| {
            let mut e = p.exp(nofunc)?;
            let mut k = 0;
            loop {
                k += 1;
                p.wrap_ok(k)?;
                match p.peek() {
                    Some(Tok::Bang) => {
                        p.bump();
                        e = Expr::Func(Func::Factorial, vec![e]);
                    }
                    Some(Tok::Transpose) => {
                        p.bump();
                        if let Expr::Matrix(m) = &e {
                            let mut data = Vec::with_capacity(m.data.len());
                            for j in 0..m.cols {
                                for i in 0..m.rows {
                                    data.push(m.data[i * m.cols + j].clone());
                                }
                            }
                            e = Expr::Matrix(Box::new(Matrix {
                                rows: m.cols,
                                cols: m.rows,
                                data,
                            }));
                        }
                    }
                    Some(Tok::Degree) => {
                        p.bump();
                    }
                    Some(Tok::Bar)
                        if matches!(p.peek_at(1), Some(Tok::Caret | Tok::Underscore))
                            && p.peek_at(2) == Some(&Tok::LBrace) =>
                    {
                        return nomatch("evaluation bars are not supported");
                    }
                    _ => break,
                }
            }
            Ok(e)
        })
    }

    fn exp(&mut self, nofunc: bool) -> PResult<Expr> {
        let mut base = self.comp(nofunc)?;
        let mut k = 0;
        while self.at(&Tok::Caret) {
            k += 1;
            self.wrap_ok(k)?;
            self.bump();
            let ex = if self.eat(&Tok::LBrace) {
                let e = self.expr()?;
                self.expect(&Tok::RBrace)?;
                e
            } else {
                self.atom()?
            };
            if self.at(&Tok::Underscore) {
                self.subexpr_text()?;
            }
            base = Expr::pow(base, ex);
        }
        Ok(base)
    }

    fn group_close(open: &Tok) -> Option<Tok> {
        Some(match open {
            Tok::LParen => Tok::RParen,
            Tok::LGroup => Tok::RGroup,
            Tok::LBrace => Tok::RBrace,
            Tok::LBracket => Tok::RBracket,
            Tok::LBraceV => Tok::RBraceV,
            Tok::LBraceCmd => Tok::RBraceCmd,
            Tok::LBrack => Tok::RBrack,
            _ => return None,
        })
    }

    fn comp(&mut self, nofunc: bool) -> PResult<Expr> {
        self.nest(|p| {
            let Some(t) = p.peek().cloned() else {
                return nomatch("unexpected end of answer");
            };
            if let Some(close) = Self::group_close(&t) {
                p.bump();
                let saved_abs = p.abs_depth;
                p.abs_depth = 0;
                let e = p.expr()?;
                if t == Tok::LBrace && p.at(&Tok::Choose) {
                    p.bump();
                    let k = p.expr()?;
                    p.expect(&Tok::RBrace)?;
                    p.abs_depth = saved_abs;
                    return make_binomial(e, k, p.limits);
                }
                p.expect(&close)?;
                p.abs_depth = saved_abs;
                return Ok(e);
            }
            match t {
                Tok::Phantom | Tok::Boxed => {
                    p.bump();
                    p.expect(&Tok::LBrace)?;
                    let e = p.expr()?;
                    p.expect(&Tok::RBrace)?;
                    Ok(e)
                }
                Tok::Norm => nomatch("norms are not supported"),
                Tok::LAngle => nomatch("angle brackets are not supported"),
                Tok::Bar | Tok::LVert | Tok::Vert => {
                    let close = match t {
                        Tok::Bar => Tok::Bar,
                        Tok::LVert => Tok::RVert,
                        _ => Tok::Vert,
                    };
                    p.bump();
                    let saved = p.abs_depth;
                    if close == Tok::Bar || close == Tok::Vert {
                        p.abs_depth = 1;
                    } else {
                        p.abs_depth = 0;
                    }
                    let e = p.expr()?;
                    p.expect(&close)?;
                    p.abs_depth = saved;
                    Ok(Expr::Func(Func::Abs, vec![e]))
                }
                Tok::LFloor | Tok::LLCorner | Tok::LCeil | Tok::ULCorner => {
                    let (close, f) = match t {
                        Tok::LFloor => (Tok::RFloor, Func::Floor),
                        Tok::LLCorner => (Tok::LRCorner, Func::Floor),
                        Tok::LCeil => (Tok::RCeil, Func::Ceil),
                        _ => (Tok::URCorner, Func::Ceil),
                    };
                    p.bump();
                    let saved = p.abs_depth;
                    p.abs_depth = 0;
                    let e = p.expr()?;
                    p.expect(&close)?;
                    p.abs_depth = saved;
                    Ok(Expr::Func(f, vec![e]))
                }
                Tok::Frac => p.frac(),
                Tok::Binom => {
                    p.bump();
                    p.expect(&Tok::LBrace)?;
                    let n = p.expr()?;
                    p.expect(&Tok::RBrace)?;
                    p.expect(&Tok::LBrace)?;
                    let k = p.expr()?;
                    p.expect(&Tok::RBrace)?;
                    make_binomial(n, k, p.limits)
                }
                Tok::MatrixStart => {
                    p.bump();
                    let m = p.matrix_rows(&Tok::MatrixEnd)?;
                    Ok(Expr::Matrix(Box::new(m)))
                }
                Tok::DetStart => {
                    p.bump();
                    let m = p.matrix_rows(&Tok::DetEnd)?;
                    determinant(&m)
                }
                Tok::Letter(_) | Tok::Greek(_) | Tok::OtherSym(_) | Tok::Accent(..) if !nofunc => {
                    let may_call = matches!(
                        p.peek_at(1),
                        Some(
                            Tok::LParen
                                | Tok::LBracket
                                | Tok::LBrace
                                | Tok::Underscore
                                | Tok::Caret
                        )
                    );
                    if may_call {
                        if let Some(e) = p.attempt(|q| q.undefined_function())? {
                            return Ok(e);
                        }
                    }
                    p.atom()
                }
                Tok::Func(name) if !nofunc || name == "Gamma" || name == "gamma" => {
                    if name == "Gamma" || name == "gamma" {
                        if !nofunc {
                            if let Some(e) = p.attempt(|q| q.function())? {
                                return Ok(e);
                            }
                        }
                        return p.atom();
                    }
                    p.function()
                }
                Tok::MultiFunc(_) | Tok::OperatorName if !nofunc => p.function(),
                Tok::Sqrt if !nofunc => {
                    p.bump();
                    let root = if p.eat(&Tok::LBracket) {
                        let r = p.expr()?;
                        p.expect(&Tok::RBracket)?;
                        Some(r)
                    } else {
                        None
                    };
                    p.expect(&Tok::LBrace)?;
                    let base = p.expr()?;
                    p.expect(&Tok::RBrace)?;
                    let ex = match root {
                        None => Expr::rational(
                            Q::new(BigInt::from(1), BigInt::from(2)).unwrap_or_else(Q::one),
                        ),
                        Some(Expr::Int(n)) => int_ratio(&BigInt::from(1), &n),
                        Some(r) => Expr::pow(r, Expr::int(-1)),
                    };
                    Ok(Expr::pow(base, ex))
                }
                Tok::Sum | Tok::Prod if !nofunc => p.sum_or_prod(),
                Tok::Int | Tok::Lim if !nofunc => nomatch("integrals and limits are not supported"),
                Tok::ExpE if !nofunc => {
                    p.bump();
                    let arg = if p.at(&Tok::Caret) {
                        p.supexpr()?
                    } else {
                        Expr::int(1)
                    };
                    Ok(make_exp(arg))
                }
                _ => p.atom(),
            }
        })
    }

    fn matrix_rows(&mut self, end: &Tok) -> PResult<Matrix> {
        let mut rows: Vec<Vec<Expr>> = Vec::new();
        loop {
            let mut row = vec![self.expr()?];
            while self.eat(&Tok::Amp) {
                row.push(self.expr()?);
            }
            rows.push(row);
            if rows.iter().map(|r| r.len()).sum::<usize>() > self.limits.max_elems {
                return Err(PErr::Fatal("matrix too large".into()));
            }
            if self.eat(&Tok::RowSep) {
                if self.eat(end) {
                    break;
                }
                continue;
            }
            self.expect(end)?;
            break;
        }
        let cols = rows[0].len();
        if rows.iter().any(|r| r.len() != cols) {
            return nomatch("matrix rows of different lengths");
        }
        Ok(Matrix {
            rows: rows.len(),
            cols,
            data: rows.into_iter().flatten().collect(),
        })
    }

    fn frac(&mut self) -> PResult<Expr> {
        self.bump();
        self.expect(&Tok::LBrace)?;
        let top_start = self.pos;
        let top = self.expr()?;
        let top_end = self.pos;
        self.expect(&Tok::RBrace)?;
        self.expect(&Tok::LBrace)?;
        let bot_start = self.pos;
        let bot = self.expr()?;
        let bot_end = self.pos;
        self.expect(&Tok::RBrace)?;
        // d/dx and partial derivatives
        let bot_toks = &self.toks[bot_start..bot_end];
        let is_diff = bot_toks.len() == 1 && matches!(bot_toks[0].tok, Tok::Differential(_));
        let is_partial = bot_toks.len() == 2
            && bot_toks[0].tok == Tok::Partial
            && matches!(bot_toks[1].tok, Tok::Letter(_) | Tok::Infty | Tok::Partial);
        if is_diff || is_partial {
            let top_toks = &self.toks[top_start..top_end];
            let starts_d = matches!(
                top_toks.first().map(|t| &t.tok),
                Some(Tok::Letter('d') | Tok::Differential(_))
            );
            let starts_p = matches!(top_toks.first().map(|t| &t.tok), Some(Tok::Partial));
            if (is_diff && starts_d) || (is_partial && starts_p) {
                return nomatch("derivatives are not supported");
            }
        }
        if is_matrix(&top) || is_matrix(&bot) {
            return divide(top, bot);
        }
        if let (Expr::Int(a), Expr::Int(b)) = (&top, &bot) {
            return Ok(int_ratio(a, b));
        }
        Ok(Expr::Mul(vec![top, Expr::pow(bot, Expr::int(-1))]))
    }

    /// `\sum_{i=a}^{b} f` and `\prod`, expanded when the bounds are small
    /// integers.
    fn sum_or_prod(&mut self) -> PResult<Expr> {
        let is_sum = self.bump() == Some(Tok::Sum);
        let mut var = None;
        let mut start = None;
        let mut end = None;
        for _ in 0..2 {
            if self.eat(&Tok::Underscore) {
                self.expect(&Tok::LBrace)?;
                let v = self.expr()?;
                if !matches!(self.bump(), Some(Tok::Assign | Tok::Equal)) {
                    return nomatch("expected = in the sum bounds");
                }
                let s = self.expr()?;
                self.expect(&Tok::RBrace)?;
                var = Some(v);
                start = Some(s);
            } else if self.at(&Tok::Caret) {
                end = Some(self.supexpr()?);
            }
        }
        let (Some(Expr::Sym(var)), Some(start), Some(end)) = (var, start, end) else {
            return nomatch("sum needs bounds");
        };
        let body = self.mp(false)?;
        let name = if is_sum { "Sum" } else { "Product" };
        let unevaluated = |body: Expr, start: Expr, end: Expr| {
            Ok(Expr::Undef(
                name.to_string(),
                vec![body, Expr::Sym(var.clone()), start, end],
            ))
        };
        let (Some(a), Some(b)) = (exact(&start, 50), exact(&end, 50)) else {
            return unevaluated(body, start, end);
        };
        let (Some(a), Some(b)) = (a.to_i64(), b.to_i64()) else {
            return unevaluated(body, start, end);
        };
        if b < a {
            return Ok(Expr::int(if is_sum { 0 } else { 1 }));
        }
        if b - a > 1000 || (b - a + 1) as usize * body.size() > self.limits.max_nodes {
            return unevaluated(body, start, end);
        }
        let terms: Vec<Expr> = (a..=b)
            .map(|k| body.subs(&[(var.clone(), Expr::int(k))]))
            .collect();
        Ok(if is_sum {
            Expr::Add(terms)
        } else {
            Expr::Mul(terms)
        })
    }

    /// `\sin x`, `\log_2 8`, `\sin^2 x`, `\gcd(a, b)`, `\operatorname{..}`.
    fn function(&mut self) -> PResult<Expr> {
        let t = self.bump();
        let (name, multi): (String, bool) = match t {
            Some(Tok::Func(n)) => (n.to_string(), false),
            Some(Tok::MultiFunc(n)) => (n.to_string(), true),
            Some(Tok::OperatorName) => {
                self.expect(&Tok::LBrace)?;
                let w = match self.bump() {
                    Some(Tok::Word(w)) => w.to_string(),
                    _ => return nomatch("unknown operator name"),
                };
                self.expect(&Tok::RBrace)?;
                let multi = matches!(
                    w.as_str(),
                    "gcd"
                        | "lcm"
                        | "zeros"
                        | "orth"
                        | "ortho"
                        | "orthogonal"
                        | "orthogonalize"
                        | "ones"
                        | "diag"
                        | "hstack"
                        | "vstack"
                );
                (format!("operatorname:{w}"), multi)
            }
            _ => return nomatch("not a function"),
        };
        // sub- and superscripts in either order
        let mut sub: Option<Expr> = None;
        let mut sup: Option<Expr> = None;
        for _ in 0..2 {
            if self.at(&Tok::Underscore) && sub.is_none() {
                self.bump();
                sub = Some(if self.eat(&Tok::LBrace) {
                    let e = self.expr()?;
                    self.expect(&Tok::RBrace)?;
                    e
                } else {
                    self.atom()?
                });
            } else if self.at(&Tok::Caret) && sup.is_none() {
                sup = Some(self.supexpr()?);
            }
        }
        if multi {
            self.expect(&Tok::LParen)?;
            let mut args = vec![self.expr()?];
            while self.eat(&Tok::Comma) {
                args.push(self.expr()?);
                if args.len() > self.limits.max_elems {
                    return Err(PErr::Fatal("too many arguments".into()));
                }
            }
            self.expect(&Tok::RParen)?;
            let base = name.strip_prefix("operatorname:").unwrap_or(&name);
            let e = match base {
                "gcd" | "lcm" => {
                    let qs: Option<Vec<Q>> = args
                        .iter()
                        .map(|a| exact(a, self.limits.max_digits))
                        .collect();
                    let Some(qs) = qs else {
                        return nomatch("gcd of non-numbers");
                    };
                    let mut acc = qs[0].abs();
                    for q in &qs[1..] {
                        acc = if base == "gcd" {
                            gcd_q(&acc, q)
                        } else {
                            lcm_q(&acc, q)
                        };
                    }
                    if qs.len() == 1 {
                        return nomatch("gcd needs two numbers");
                    }
                    Expr::rational(acc)
                }
                "max" => Expr::Func(Func::Max, args),
                "min" => Expr::Func(Func::Min, args),
                _ => return nomatch("unsupported matrix operation"),
            };
            return Ok(match sup {
                Some(s) => Expr::pow(e, s),
                None => e,
            });
        }
        let arg = if self.at(&Tok::LParen) {
            self.bump();
            let saved = self.abs_depth;
            self.abs_depth = 0;
            let e = self.expr()?;
            self.expect(&Tok::RParen)?;
            self.abs_depth = saved;
            e
        } else {
            self.mp(true)?
        };
        let minus_one = matches!(&sup, Some(Expr::Int(n)) if *n == BigInt::from(-1));
        let f = match name.as_str() {
            "arcsin" => Func::Asin,
            "arccos" => Func::Acos,
            "arctan" => Func::Atan,
            "arccsc" => Func::Acsc,
            "arcsec" => Func::Asec,
            "arccot" => Func::Acot,
            "arsinh" | "arcsinh" | "operatorname:arsinh" | "operatorname:arcsinh" => Func::Asinh,
            "arcosh" | "arccosh" | "operatorname:arcosh" | "operatorname:arccosh" => Func::Acosh,
            "artanh" | "arctanh" | "operatorname:artanh" | "operatorname:arctanh" => Func::Atanh,
            "floor" | "operatorname:floor" => Func::Floor,
            "ceil" | "operatorname:ceil" => Func::Ceil,
            "log" | "ln" => {
                let base = match sub {
                    Some(b) => b,
                    None if name == "log" => Expr::int(10),
                    None => Expr::Const(Const::E),
                };
                let e = Expr::Func(Func::Log, vec![arg, base]);
                return Ok(match sup {
                    Some(s) => Expr::pow(e, s),
                    None => e,
                });
            }
            "exp" => Func::Exp,
            "det" => {
                let Expr::Matrix(m) = &arg else {
                    return nomatch("determinant of a non-matrix");
                };
                let d = determinant(m)?;
                return Ok(match sup {
                    Some(s) => Expr::pow(d, s),
                    None => d,
                });
            }
            "Gamma" | "gamma" => {
                let g = make_gamma(arg, self.limits);
                return Ok(match sup {
                    Some(s) => Expr::pow(g, s),
                    None => g,
                });
            }
            "sin" | "cos" | "tan" | "csc" | "sec" | "cot" | "sinh" | "cosh" | "tanh" => {
                let inv = minus_one;
                let f = match (name.as_str(), inv) {
                    ("sin", false) => Func::Sin,
                    ("sin", true) => Func::Asin,
                    ("cos", false) => Func::Cos,
                    ("cos", true) => Func::Acos,
                    ("tan", false) => Func::Tan,
                    ("tan", true) => Func::Atan,
                    ("csc", false) => Func::Csc,
                    ("csc", true) => Func::Acsc,
                    ("sec", false) => Func::Sec,
                    ("sec", true) => Func::Asec,
                    ("cot", false) => Func::Cot,
                    ("cot", true) => Func::Acot,
                    ("sinh", false) => Func::Sinh,
                    ("sinh", true) => Func::Asinh,
                    ("cosh", false) => Func::Cosh,
                    ("cosh", true) => Func::Acosh,
                    ("tanh", false) => Func::Tanh,
                    _ => Func::Atanh,
                };
                let e = Expr::Func(f, vec![arg]);
                if inv {
                    return Ok(e);
                }
                return Ok(match sup {
                    Some(s) => Expr::pow(e, s),
                    None => e,
                });
            }
            _ => return nomatch("unsupported function"),
        };
        let e = Expr::Func(f, vec![arg]);
        Ok(match sup {
            Some(s) => Expr::pow(e, s),
            None => e,
        })
    }

    /// `f(x)`, `g(1, 2)`, `f^2(x)`: a letter applied to arguments that are
    /// a single atom or a comma-separated list.
    fn undefined_function(&mut self) -> PResult<Expr> {
        let start = self.pos;
        match self.bump() {
            Some(Tok::Letter(_) | Tok::Greek(_) | Tok::OtherSym(_) | Tok::Accent(..)) => {}
            _ => return nomatch("not a function name"),
        }
        if self.at(&Tok::Underscore) {
            self.subexpr_text()?;
        }
        let name = self.text(start, self.pos);
        let sup = if self.at(&Tok::Caret) {
            Some(self.supexpr()?)
        } else {
            None
        };
        let (open, close, wrapped) = match (self.peek(), self.peek_at(1)) {
            (Some(Tok::LParen), _) => (Tok::LParen, Tok::RParen, false),
            (Some(Tok::LBracket), _) => (Tok::LBracket, Tok::RBracket, false),
            (Some(Tok::LBrace), Some(Tok::LParen)) => (Tok::LParen, Tok::RParen, true),
            (Some(Tok::LBrace), Some(Tok::LBracket)) => (Tok::LBracket, Tok::RBracket, true),
            _ => return nomatch("no argument list"),
        };
        if wrapped {
            self.bump();
        }
        let listed = self.has_top_level_comma();
        self.expect(&open)?;
        let saved = self.abs_depth;
        self.abs_depth = 0;
        // a single atom, or expressions separated by commas
        let args = if let Some(a) = self.attempt(|q| {
            let a = q.atom()?;
            if q.at(&close) {
                Ok(a)
            } else {
                nomatch("not a single atom")
            }
        })? {
            vec![a]
        } else if !listed {
            return nomatch("a single argument must be an atom");
        } else {
            let mut args = vec![self.expr()?];
            if !self.at(&Tok::Comma) {
                return nomatch("a single argument must be an atom");
            }
            while self.eat(&Tok::Comma) {
                if self.at(&close) {
                    break;
                }
                args.push(self.expr()?);
                if args.len() > self.limits.max_elems {
                    return Err(PErr::Fatal("too many arguments".into()));
                }
            }
            args
        };
        self.expect(&close)?;
        if wrapped {
            self.expect(&Tok::RBrace)?;
        }
        self.abs_depth = saved;
        let f = Expr::Undef(name, args);
        Ok(match sup {
            Some(s) => Expr::pow(f, s),
            None => f,
        })
    }

    fn supexpr(&mut self) -> PResult<Expr> {
        self.expect(&Tok::Caret)?;
        if self.eat(&Tok::LBrace) {
            let e = self.expr()?;
            self.expect(&Tok::RBrace)?;
            Ok(e)
        } else {
            self.atom()
        }
    }

    /// A subscript, returned as its source text (without whitespace).
    fn subexpr_text(&mut self) -> PResult<String> {
        self.expect(&Tok::Underscore)?;
        if self.eat(&Tok::LBrace) {
            let start = self.pos;
            self.expr()?;
            while self.eat(&Tok::Comma) {
                self.expr()?;
            }
            let end = self.pos;
            self.expect(&Tok::RBrace)?;
            Ok(self.text(start, end))
        } else {
            let start = self.pos;
            self.atom()?;
            Ok(self.text(start, self.pos))
        }
    }

    fn atom_expr_list(&mut self) -> PResult<Expr> {
        if self.eat(&Tok::LParen) {
            let mut items = vec![self.atom_expr()?];
            while self.eat(&Tok::Comma) {
                items.push(self.atom_expr()?);
                if items.len() > self.limits.max_elems {
                    return Err(PErr::Fatal("too many elements".into()));
                }
            }
            self.expect(&Tok::RParen)?;
            if items.len() == 1 {
                return Ok(items.pop().unwrap_or(Expr::int(0)));
            }
            return Ok(Expr::Tuple(items));
        }
        self.atom_expr()
    }

    /// A letter, Greek letter, symbol command or accent, with optional
    /// sub- and superscripts: a symbol or a power of one.
    fn atom_expr(&mut self) -> PResult<Expr> {
        self.nest(|p| {
            let t = p.bump();
            let (text, is_capital_i) = match &t {
                Some(Tok::Letter(c)) => (c.to_string(), *c == 'I'),
                Some(Tok::Greek(name)) => (format!("\\{name}"), false),
                Some(Tok::OtherSym(name)) => (format!("\\{name}"), false),
                Some(Tok::Accent(cmd, body)) => (accent_text(cmd, body), false),
                _ => return nomatch("expected a symbol"),
            };
            let mut sub = None;
            let mut sup = None;
            for _ in 0..2 {
                if p.at(&Tok::Underscore) && sub.is_none() {
                    sub = Some(p.subexpr_text()?);
                } else if p.at(&Tok::Caret) && sup.is_none() {
                    sup = Some(p.supexpr()?);
                }
            }
            if is_capital_i {
                return Ok(Expr::Const(Const::I));
            }
            let sub_text = match sub {
                Some(s) if s.chars().count() > 1 => format!("_{{{s}}}"),
                Some(s) => format!("_{s}"),
                None => String::new(),
            };
            let sym = match (&t, sub_text.is_empty()) {
                (Some(Tok::Letter(c)), true) => Expr::Sym(c.to_ascii_lowercase().to_string()),
                _ => symbol_for(&text, &sub_text, &t),
            };
            let sym = p.mark(sym);
            Ok(match sup {
                Some(s) => Expr::pow(sym, s),
                None => sym,
            })
        })
    }

    fn atom(&mut self) -> PResult<Expr> {
        match self.peek().cloned() {
            Some(Tok::Letter(_) | Tok::Greek(_) | Tok::OtherSym(_) | Tok::Accent(..)) => {
                self.atom_expr()
            }
            Some(Tok::Infty) => {
                self.bump();
                Ok(Expr::Const(Const::Inf))
            }
            Some(Tok::Partial) => nomatch("partial derivatives are not supported"),
            Some(Tok::Num(t)) => {
                self.bump();
                let e = number_expr(&t, self.limits)?;
                if self.at(&Tok::Underscore) {
                    self.subexpr_text()?;
                }
                Ok(e)
            }
            Some(Tok::PctNum(t)) => {
                self.bump();
                Ok(Expr::percent(number_expr(&t, self.limits)?))
            }
            Some(Tok::ENum(t)) => {
                self.bump();
                number_expr(&t, self.limits)
            }
            Some(Tok::BigE) => {
                self.bump();
                Ok(self.mark(Expr::sym("e")))
            }
            Some(Tok::Differential(v)) => {
                self.bump();
                Ok(self.mark(Expr::Sym(format!("d{v}"))))
            }
            Some(Tok::Variable(name, pct)) => {
                self.bump();
                let s = self.mark(Expr::Sym(name.to_lowercase()));
                Ok(if pct { Expr::percent(s) } else { s })
            }
            Some(Tok::Func(n)) if n == "Gamma" || n == "gamma" => {
                self.bump();
                Ok(Expr::Const(Const::EulerGamma))
            }
            _ => nomatch("expected a value"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(s: &str) -> String {
        match parse(s, &Limits::default()) {
            Ok(e) => e.to_string(),
            Err(m) => format!("error: {m}"),
        }
    }

    #[test]
    fn reads_like_latex2sympy() {
        assert_eq!(show("1,2"), "{1, 2}");
        assert_eq!(show("x=1,2"), "x = {1, 2}");
        assert_eq!(show("x \\in [1,2]"), "x = [1, 2]");
        assert_eq!(show("[2,1]"), "(2, 1)");
        assert_eq!(show("(1,2,3)"), "(1, 2, 3)");
        assert_eq!(show("1,2;3,4"), "{(1, 2), (3, 4)}");
        assert_eq!(show("\\pm 3"), "{-3, 3}");
        assert_eq!(show("2\\frac{1}{2}"), "5/2");
        assert_eq!(show("-2\\frac{1}{2}"), "-5/2");
        assert_eq!(show("2 3"), "5");
        assert_eq!(show("1,000,000"), "1000000");
        assert_eq!(show("\\text{(C)}"), "c");
        assert_eq!(show("Yes"), "y*E*s");
        assert_eq!(show("50\\%"), "50%");
        assert_eq!(show("\\sin^{-1} x"), "asin(x)");
        assert_eq!(show("\\sin x \\cdot y"), "sin(x*y)");
        assert_eq!(show("\\sin(x)y"), "sin(x)*y");
        assert_eq!(show("\\log 8"), "log(8, 10)");
        assert_eq!(show("f(x)=x^2"), "f(x) = x^2");
        assert_eq!(show("x(x+1)"), "x*(x + 1)");
        assert_eq!(show("[1,1]"), "{1}");
        assert_eq!(show("[2,2)"), "EmptySet");
        assert_eq!(show("(\\infty, 1)"), "(oo, 1)");
        assert_eq!(show("1<x<2"), "1 < x < 2");
        assert_eq!(show("x \\approx 3.14"), "3.14");
        assert_eq!(show("\\frac{1}{0}"), "zoo");
        assert_eq!(show("\\gcd(4,6)"), "2");
        assert_eq!(show("\\sum_{i=1}^{3} i"), "1 + 2 + 3");
        assert_eq!(show("\\det\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}"), "-2");
        assert_eq!(show("||x|-1|"), "||x| - 1|");
        assert_eq!(show("a=b=3"), "a = b = 3");
        assert!(show("tr").starts_with("error"));
        assert!(show("\\frac{d}{dx} x^2").starts_with("error"));
    }

    #[test]
    fn complex_looking_answers() {
        assert!(looks_complex("3 + 2 i"));
        assert!(looks_complex("i"));
        assert!(!looks_complex("3+2i"));
        assert!(looks_complex("z \\in \\mathbb{C}"));
        assert!(!looks_complex("\\sin x"));
    }

    #[test]
    fn hostile_inputs_fail_fast() {
        let inputs = [
            "(".repeat(10_000) + "1" + &")".repeat(10_000),
            "{".repeat(10_000) + "1" + &"}".repeat(10_000),
            "\\{".repeat(10_000),
            "[".repeat(10_000),
            "\\frac{".repeat(3_000) + "1" + &"}{2}".repeat(3_000),
            "\\sqrt{".repeat(5_000) + "2" + &"}".repeat(5_000),
            "2^".repeat(10_000) + "2",
            "x".to_string() + &"!".repeat(10_000),
            "1/".repeat(10_000) + "1",
            "-".repeat(10_000) + "1",
            "|".repeat(10_000),
            "f(".repeat(3_000) + "x" + &")".repeat(3_000),
            "(x+f(".repeat(2_000) + "x" + &"))".repeat(2_000),
            "1,".repeat(10_000) + "1",
            "((1,2),".repeat(2_000),
        ];
        for s in &inputs {
            let start = std::time::Instant::now();
            let _ = parse(s, &Limits::default());
            assert!(
                start.elapsed().as_millis() < 1000,
                "slow on {}...: {:?}",
                &s[..20],
                start.elapsed()
            );
        }
    }

    #[test]
    fn thousand_term_sum() {
        let s: Vec<String> = (1..=1000).map(|i| i.to_string()).collect();
        let e = parse(&s.join("+"), &Limits::default()).unwrap();
        assert_eq!(exact(&e, 100).unwrap().to_string(), "500500");
    }

    proptest::proptest! {
        #[test]
        fn parse_and_compare_never_panic(a in "[\\\\{}()\\[\\]0-9a-z,.=+*/^_|<>! %;-]{0,60}", b in "[\\\\{}()\\[\\]0-9xyz,.=+^_ -]{0,40}") {
            let l = Limits::default();
            let o = super::super::CompareOptions::default();
            if let (Ok(x), Ok(y)) = (parse(&a, &l), parse(&b, &l)) {
                let _ = super::super::compare::equivalent(&x, &y, &o);
                let _ = super::super::compare::equivalent(&y, &x, &o);
                let _ = x.to_string();
            }
        }

        #[test]
        fn commands_never_panic(parts in proptest::collection::vec(proptest::sample::select(vec![
            "\\frac", "\\sqrt", "{", "}", "(", ")", "[", "]", "\\{", "\\}", "x", "2", "0.5", "^", "_",
            "\\pi", "\\infty", "\\cup", "\\le", "=", ",", "\\pm", "\\text{a}", "\\begin{pmatrix}",
            "\\end{pmatrix}", "&", "\\\\", "!", "|", "-", "\\sin", "\\log", "e", "i", "I", "\\%", "\\in",
            "\\cdot", "\\binom", "10^{10}", "\\ln", "<", ">", "\\det", "\\mathbb{R}", "\\setminus",
        ]), 0..30)) {
            let s: String = parts.concat();
            let l = Limits::default();
            if let Ok(x) = parse(&s, &l) {
                let o = super::super::CompareOptions::default();
                let _ = super::super::compare::equivalent(&x, &x, &o);
                let _ = x.to_string();
            }
        }
    }
}
