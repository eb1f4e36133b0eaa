//! Tokens of the LaTeX answer grammar, split the way latex2sympy2_extended's
//! lexer splits them: longest match first, so `\pix` is `\pi` then `x`,
//! `dx` is one differential token and `2E3` is one number.

use std::rc::Rc;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// `12`, `1.5`, `.5`
    Num(Rc<str>),
    /// `2E3`, `1.5E-4`
    ENum(Rc<str>),
    /// `50\%`, `50 %`: the number text
    PctNum(Rc<str>),
    /// A letter other than `e`/`E`.
    Letter(char),
    /// `e` (the exponential) or `\exponentialE`.
    ExpE,
    /// A bare `E`.
    BigE,
    /// `dx`, `d\theta`: the variable name (case kept).
    Differential(Rc<str>),
    /// A Greek letter: its canonical name (`alpha`, `Pi`, ...).
    Greek(Rc<str>),
    /// Other symbol commands (`\angle`, `\ell`, ...): the name.
    OtherSym(Rc<str>),
    /// `\text{..}`, `\hat{..}`, ...: command name and raw content.
    Accent(Rc<str>, Rc<str>),
    Infty,
    Partial,
    /// `\variable{name}`, with a percent sign or not.
    Variable(Rc<str>, bool),
    SetLit(SetLitKind),
    Add,
    Sub,
    /// `*`, `\times`, `\cdot` and Unicode products.
    Mul,
    /// `/`, `\over`, `\div`, `÷`.
    Div,
    Colon,
    Mod,
    LParen,
    RParen,
    LParenV,
    RParenV,
    LGroup,
    RGroup,
    LBrace,
    RBrace,
    LBraceV,
    RBraceV,
    LBraceCmd,
    RBraceCmd,
    LBracket,
    RBracket,
    LBrack,
    RBrack,
    Bar,
    LVert,
    RVert,
    Vert,
    Norm,
    LAngle,
    RAngle,
    LFloor,
    RFloor,
    LLCorner,
    LRCorner,
    LCeil,
    RCeil,
    ULCorner,
    URCorner,
    /// `\sin`, `\log`, ... (name without backslash).
    Func(&'static str),
    /// `\gcd`, `\lcm`, `\max`, `\min`.
    MultiFunc(&'static str),
    /// Bare operator names (`gcd`, `floor`, `tr`, ...), valid only inside
    /// `\operatorname{..}`.
    Word(&'static str),
    Sqrt,
    Frac,
    Binom,
    Choose,
    Phantom,
    Boxed,
    OperatorName,
    Lim,
    Int,
    Sum,
    Prod,
    LimArrow,
    /// `\begin{matrix|pmatrix|bmatrix}` and arrays.
    MatrixStart,
    MatrixEnd,
    DetStart,
    DetEnd,
    Amp,
    RowSep,
    Underscore,
    Caret,
    Semicolon,
    Comma,
    Period,
    In,
    NotIn,
    Assign,
    Equal,
    Approx,
    Lt,
    Le,
    Gt,
    Ge,
    Ne,
    Bang,
    Union,
    Intersection,
    SetMinus,
    PlusMinus,
    Subset,
    Supset,
    /// `^T`, `^{T}`, `^{\top}`, `'`
    Transpose,
    /// `^\circ` and friends
    Degree,
    /// Tokens the grammar knows but no rule uses here (arrows, matrix
    /// type words, ...): they make the parse fail.
    Unused,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SetLitKind {
    Naturals,
    Integers,
    Rationals,
    Reals,
    Complexes,
    Primes,
    Empty,
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte span in the source.
    pub start: usize,
    pub end: usize,
}

const GREEK: &[(&str, &str)] = &[
    ("\\alpha", "alpha"),
    ("\\beta", "beta"),
    ("\\gamma", "gamma"),
    ("\\Gamma", "Gamma"),
    ("\\delta", "delta"),
    ("\\Delta", "Delta"),
    ("\\epsilon", "epsilon"),
    ("\\varepsilon", "varepsilon"),
    ("\\zeta", "zeta"),
    ("\\eta", "eta"),
    ("\\theta", "theta"),
    ("\\Theta", "Theta"),
    ("\\vartheta", "vartheta"),
    ("\\iota", "iota"),
    ("\\kappa", "kappa"),
    ("\\lambda", "lambda"),
    ("\\Lambda", "Lambda"),
    ("\\mu", "mu"),
    ("\\nu", "nu"),
    ("\\xi", "xi"),
    ("\\Xi", "Xi"),
    ("\\omicron", "omicron"),
    ("\\pi", "pi"),
    ("\\Pi", "Pi"),
    ("\\varpi", "varpi"),
    ("\\rho", "rho"),
    ("\\varrho", "varrho"),
    ("\\sigma", "sigma"),
    ("\\Sigma", "Sigma"),
    ("\\varsigma", "varsigma"),
    ("\\tau", "tau"),
    ("\\upsilon", "upsilon"),
    ("\\Upsilon", "Upsilon"),
    ("\\phi", "phi"),
    ("\\Phi", "Phi"),
    ("\\varphi", "varphi"),
    ("\\chi", "chi"),
    ("\\psi", "psi"),
    ("\\Psi", "Psi"),
    ("\\omega", "omega"),
    ("\\Omega", "Omega"),
    ("\\char\"000391", "alpha"),
    ("\\char000391", "alpha"),
    ("\\char\"000392", "beta"),
    ("\\char000392", "beta"),
    ("\\char\"000190", "epsilon"),
    ("\\char000190", "epsilon"),
    ("\\char\"000396", "zeta"),
    ("\\char000396", "zeta"),
    ("\\char\"000397", "eta"),
    ("\\char000397", "eta"),
    ("\\char\"000399", "iota"),
    ("\\char000399", "iota"),
    ("\\char\"00039A", "kappa"),
    ("\\char00039A", "kappa"),
    ("\\char\"00039C", "mu"),
    ("\\char00039C", "mu"),
    ("\\char\"00039D", "nu"),
    ("\\char00039D", "nu"),
    ("\\char\"00039F", "omicron"),
    ("\\char00039F", "omicron"),
    ("\\char\"0003A1", "rho"),
    ("\\char0003A1", "rho"),
    ("\\char\"0003A4", "tau"),
    ("\\char0003A4", "tau"),
    ("\\char\"0003A7", "chi"),
    ("\\char0003A7", "chi"),
];

const GREEK_UNICODE: &[(char, &str)] = &[
    ('α', "alpha"),
    ('β', "beta"),
    ('γ', "gamma"),
    ('Γ', "Gamma"),
    ('δ', "delta"),
    ('Δ', "Delta"),
    ('ε', "epsilon"),
    ('ϵ', "varepsilon"),
    ('ζ', "zeta"),
    ('η', "eta"),
    ('θ', "theta"),
    ('Θ', "Theta"),
    ('ϑ', "vartheta"),
    ('ι', "iota"),
    ('κ', "kappa"),
    ('λ', "lambda"),
    ('Λ', "Lambda"),
    ('μ', "mu"),
    ('ν', "nu"),
    ('ξ', "xi"),
    ('Ξ', "Xi"),
    ('ο', "omicron"),
    ('π', "pi"),
    ('Π', "Pi"),
    ('ϖ', "varpi"),
    ('ρ', "rho"),
    ('ϱ', "varrho"),
    ('σ', "sigma"),
    ('Σ', "Sigma"),
    ('ς', "varsigma"),
    ('τ', "tau"),
    ('υ', "upsilon"),
    ('Υ', "Upsilon"),
    ('φ', "phi"),
    ('Φ', "Phi"),
    ('ϕ', "varphi"),
    ('χ', "chi"),
    ('ψ', "psi"),
    ('Ψ', "Psi"),
    ('ω', "omega"),
    ('Ω', "Omega"),
];

const OTHER_SYMBOLS: &[&str] = &[
    "\\Bbbk",
    "\\wp",
    "\\nabla",
    "\\bigstar",
    "\\angle",
    "\\nexists",
    "\\diagdown",
    "\\measuredangle",
    "\\eth",
    "\\diagup",
    "\\sphericalangle",
    "\\clubsuit",
    "\\varnothing",
    "\\Diamond",
    "\\complement",
    "\\diamondsuit",
    "\\imath",
    "\\Finv",
    "\\triangledown",
    "\\heartsuit",
    "\\jmath",
    "\\Game",
    "\\triangle",
    "\\spadesuit",
    "\\ell",
    "\\hbar",
    "\\vartriangle",
    "\\hslash",
    "\\blacklozenge",
    "\\lozenge",
    "\\blacksquare",
    "\\mho",
    "\\blacktriangle",
    "\\sharp",
    "\\prime",
    "\\Im",
    "\\flat",
    "\\square",
    "\\backprime",
    "\\Re",
    "\\natural",
    "\\surd",
    "\\circledS",
];

const ACCENTS: &[&str] = &[
    "\\acute",
    "\\bar",
    "\\overline",
    "\\breve",
    "\\check",
    "\\widecheck",
    "\\dot",
    "\\ddot",
    "\\grave",
    "\\hat",
    "\\tilde",
    "\\widetilde",
    "\\vec",
    "\\overrightarrow",
    "\\bm",
    "\\boldsymbol",
    "\\text",
    "\\textit",
    "\\textbf",
    "\\textnormal",
    "\\mathbb",
    "\\mathbin",
    "\\mathbf",
    "\\mathcal",
    "\\mathclap",
    "\\mathclose",
    "\\mathellipsis",
    "\\mathfrak",
    "\\mathinner",
    "\\mathit",
    "\\mathnormal",
    "\\mathop",
    "\\mathopen",
    "\\mathord",
    "\\mathpunct",
    "\\mathrel",
    "\\mathring",
    "\\mathrlap",
    "\\mathrm",
    "\\mathscr",
    "\\mathsf",
    "\\mathsterling",
    "\\mathtt",
    "\\mbox",
];

/// Fixed command spellings and their tokens (checked by longest prefix).
fn fixed_commands() -> &'static [(&'static str, Tok)] {
    use Tok::*;
    const T: &[(&str, Tok)] = &[
        // skipped spacing is handled separately
        ("\\over", Div),
        ("\\div", Div),
        ("\\times", Mul),
        ("\\cdot", Mul),
        ("\\(", LParenV),
        ("\\)", RParenV),
        ("\\lgroup", LGroup),
        ("\\rgroup", RGroup),
        ("\\{", LBraceV),
        ("\\}", RBraceV),
        ("\\lbrace", LBraceCmd),
        ("\\rbrace", RBraceCmd),
        ("\\lbrack", LBrack),
        ("\\rbrack", RBrack),
        ("\\phantom", Phantom),
        ("\\boxed", Boxed),
        ("\\lvert", LVert),
        ("\\rvert", RVert),
        ("\\vert", Vert),
        ("\\|", Norm),
        ("\\langle", LAngle),
        ("\\rangle", RAngle),
        ("\\lfloor", LFloor),
        ("\\rfloor", RFloor),
        ("\\llcorner", LLCorner),
        ("\\lrcorner", LRCorner),
        ("\\lceil", LCeil),
        ("\\rceil", RCeil),
        ("\\ulcorner", ULCorner),
        ("\\urcorner", URCorner),
        ("\\lim", Lim),
        ("\\to", LimArrow),
        ("\\rightarrow", LimArrow),
        ("\\Rightarrow", LimArrow),
        ("\\longrightarrow", LimArrow),
        ("\\Longrightarrow", LimArrow),
        ("\\int", Int),
        ("\\sum", Sum),
        ("\\prod", Prod),
        ("\\log", Func("log")),
        ("\\ln", Func("ln")),
        ("\\exp", Func("exp")),
        ("\\sin", Func("sin")),
        ("\\cos", Func("cos")),
        ("\\tan", Func("tan")),
        ("\\csc", Func("csc")),
        ("\\sec", Func("sec")),
        ("\\cot", Func("cot")),
        ("\\Gamma", Func("Gamma")),
        ("\\gamma", Func("gamma")),
        ("\\arcsin", Func("arcsin")),
        ("\\arccos", Func("arccos")),
        ("\\arctan", Func("arctan")),
        ("\\arccsc", Func("arccsc")),
        ("\\arcsec", Func("arcsec")),
        ("\\arccot", Func("arccot")),
        ("\\sinh", Func("sinh")),
        ("\\cosh", Func("cosh")),
        ("\\tanh", Func("tanh")),
        ("\\arsinh", Func("arsinh")),
        ("\\arcosh", Func("arcosh")),
        ("\\artanh", Func("artanh")),
        ("\\arcsinh", Func("arcsinh")),
        ("\\arccosh", Func("arccosh")),
        ("\\arctanh", Func("arctanh")),
        ("\\floor", Func("floor")),
        ("\\ceil", Func("ceil")),
        ("\\det", Func("det")),
        ("\\sqrt", Sqrt),
        ("\\gcd", MultiFunc("gcd")),
        ("\\lcm", MultiFunc("lcm")),
        ("\\max", MultiFunc("max")),
        ("\\min", MultiFunc("min")),
        ("\\frac", Frac),
        ("\\dfrac", Frac),
        ("\\tfrac", Frac),
        ("\\cfrac", Frac),
        ("\\binom", Binom),
        ("\\tbinom", Binom),
        ("\\dbinom", Binom),
        ("\\choose", Choose),
        ("\\mod", Mod),
        ("\\mathit", Unused),
        ("\\operatorname", OperatorName),
        ("\\begin{matrix}", MatrixStart),
        ("\\begin{pmatrix}", MatrixStart),
        ("\\begin{bmatrix}", MatrixStart),
        ("\\end{matrix}", MatrixEnd),
        ("\\end{pmatrix}", MatrixEnd),
        ("\\end{bmatrix}", MatrixEnd),
        ("\\end{array}", MatrixEnd),
        ("\\begin{vmatrix}", DetStart),
        ("\\end{vmatrix}", DetEnd),
        ("\\\\", RowSep),
        ("\\xrightarrow", Unused),
        ("\\xRightarrow", Unused),
        ("\\leftrightarrow", Unused),
        ("\\Leftrightarrow", Unused),
        ("\\in", In),
        ("\\equiv", Equal),
        ("\\approx", Approx),
        ("\\lt", Lt),
        ("\\leq", Le),
        ("\\le", Le),
        ("\\leqslant", Le),
        ("\\gt", Gt),
        ("\\geq", Ge),
        ("\\ge", Ge),
        ("\\geqslant", Ge),
        ("\\ne", Ne),
        ("\\neq", Ne),
        ("\\not\\equiv", Ne),
        ("\\infty", Infty),
        ("\\partial", Partial),
        ("\\mathbb{N}", SetLit(SetLitKind::Naturals)),
        ("\\mathbb{Z}", SetLit(SetLitKind::Integers)),
        ("\\mathbb{Q}", SetLit(SetLitKind::Rationals)),
        ("\\mathbb{R}", SetLit(SetLitKind::Reals)),
        ("\\mathbb{C}", SetLit(SetLitKind::Complexes)),
        ("\\mathbb{P}", SetLit(SetLitKind::Primes)),
        ("\\cup", Union),
        ("\\cap", Intersection),
        ("\\setminus", SetMinus),
        ("\\pm", PlusMinus),
        ("\\mp", PlusMinus),
        ("\\emptyset", SetLit(SetLitKind::Empty)),
        ("\\{\\}", SetLit(SetLitKind::Empty)),
        ("\\lbrace\\rbrace", SetLit(SetLitKind::Empty)),
        ("\\supseteq", Supset),
        ("\\subseteq", Subset),
        ("\\notin", NotIn),
        ("\\exponentialE", ExpE),
    ];
    T
}

/// Commands skipped like whitespace.
const SKIPPED: &[&str] = &[
    "\\,",
    "\\thinspace",
    "\\:",
    "\\medspace",
    "\\;",
    "\\thickspace",
    "\\quad",
    "\\qquad",
    "\\!",
    "\\negthinspace",
    "\\negmedspace",
    "\\negthickspace",
    "\\$",
    "\\vrule",
    "\\vcenter",
    "\\vbox",
    "\\vskip",
    "\\vspace",
    "\\hfil",
];

/// Bare operator names and the matrix-type words.
const WORDS: &[&str] = &[
    "arsinh",
    "arcsinh",
    "arcosh",
    "arccosh",
    "artanh",
    "arctanh",
    "gcd",
    "lcm",
    "floor",
    "ceil",
    "eye",
    "zeros",
    "ones",
    "cols",
    "rows",
    "diag",
    "norm",
    "rank",
    "trace",
    "tr",
    "rref",
    "hstack",
    "vstack",
    "orth",
    "ortho",
    "orthogonal",
    "orthogonalize",
    "nullspace",
    "eig",
    "eigen",
    "diagonalize",
    "eigenvals",
    "eigenvalues",
    "eigenvects",
    "eigenvectors",
    "svd",
    "SVD",
    "matrix",
    "pmatrix",
    "bmatrix",
    "vmatrix",
];

/// Literal tokens of the parser rules (`^T`, `^\circ`, ...).
const LITERALS: &[(&str, Tok)] = &[
    ("^T", Tok::Transpose),
    ("^{T}", Tok::Transpose),
    ("^{\\top}", Tok::Transpose),
    ("'", Tok::Transpose),
    ("^\\circ", Tok::Degree),
    ("^\\degree", Tok::Degree),
    ("^\\circle", Tok::Degree),
    ("^°", Tok::Degree),
    ("^{\\circ}", Tok::Degree),
    ("^{\\degree}", Tok::Degree),
    ("^{\\circle}", Tok::Degree),
    ("^{°}", Tok::Degree),
];

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Splits `src` into tokens; `Err` on a character or command the grammar
/// does not know, or when more than `max_tokens` tokens would be made.
pub(crate) fn lex(src: &str, max_tokens: usize) -> Result<Vec<Token>, String> {
    let b = src.as_bytes();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0usize;
    while i < b.len() {
        if out.len() > max_tokens {
            return Err("answer has too many tokens".into());
        }
        let c = b[i];
        if is_ws(c) {
            i += 1;
            continue;
        }
        let rest = &src[i..];
        // candidates: (length, token); the longest wins, ties keep the first
        let mut best: Option<(usize, Tok)> = None;
        let offer = |len: usize, tok: Tok, best: &mut Option<(usize, Tok)>| {
            if len > 0 && best.as_ref().is_none_or(|(l, _)| len > *l) {
                *best = Some((len, tok));
            }
        };
        let mut skip_len = 0usize;
        if c == b'^' || c == b'\'' {
            for lit in LITERALS {
                if rest.starts_with(lit.0) {
                    offer(lit.0.len(), lit.1.clone(), &mut best);
                }
            }
        }
        if c == b'\\' {
            for s in SKIPPED {
                if rest.starts_with(s) && s.len() > skip_len {
                    skip_len = s.len();
                }
            }
            for (s, t) in fixed_commands() {
                if rest.starts_with(s) {
                    offer(s.len(), t.clone(), &mut best);
                }
            }
            for (s, name) in GREEK {
                if rest.starts_with(s) {
                    let mut len = s.len();
                    if rest.as_bytes().get(len) == Some(&b' ') {
                        len += 1;
                    }
                    offer(len, Tok::Greek((*name).into()), &mut best);
                }
            }
            for s in OTHER_SYMBOLS {
                if rest.starts_with(s) {
                    let mut len = s.len();
                    if rest.as_bytes().get(len) == Some(&b' ') {
                        len += 1;
                    }
                    offer(len, Tok::OtherSym(s[1..].into()), &mut best);
                }
            }
            for s in ACCENTS {
                if rest.starts_with(s) {
                    if let Some((len, content)) = accent_body(rest, s.len()) {
                        offer(len, Tok::Accent(s[1..].into(), content.into()), &mut best);
                    }
                }
            }
            // \begin{array}{ccc}
            if let Some(len) = array_start(rest) {
                offer(len, Tok::MatrixStart, &mut best);
            }
            // \variable{...}
            if let Some(tail) = rest.strip_prefix("\\variable{") {
                if let Some(close) = tail.find('}') {
                    let name = &tail[..close];
                    let mut len = "\\variable{".len() + close + 1;
                    let after = &rest[len..];
                    let pct = if after.starts_with("\\%") {
                        len += 2;
                        true
                    } else if after.starts_with('%') {
                        len += 1;
                        true
                    } else {
                        false
                    };
                    if !name.is_empty() {
                        offer(len, Tok::Variable(name.into(), pct), &mut best);
                    }
                }
            }
            // \infty\% / \infty%
            if rest.starts_with("\\infty\\%") {
                offer(8, Tok::Infty, &mut best);
            } else if rest.starts_with("\\infty%") {
                offer(7, Tok::Infty, &mut best);
            }
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let (len, tok) = number_token(rest);
            offer(len, tok, &mut best);
        }
        if c.is_ascii_alphabetic() {
            for w in WORDS {
                if w.as_bytes()[0] == c && rest.starts_with(w) {
                    offer(w.len(), Tok::Word(w), &mut best);
                }
            }
            if c == b'd' {
                if let Some(len) = differential(rest) {
                    let name = rest[1..len].trim_start_matches([' ', '\t', '\r', '\n']);
                    let name = name.strip_prefix('\\').unwrap_or(name);
                    offer(len, Tok::Differential(name.into()), &mut best);
                }
            }
            let t = match c {
                b'e' => Tok::ExpE,
                b'E' => Tok::BigE,
                _ => Tok::Letter(c as char),
            };
            offer(1, t, &mut best);
        }
        if best.is_none() && c < 0x80 {
            let t = match c {
                b'+' => Some((1, Tok::Add)),
                b'-' => Some((1, Tok::Sub)),
                b'*' => Some((1, Tok::Mul)),
                b'/' => Some((1, Tok::Div)),
                b'(' => Some((1, Tok::LParen)),
                b')' => Some((1, Tok::RParen)),
                b'{' => Some((1, Tok::LBrace)),
                b'}' => Some((1, Tok::RBrace)),
                b'[' => Some((1, Tok::LBracket)),
                b']' => Some((1, Tok::RBracket)),
                b'|' => Some((1, Tok::Bar)),
                b'&' => Some((1, Tok::Amp)),
                b'_' => Some((1, Tok::Underscore)),
                b'^' => Some((1, Tok::Caret)),
                b':' => Some((1, Tok::Colon)),
                b';' => Some((1, Tok::Semicolon)),
                b',' => Some((1, Tok::Comma)),
                b'.' => Some((1, Tok::Period)),
                b'=' => Some(if rest.starts_with("==") {
                    (2, Tok::Equal)
                } else {
                    (1, Tok::Assign)
                }),
                b'~' if rest.starts_with("~=") => Some((2, Tok::Approx)),
                b'<' => Some(if rest.starts_with("<->") || rest.starts_with("<=>") {
                    (3, Tok::Unused)
                } else if rest.starts_with("<=") {
                    (2, Tok::Le)
                } else {
                    (1, Tok::Lt)
                }),
                b'>' => Some(if rest.starts_with(">=") {
                    (2, Tok::Ge)
                } else {
                    (1, Tok::Gt)
                }),
                b'!' => Some(if rest.starts_with("!==") {
                    (3, Tok::Ne)
                } else if rest.starts_with("!=") {
                    (2, Tok::Ne)
                } else {
                    (1, Tok::Bang)
                }),
                _ => None,
            };
            if let Some((l, t)) = t {
                offer(l, t, &mut best);
            }
        }
        if best.is_none() && c >= 0x80 {
            let ch = rest.chars().next().unwrap_or('\u{0}');
            if let Some(t) = unicode_token(ch) {
                offer(ch.len_utf8(), t, &mut best);
            }
        }
        match best {
            Some((len, tok)) if len > skip_len => {
                out.push(Token {
                    tok,
                    start: i,
                    end: i + len,
                });
                i += len;
            }
            _ if skip_len > 0 => i += skip_len,
            _ => {
                let ch = rest.chars().next().unwrap_or('?');
                return Err(format!("unexpected character `{ch}`"));
            }
        }
    }
    Ok(out)
}

/// `\cmd{...}` with an optional single whitespace before the brace; the
/// body ends at the first `}` not written `\}`.
fn accent_body(rest: &str, cmd_len: usize) -> Option<(usize, String)> {
    let b = rest.as_bytes();
    let mut j = cmd_len;
    if b.get(j).is_some_and(|&c| is_ws(c)) {
        j += 1;
    }
    if b.get(j) != Some(&b'{') {
        return None;
    }
    let body_start = j + 1;
    let mut k = body_start;
    while k < b.len() {
        if b[k] == b'\\' && b.get(k + 1) == Some(&b'}') {
            k += 2;
            continue;
        }
        if b[k] == b'}' {
            return Some((k + 1, rest[body_start..k].to_string()));
        }
        k += 1;
    }
    None
}

fn array_start(rest: &str) -> Option<usize> {
    let tail = rest.strip_prefix("\\begin{array}{")?;
    let n = tail
        .bytes()
        .take_while(|c| matches!(c, b'c' | b'l' | b'r'))
        .count();
    if tail.as_bytes().get(n) == Some(&b'}') {
        Some("\\begin{array}{".len() + n + 1)
    } else {
        None
    }
}

/// `d` + optional whitespace + a letter or a command.
fn differential(rest: &str) -> Option<usize> {
    let b = rest.as_bytes();
    let mut j = 1;
    while j < b.len() && is_ws(b[j]) {
        j += 1;
    }
    if j < b.len() && b[j].is_ascii_alphabetic() {
        return Some(j + 1);
    }
    if j + 1 < b.len() && b[j] == b'\\' && b[j + 1].is_ascii_alphabetic() {
        let mut k = j + 1;
        while k < b.len() && b[k].is_ascii_alphabetic() {
            k += 1;
        }
        return Some(k);
    }
    None
}

/// NUMBER, E_NOTATION or PERCENT_NUMBER at the start of `rest`.
fn number_token(rest: &str) -> (usize, Tok) {
    let b = rest.as_bytes();
    let mut j = 0;
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    if j < b.len() && b[j] == b'.' && b.get(j + 1).is_some_and(|d| d.is_ascii_digit()) {
        j += 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
    }
    let num = &rest[..j];
    // E notation
    if b.get(j) == Some(&b'E') {
        let mut k = j + 1;
        if matches!(b.get(k), Some(b'+') | Some(b'-')) {
            k += 1;
        }
        let ds = k;
        while k < b.len() && b[k].is_ascii_digit() {
            k += 1;
        }
        if k > ds {
            return (k, Tok::ENum(rest[..k].into()));
        }
    }
    // percent
    let mut k = j;
    if b.get(k).is_some_and(|&c| is_ws(c)) {
        k += 1;
    }
    if rest[k..].starts_with("\\%") {
        return (k + 2, Tok::PctNum(num.into()));
    }
    if rest[k..].starts_with('%') {
        return (k + 1, Tok::PctNum(num.into()));
    }
    (j, Tok::Num(num.into()))
}

fn unicode_token(ch: char) -> Option<Tok> {
    if let Some((_, name)) = GREEK_UNICODE.iter().find(|(c, _)| *c == ch) {
        return Some(Tok::Greek((*name).into()));
    }
    Some(match ch {
        '∔' | '⊕' | '⊞' => Tok::Add,
        '−' | '∸' => Tok::Sub,
        '×' | '⋅' | '⋄' | '⊡' | '∗' | '⋆' | '∘' | '∙' | '⊗' | '⊠' | '⋈' | '⋉' | '⋊' => {
            Tok::Mul
        }
        '÷' | '∕' => Tok::Div,
        '≡' | '≣' | '≟' | '≎' | '≏' | '≐' | '≑' | '≒' | '≓' | '≔' | '≕' | '≖' | '≗' => {
            Tok::Assign
        }
        '≈' | '≊' | '≋' | '≃' | '≅' => Tok::Approx,
        '≪' | '≺' | '⋖' => Tok::Lt,
        '≤' | '≦' | '≲' | '≾' => Tok::Le,
        '≫' | '≻' | '⋗' => Tok::Gt,
        '≥' | '≧' | '≳' | '≿' => Tok::Ge,
        '≠' | '≁' | '≄' | '≇' | '≉' | '≢' => Tok::Ne,
        'ℕ' => Tok::SetLit(SetLitKind::Naturals),
        'ℤ' => Tok::SetLit(SetLitKind::Integers),
        'ℚ' => Tok::SetLit(SetLitKind::Rationals),
        'ℝ' => Tok::SetLit(SetLitKind::Reals),
        'ℂ' => Tok::SetLit(SetLitKind::Complexes),
        'ℙ' => Tok::SetLit(SetLitKind::Primes),
        '∪' => Tok::Union,
        '∩' => Tok::Intersection,
        '∖' => Tok::SetMinus,
        '±' | '∓' => Tok::PlusMinus,
        '∅' => Tok::SetLit(SetLitKind::Empty),
        '⊇' => Tok::Supset,
        '⊆' => Tok::Subset,
        '∉' => Tok::NotIn,
        'ℵ' | 'ℶ' | 'ℷ' | 'ℸ' => Tok::OtherSym(ch.to_string().into()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s, 10_000).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn longest_match() {
        assert_eq!(
            toks("\\pix"),
            vec![Tok::Greek("pi".into()), Tok::Letter('x')]
        );
        assert_eq!(toks("dx"), vec![Tok::Differential("x".into())]);
        assert_eq!(toks("2E3"), vec![Tok::ENum("2E3".into())]);
        assert_eq!(toks("50\\%"), vec![Tok::PctNum("50".into())]);
        assert_eq!(toks("x^T"), vec![Tok::Letter('x'), Tok::Transpose]);
        assert_eq!(toks("\\le 3"), vec![Tok::Le, Tok::Num("3".into())]);
        assert_eq!(toks("\\leq"), vec![Tok::Le]);
        assert_eq!(
            toks("\\text{(A) }"),
            vec![Tok::Accent("text".into(), "(A) ".into())]
        );
        assert_eq!(toks("\\,1\\;"), vec![Tok::Num("1".into())]);
        assert_eq!(toks("\\{\\}"), vec![Tok::SetLit(SetLitKind::Empty)]);
        assert_eq!(toks("\\mathbb{R}"), vec![Tok::SetLit(SetLitKind::Reals)]);
        assert_eq!(
            toks("2.5.3"),
            vec![Tok::Num("2.5".into()), Tok::Num(".3".into())]
        );
        assert!(lex("x @ y", 100).is_err());
        assert!(lex("\\foo", 100).is_err());
    }
}
