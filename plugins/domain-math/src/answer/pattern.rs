//! A small backtracking pattern matcher over `char` slices, with the
//! leftmost-first semantics of Python's `re` (ordered alternation, greedy
//! and lazy repetition, single-character look-arounds).
//!
//! Patterns are built in code from [`Node`]s and compiled once into a
//! program. Matching memoises the (instruction, position) states already
//! explored, so a search costs at most `program length x text length`
//! steps, and every search draws on a shared [`Budget`] so that hostile
//! text ends in "too complex" instead of a long wait.

/// One character test.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Class {
    /// Any character (Python's `.` with DOTALL).
    Any,
    /// Any character but `\n` (Python's `.`).
    NotNewline,
    Char(char),
    /// An ASCII letter, either case.
    CharCi(char),
    /// Python's `\s` (Unicode whitespace).
    Space,
    /// `\d` (ASCII digits; see the docs for the difference from Python).
    Digit,
    OneOf(&'static str),
    NoneOf(&'static str),
    Pred(fn(char) -> bool),
}

impl Class {
    pub(crate) fn matches(self, c: char) -> bool {
        match self {
            Class::Any => true,
            Class::NotNewline => c != '\n',
            Class::Char(x) => c == x,
            Class::CharCi(x) => c.eq_ignore_ascii_case(&x),
            Class::Space => is_space(c),
            Class::Digit => c.is_ascii_digit(),
            Class::OneOf(s) => s.contains(c),
            Class::NoneOf(s) => !s.contains(c),
            Class::Pred(f) => f(c),
        }
    }
}

/// Python's `str.isspace()` / `\s`.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `\w`.
pub(crate) fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A zero-width assertion.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Look {
    /// `^` (start of text).
    Start,
    /// `$` without MULTILINE: the end, or just before a final `\n`.
    End,
    /// `(?<!c)`: the previous character (if any) is not in the class.
    NotAfter(Class),
    /// `(?!c)`: the next character (if any) is not in the class.
    NotBefore(Class),
    /// `(?=c)`: a next character exists and is in the class.
    Before(Class),
    /// `(?!text)`.
    NotBeforeStr(&'static str),
    /// `(?!\s*=)`.
    NotBeforeSpacesEq,
    /// `\b`.
    WordBoundary,
}

impl Look {
    fn holds(self, text: &[char], pos: usize) -> bool {
        let n = text.len();
        match self {
            Look::Start => pos == 0,
            Look::End => pos == n || (pos + 1 == n && text[pos] == '\n'),
            Look::NotAfter(c) => pos == 0 || !c.matches(text[pos - 1]),
            Look::NotBefore(c) => pos >= n || !c.matches(text[pos]),
            Look::Before(c) => pos < n && c.matches(text[pos]),
            Look::NotBeforeStr(s) => {
                let mut want = s.chars();
                let found = want
                    .by_ref()
                    .zip(text.get(pos..).unwrap_or(&[]))
                    .all(|(a, b)| a == *b);
                !(found && want.next().is_none())
            }
            Look::NotBeforeSpacesEq => {
                let mut p = pos;
                while p < n && is_space(text[p]) {
                    p += 1;
                }
                !(p < n && text[p] == '=')
            }
            Look::WordBoundary => {
                let before = pos > 0 && is_word(text[pos - 1]);
                let after = pos < n && is_word(text[pos]);
                before != after
            }
        }
    }
}

/// A pattern, built in code.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    Class(Class),
    Lit(&'static str),
    /// A literal matched ASCII-case-insensitively (`(?i:...)`).
    LitCi(&'static str),
    Seq(Vec<Node>),
    Alt(Vec<Node>),
    Rep {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
        greedy: bool,
    },
    /// A capture group (index into the match's groups).
    Cap(usize, Box<Node>),
    Look(Look),
    /// `(?=...)` that only prunes: `lit` occurs at or after the position
    /// before the first position where `stop` holds. Put it where the rest
    /// of the pattern must reach `lit` through units that cannot cross a
    /// `stop` position, so it never removes a match; it saves walking a
    /// long span that cannot contain `lit`.
    Reaches(&'static str, StopFn),
    /// Python's greedy `.+c` (with DOTALL): at least one character, then
    /// everything through the last `c` of the text, in one step. It never
    /// gives characters back, so it is only exact where nothing after it
    /// can fail (the end of a pattern).
    ThroughLast(char),
}

/// Where a [`Node::Reaches`] scan gives up.
pub(crate) type StopFn = fn(&[char], usize) -> bool;

pub(crate) fn seq(nodes: Vec<Node>) -> Node {
    Node::Seq(nodes)
}
pub(crate) fn alt(nodes: Vec<Node>) -> Node {
    Node::Alt(nodes)
}
pub(crate) fn lit(s: &'static str) -> Node {
    Node::Lit(s)
}
pub(crate) fn ci(s: &'static str) -> Node {
    Node::LitCi(s)
}
pub(crate) fn ch(c: char) -> Node {
    Node::Class(Class::Char(c))
}
pub(crate) fn cls(c: Class) -> Node {
    Node::Class(c)
}
pub(crate) fn look(l: Look) -> Node {
    Node::Look(l)
}
pub(crate) fn reaches(lit: &'static str, stop: StopFn) -> Node {
    Node::Reaches(lit, stop)
}
pub(crate) fn cap(i: usize, n: Node) -> Node {
    Node::Cap(i, Box::new(n))
}
pub(crate) fn rep(n: Node, min: u32, max: Option<u32>, greedy: bool) -> Node {
    Node::Rep {
        node: Box::new(n),
        min,
        max,
        greedy,
    }
}
/// `n?`
pub(crate) fn opt(n: Node) -> Node {
    rep(n, 0, Some(1), true)
}
/// `n*`
pub(crate) fn star(n: Node) -> Node {
    rep(n, 0, None, true)
}
/// `n+`
pub(crate) fn plus(n: Node) -> Node {
    rep(n, 1, None, true)
}
/// `n*?`
pub(crate) fn star_lazy(n: Node) -> Node {
    rep(n, 0, None, false)
}
/// `n+?`
pub(crate) fn plus_lazy(n: Node) -> Node {
    rep(n, 1, None, false)
}

#[derive(Clone, Copy, Debug)]
enum Inst {
    Class(Class),
    /// Try the first target, then the second.
    Split(u32, u32),
    Jmp(u32),
    Save(u32),
    Look(Look),
    /// [`Node::Reaches`]; the index is its slot in the search's cache.
    Reaches(&'static str, StopFn, u32),
    /// [`Node::ThroughLast`].
    ThroughLast(char),
    /// `c{min,max}` of one class, greedy or lazy, in one step.
    Run {
        class: Class,
        min: u32,
        max: u32,
        greedy: bool,
    },
    Match,
}

/// A compiled pattern.
#[derive(Debug)]
pub(crate) struct Prog {
    insts: Vec<Inst>,
    groups: usize,
    /// What the first two characters of any match satisfy; `None` when a
    /// match may start anywhere.
    first: Option<Start>,
    /// For each instruction, its index among the memoised ones (the
    /// branch points: splits and what follows a run), or `NO_MEMO`.
    memo: Vec<u32>,
    memo_count: usize,
    /// For each split target, what its first two characters must satisfy
    /// (None: no constraint), to skip dead branches cheaply.
    split_first: Vec<Option<Start>>,
    /// The literal of each `Reaches` instruction, by slot.
    reach_lits: Vec<Vec<char>>,
    /// Literals every match contains (and whether ASCII case is
    /// ignored): no match starts after the last occurrence of any.
    required: Vec<(Vec<char>, bool)>,
}

/// Literals that every match of `node` contains.
fn required_literals(node: &Node) -> Vec<(Vec<char>, bool)> {
    match node {
        Node::Lit(s) => vec![(s.chars().collect(), false)],
        Node::LitCi(s) => vec![(s.chars().collect(), true)],
        Node::Cap(_, n) => required_literals(n),
        Node::Rep { node, min, .. } if *min >= 1 => required_literals(node),
        Node::Seq(nodes) => {
            let mut out: Vec<(Vec<char>, bool)> = Vec::new();
            for l in nodes.iter().flat_map(required_literals) {
                if !out.contains(&l) {
                    out.push(l);
                }
            }
            out
        }
        Node::Alt(nodes) => {
            let mut sets = nodes.iter().map(required_literals);
            let first = sets.next().unwrap_or_default();
            sets.fold(first, |acc, set| {
                acc.into_iter().filter(|l| set.contains(l)).collect()
            })
        }
        _ => Vec::new(),
    }
}

/// The last start of `lit` in `text`. The first character is tested
/// alone in a tight loop: this runs over the whole text for every pattern.
fn last_occurrence(text: &[char], lit: &[char], ci: bool) -> Option<usize> {
    let (&first, rest) = lit.split_first()?;
    if lit.len() > text.len() {
        return None;
    }
    let (lo, hi) = if ci {
        (first.to_ascii_lowercase(), first.to_ascii_uppercase())
    } else {
        (first, first)
    };
    let same = |a: &char, b: &char| {
        if ci {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    (0..=text.len() - lit.len()).rev().find(|&i| {
        let c = text[i];
        (c == lo || c == hi)
            && text[i + 1..i + lit.len()]
                .iter()
                .zip(rest)
                .all(|(a, b)| same(a, b))
    })
}

const NO_MEMO: u32 = u32::MAX;

impl Prog {
    /// Compiles `node`; `groups` is one more than the largest capture index.
    pub(crate) fn new(node: &Node, groups: usize) -> Prog {
        let mut insts = Vec::new();
        let mut joins = Vec::new();
        emit(node, &mut insts, &mut joins);
        insts.push(Inst::Match);
        let first = Start::of(&insts, 0).map(Start::indexed);
        let mut split_first = vec![None; insts.len()];
        for inst in &insts {
            if let Inst::Split(a, b) = *inst {
                for t in [a as usize, b as usize] {
                    if split_first[t].is_none() {
                        split_first[t] = Some(Start::of(&insts, t));
                    }
                }
            }
        }
        let reach_lits = insts
            .iter()
            .filter_map(|i| match i {
                Inst::Reaches(lit, ..) => Some(lit.chars().collect()),
                _ => None,
            })
            .collect();
        let split_first = split_first.into_iter().map(Option::flatten).collect();
        // Memoise where paths meet (ends of alternatives and optional
        // parts, loop heads, after runs): a second arrival there at the same
        // position can only repeat work.
        let mut memo = vec![NO_MEMO; insts.len()];
        let mut memo_count = 0;
        joins.sort_unstable();
        joins.dedup();
        for pc in joins {
            if pc < insts.len() {
                memo[pc] = memo_count as u32;
                memo_count += 1;
            }
        }
        Prog {
            insts,
            groups,
            first,
            memo,
            memo_count,
            split_first,
            reach_lits,
            required: required_literals(node),
        }
    }

    /// Whether the branch at `pc` can consume the character at `pos`.
    fn branch_viable(&self, pc: u32, text: &[char], pos: usize) -> bool {
        match self.split_first.get(pc as usize) {
            Some(first) => viable(first, text, pos),
            None => true,
        }
    }
}

fn viable(first: &Option<Start>, text: &[char], pos: usize) -> bool {
    match first {
        None => true,
        Some(start) => start.allows(text, pos),
    }
}

/// What the first two characters of a match must satisfy: the first is
/// in `first`; when `pairs` is known, some pair holds of the first two
/// characters. Pairs tell apart the many alternatives that begin with
/// optional spaces or a common character (`\\s*and`, `\\s*{`, ` sqrt`, ...).
#[derive(Clone, Debug)]
struct Start {
    first: FirstSet,
    /// Union of the pairs' second sets: a quick test before the pairs.
    second: Option<FirstSet>,
    pairs: Option<Vec<(FirstSet, FirstSet)>>,
    /// For a whole pattern's start, scanned at every position: for each
    /// ASCII first character, the ASCII second characters the pairs allow.
    ascii_pairs: Option<Box<[[u64; 2]; 128]>>,
    /// When the first character is one of at most four known characters,
    /// those (repeated to fill): scanned for in blocks the compiler can
    /// vectorise.
    few_firsts: Option<[char; 4]>,
}

impl Start {
    fn of(insts: &[Inst], from: usize) -> Option<Start> {
        let consumers = first_consumers(insts, from)?;
        let mut first = Vec::new();
        let mut pairs = Some(Vec::new());
        let mut seconds = Vec::new();
        for pc in consumers {
            let (class, after) = match insts[pc] {
                Inst::Class(c) => (c, first_consumers(insts, pc + 1)),
                Inst::Run {
                    class, min, max, ..
                } => {
                    let mut next = if min <= 1 {
                        first_consumers(insts, pc + 1)
                    } else {
                        Some(Vec::new())
                    };
                    if max >= 2 {
                        // The run may go on: its class may come second.
                        if let Some(n) = &mut next {
                            n.push(pc);
                        }
                    }
                    (class, next)
                }
                _ => return None,
            };
            first.push(class);
            pairs = match (pairs, after) {
                (Some(mut ps), Some(after)) => {
                    let second: Vec<Class> =
                        after.iter().map(|&q| consumer_class(insts, q)).collect();
                    seconds.extend(second.iter().copied());
                    ps.push((FirstSet::new(vec![class]), FirstSet::new(second)));
                    Some(ps)
                }
                _ => None,
            };
        }
        Some(Start {
            first: FirstSet::new(first),
            second: pairs.as_ref().map(|_| FirstSet::new(seconds)),
            pairs,
            ascii_pairs: None,
            few_firsts: None,
        })
    }

    /// Adds the ASCII pair table (worth its 2 kB where every position of
    /// a text is tested).
    fn indexed(mut self) -> Start {
        if let Some(pairs) = &self.pairs {
            let mut table = Box::new([[0u64; 2]; 128]);
            for (a, b) in pairs {
                for (c0, row) in table.iter_mut().enumerate() {
                    if a.matches(c0 as u8 as char) {
                        row[0] |= b.ascii[0];
                        row[1] |= b.ascii[1];
                    }
                }
            }
            self.ascii_pairs = Some(table);
        }
        let mut few = Vec::new();
        for class in &self.first.classes {
            match *class {
                Class::Char(c) => few.push(c),
                Class::CharCi(c) => few.extend([c.to_ascii_lowercase(), c.to_ascii_uppercase()]),
                _ => return self,
            }
        }
        few.sort_unstable();
        few.dedup();
        if let (Some(&k), 1..=4) = (few.first(), few.len()) {
            let mut ks = [k; 4];
            ks[..few.len()].copy_from_slice(&few);
            self.few_firsts = Some(ks);
        }
        self
    }

    /// The first position in `text[from..]` whose character may start a
    /// match (by the first character alone).
    #[inline]
    fn scan(&self, text: &[char], from: usize) -> Option<usize> {
        let Some([a, b, c, d]) = self.few_firsts else {
            return text[from..]
                .iter()
                .position(|&x| self.first.matches(x))
                .map(|i| from + i);
        };
        const BLOCK: usize = 32;
        let hit = |x: char| x == a || x == b || x == c || x == d;
        let mut p = from;
        while p + BLOCK <= text.len() {
            let block = &text[p..p + BLOCK];
            // No early exit inside a block, so this compiles to SIMD.
            if block.iter().fold(false, |acc, &x| acc | hit(x)) {
                return block.iter().position(|&x| hit(x)).map(|i| p + i);
            }
            p += BLOCK;
        }
        text[p..].iter().position(|&x| hit(x)).map(|i| p + i)
    }

    #[inline]
    fn allows(&self, text: &[char], pos: usize) -> bool {
        pos < text.len() && self.first.matches(text[pos]) && self.second_allows(text, pos)
    }

    /// The test of the second character, the first being in `first`.
    fn second_allows(&self, text: &[char], pos: usize) -> bool {
        if let (Some(table), Some(&c1)) = (&self.ascii_pairs, text.get(pos + 1)) {
            let (c0, c1) = (text[pos] as u32, c1 as u32);
            if c0 < 128 && c1 < 128 {
                return table[c0 as usize][(c1 / 64) as usize] & (1 << (c1 % 64)) != 0;
            }
        }
        self.pairs.as_ref().is_none_or(|ps| {
            pos + 1 < text.len()
                && self
                    .second
                    .as_ref()
                    .is_none_or(|s| s.matches(text[pos + 1]))
                && ps
                    .iter()
                    .any(|(a, b)| a.matches(text[pos]) && b.matches(text[pos + 1]))
        })
    }
}

fn consumer_class(insts: &[Inst], pc: usize) -> Class {
    match insts[pc] {
        Inst::Class(c) | Inst::Run { class: c, .. } => c,
        _ => Class::Any,
    }
}

/// A set of possible first characters: a bitmap for ASCII, the classes
/// themselves for the rest.
#[derive(Clone, Debug)]
struct FirstSet {
    ascii: [u64; 2],
    classes: Vec<Class>,
}

impl FirstSet {
    fn new(classes: Vec<Class>) -> Self {
        let mut ascii = [0u64; 2];
        for b in 0u8..128 {
            if classes.iter().any(|c| c.matches(b as char)) {
                ascii[(b / 64) as usize] |= 1 << (b % 64);
            }
        }
        FirstSet { ascii, classes }
    }

    #[inline]
    fn matches(&self, c: char) -> bool {
        let u = c as u32;
        if u < 128 {
            self.ascii[(u / 64) as usize] & (1 << (u % 64)) != 0
        } else {
            self.classes.iter().any(|k| k.matches(c))
        }
    }
}

fn emit(node: &Node, out: &mut Vec<Inst>, joins: &mut Vec<usize>) {
    match node {
        Node::Class(c) => out.push(Inst::Class(*c)),
        Node::Lit(s) => out.extend(s.chars().map(|c| Inst::Class(Class::Char(c)))),
        Node::LitCi(s) => out.extend(s.chars().map(|c| Inst::Class(Class::CharCi(c)))),
        Node::Seq(nodes) => nodes.iter().for_each(|n| emit(n, out, joins)),
        Node::Alt(nodes) => {
            let mut jumps = Vec::new();
            for (i, n) in nodes.iter().enumerate() {
                if i + 1 < nodes.len() {
                    let split = out.len();
                    out.push(Inst::Split(0, 0));
                    emit(n, out, joins);
                    jumps.push(out.len());
                    out.push(Inst::Jmp(0));
                    let next = out.len() as u32;
                    out[split] = Inst::Split(split as u32 + 1, next);
                } else {
                    emit(n, out, joins);
                }
            }
            let end = out.len() as u32;
            if !jumps.is_empty() {
                joins.push(end as usize);
            }
            for j in jumps {
                out[j] = Inst::Jmp(end);
            }
        }
        Node::Cap(i, n) => {
            out.push(Inst::Save(2 * *i as u32));
            emit(n, out, joins);
            out.push(Inst::Save(2 * *i as u32 + 1));
        }
        Node::Look(l) => out.push(Inst::Look(*l)),
        Node::Reaches(lit, stop) => {
            let slot = out
                .iter()
                .filter(|i| matches!(i, Inst::Reaches(..)))
                .count() as u32;
            out.push(Inst::Reaches(lit, *stop, slot));
        }
        Node::ThroughLast(c) => out.push(Inst::ThroughLast(*c)),
        Node::Rep {
            node,
            min,
            max: Some(max),
            greedy,
        } if matches!(**node, Node::Class(_)) && max > min => {
            if let Node::Class(class) = **node {
                out.push(Inst::Run {
                    class,
                    min: *min,
                    max: *max,
                    greedy: *greedy,
                });
                joins.push(out.len());
            }
        }
        Node::Rep {
            node,
            min,
            max,
            greedy,
        } => {
            for _ in 0..*min {
                emit(node, out, joins);
            }
            match max {
                Some(max) => {
                    // Nested optional copies: skipping one skips the rest,
                    // so counts are tried in order (most first when greedy).
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(out.len());
                        out.push(Inst::Split(0, 0));
                        emit(node, out, joins);
                    }
                    let end = out.len() as u32;
                    if !splits.is_empty() {
                        joins.push(end as usize);
                    }
                    for s in splits {
                        let body = s as u32 + 1;
                        out[s] = if *greedy {
                            Inst::Split(body, end)
                        } else {
                            Inst::Split(end, body)
                        };
                    }
                }
                None => {
                    let split = out.len();
                    joins.push(split);
                    out.push(Inst::Split(0, 0));
                    emit(node, out, joins);
                    out.push(Inst::Jmp(split as u32));
                    let end = out.len() as u32;
                    let body = split as u32 + 1;
                    out[split] = if *greedy {
                        Inst::Split(body, end)
                    } else {
                        Inst::Split(end, body)
                    };
                }
            }
        }
    }
}

/// The classes that can consume the first character of a match, or None
/// when a match could be empty (then any position may start one).
fn first_consumers(insts: &[Inst], from: usize) -> Option<Vec<usize>> {
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![from];
    let mut out = Vec::new();
    while let Some(pc) = stack.pop() {
        if pc >= insts.len() || !seen.insert(pc) {
            continue;
        }
        match insts[pc] {
            Inst::Class(_) => out.push(pc),
            Inst::Run { min, .. } => {
                out.push(pc);
                if min == 0 {
                    stack.push(pc + 1);
                }
            }
            Inst::Split(a, b) => {
                stack.push(a as usize);
                stack.push(b as usize);
            }
            Inst::Jmp(a) => stack.push(a as usize),
            Inst::Save(_) | Inst::Look(_) | Inst::Reaches(..) => stack.push(pc + 1),
            // Consumes an unknown amount: no constraint.
            Inst::ThroughLast(_) | Inst::Match => return None,
        }
    }
    Some(out)
}

/// A step allowance shared by all searches of one call.
#[derive(Debug)]
pub(crate) struct Budget {
    left: u64,
}

impl Budget {
    pub(crate) fn new(steps: u64) -> Self {
        Budget { left: steps }
    }
    #[cfg(test)]
    pub(crate) fn exhausted(&self) -> bool {
        self.left == 0
    }
    fn take(&mut self) -> bool {
        if self.left == 0 {
            false
        } else {
            self.left -= 1;
            true
        }
    }
}

/// A match: its span and its groups (char positions).
#[derive(Clone, Debug)]
pub(crate) struct Match {
    pub start: usize,
    pub end: usize,
    slots: Vec<Option<usize>>,
}

impl Match {
    /// The span of group `i`, when it took part in the match.
    pub(crate) fn group(&self, i: usize) -> Option<(usize, usize)> {
        match (self.slots.get(2 * i), self.slots.get(2 * i + 1)) {
            (Some(Some(a)), Some(Some(b))) if a <= b => Some((*a, *b)),
            _ => None,
        }
    }
}

/// The (branch point, position) states already explored: one bitmap row
/// per branch point, allocated (zeroed) on first use. A search over a long
/// text touches few of a large pattern's branch points, so memory and
/// zeroing follow the branch points used, not all of them.
struct Visited {
    /// Words per row.
    width: usize,
    rows: Vec<Vec<u64>>,
}

impl Visited {
    fn new(memo_count: usize, positions: usize) -> Self {
        Visited {
            width: positions.div_ceil(64),
            rows: vec![Vec::new(); memo_count],
        }
    }

    fn word(&mut self, memo: u32, pos: usize) -> Option<&mut u64> {
        let row = self.rows.get_mut(memo as usize)?;
        if row.is_empty() {
            *row = vec![0; self.width];
        }
        row.get_mut(pos / 64)
    }

    /// Marks a state; false when it was already marked.
    fn insert(&mut self, memo: u32, pos: usize) -> bool {
        let bit = 1u64 << (pos % 64);
        match self.word(memo, pos) {
            Some(word) if *word & bit == 0 => {
                *word |= bit;
                true
            }
            Some(_) => false,
            None => true,
        }
    }

    fn remove(&mut self, memo: u32, pos: usize) {
        if let Some(word) = self.word(memo, pos) {
            *word &= !(1u64 << (pos % 64));
        }
    }
}

enum Job {
    Try(u32, usize),
    Restore(usize, Option<usize>),
}

struct Search<'a> {
    prog: &'a Prog,
    text: &'a [char],
    visited: Visited,
    stack: Vec<Job>,
    /// Branch states first visited by the current attempt.
    fresh: Vec<(u32, usize)>,
    slots: Vec<Option<usize>>,
    /// Some slot may be set.
    dirty: bool,
    /// Per `Reaches` instruction, its last scan: from, where it ended, and
    /// the answer, which holds for every position in between.
    reach_cache: Vec<Option<(usize, usize, bool)>>,
    /// Per character asked for by `ThroughLast`, its last position.
    last_of: Vec<(char, Option<usize>)>,
}

impl Search<'_> {
    fn reaches(&mut self, lit: &[char], stop: StopFn, slot: usize, pos: usize) -> bool {
        if let Some((from, end, answer)) = self.reach_cache[slot] {
            if from <= pos && pos <= end {
                return answer;
            }
        }
        let text = self.text;
        let mut p = pos;
        let answer = loop {
            if p >= text.len() {
                break false;
            }
            if text[p] == lit[0] && text[p..].starts_with(lit) {
                break true;
            }
            if stop(text, p) {
                break false;
            }
            p += 1;
        };
        self.reach_cache[slot] = Some((pos, p, answer));
        answer
    }

    fn last_of(&mut self, c: char) -> Option<usize> {
        if let Some(&(_, at)) = self.last_of.iter().find(|(k, _)| *k == c) {
            return at;
        }
        let at = self.text.iter().rposition(|&x| x == c);
        self.last_of.push((c, at));
        at
    }
}

impl Search<'_> {
    /// The first match starting at `start`, in Python's preference order.
    /// Err when the budget ran out.
    fn at(&mut self, start: usize, budget: &mut Budget) -> Result<Option<Match>, ()> {
        if self.dirty {
            self.slots.iter_mut().for_each(|s| *s = None);
            self.dirty = false;
        }
        self.stack.clear();
        self.fresh.clear();
        self.stack.push(Job::Try(0, start));
        let n = self.text.len();
        let insts = &self.prog.insts;
        while let Some(job) = self.stack.pop() {
            let (mut pc, mut pos) = match job {
                Job::Restore(slot, old) => {
                    self.slots[slot] = old;
                    continue;
                }
                Job::Try(pc, pos) => (pc, pos),
            };
            loop {
                if !budget.take() {
                    return Err(());
                }
                let memo = self.prog.memo[pc as usize];
                if memo != NO_MEMO {
                    if !self.visited.insert(memo, pos) {
                        break;
                    }
                    self.fresh.push((memo, pos));
                }
                match insts[pc as usize] {
                    Inst::Class(c) => {
                        if pos < n && c.matches(self.text[pos]) {
                            pc += 1;
                            pos += 1;
                        } else {
                            break;
                        }
                    }
                    Inst::Run {
                        class,
                        min,
                        max,
                        greedy,
                    } => {
                        let (min, max) = (min as usize, max as usize);
                        let mut k = 0;
                        while k < max && pos + k < n && class.matches(self.text[pos + k]) {
                            k += 1;
                        }
                        if k < min {
                            break;
                        }
                        // Alternatives pushed least preferred first.
                        let next = pc + 1;
                        if greedy {
                            for c in min..k {
                                self.stack.push(Job::Try(next, pos + c));
                            }
                            pos += k;
                        } else {
                            for c in (min + 1..=k).rev() {
                                self.stack.push(Job::Try(next, pos + c));
                            }
                            pos += min;
                        }
                        pc = next;
                    }
                    Inst::Split(a, b) => {
                        let take_b = self.prog.branch_viable(b, self.text, pos);
                        if self.prog.branch_viable(a, self.text, pos) {
                            if take_b {
                                self.stack.push(Job::Try(b, pos));
                            }
                            pc = a;
                        } else if take_b {
                            pc = b;
                        } else {
                            break;
                        }
                    }
                    Inst::Jmp(a) => pc = a,
                    Inst::Save(s) => {
                        let s = s as usize;
                        self.stack.push(Job::Restore(s, self.slots[s]));
                        self.slots[s] = Some(pos);
                        self.dirty = true;
                        pc += 1;
                    }
                    Inst::Look(l) => {
                        if l.holds(self.text, pos) {
                            pc += 1;
                        } else {
                            break;
                        }
                    }
                    Inst::Reaches(_, stop, slot) => {
                        let prog = self.prog;
                        let slot = slot as usize;
                        if self.reaches(&prog.reach_lits[slot], stop, slot, pos) {
                            pc += 1;
                        } else {
                            break;
                        }
                    }
                    Inst::ThroughLast(c) => match self.last_of(c) {
                        Some(at) if at > pos => {
                            pos = at + 1;
                            pc += 1;
                        }
                        _ => break,
                    },
                    Inst::Match => {
                        // Branch states on the successful path at `pos`
                        // were not fully explored: forget them.
                        for &(m, at) in &self.fresh {
                            if at == pos {
                                self.visited.remove(m, at);
                            }
                        }
                        return Ok(Some(Match {
                            start,
                            end: pos,
                            slots: self.slots.clone(),
                        }));
                    }
                }
            }
        }
        Ok(None)
    }
}

/// All non-overlapping matches, left to right, as Python's `finditer`.
/// Err when the budget ran out.
pub(crate) fn find_iter(prog: &Prog, text: &[char], budget: &mut Budget) -> Result<Vec<Match>, ()> {
    find_iter_from(prog, text, 0, budget)
}

/// [`find_iter`] starting the search at `from`.
pub(crate) fn find_iter_from(
    prog: &Prog,
    text: &[char],
    from: usize,
    budget: &mut Budget,
) -> Result<Vec<Match>, ()> {
    let mut out = Vec::new();
    let mut pos = from;
    let mut last_start = text.len();
    for (lit, ci) in &prog.required {
        match last_occurrence(text, lit, *ci) {
            Some(i) => last_start = last_start.min(i),
            None => return Ok(out),
        }
    }
    // Skip to the first possible start before allocating anything.
    match next_start(prog, text, pos, last_start) {
        Some(p) => pos = p,
        None => return Ok(out),
    }
    let mut search = Search {
        prog,
        text,
        visited: Visited::new(prog.memo_count, text.len() + 1),
        stack: Vec::new(),
        fresh: Vec::new(),
        slots: vec![None; 2 * prog.groups],
        dirty: false,
        reach_cache: vec![None; prog.reach_lits.len()],
        last_of: Vec::new(),
    };
    while pos <= last_start {
        match next_start(prog, text, pos, last_start) {
            Some(p) => pos = p,
            None => break,
        }
        match search.at(pos, budget)? {
            Some(m) => {
                pos = if m.end > m.start { m.end } else { m.end + 1 };
                out.push(m);
            }
            None => pos += 1,
        }
    }
    Ok(out)
}

/// The first position in `from..=last` where a match may start.
fn next_start(prog: &Prog, text: &[char], from: usize, last: usize) -> Option<usize> {
    let Some(start) = &prog.first else {
        return (from <= last).then_some(from);
    };
    if text.is_empty() {
        return None;
    }
    let end = last.min(text.len() - 1);
    let mut p = from;
    while p <= end {
        // A tight scan for the first character; the second is rarer work.
        p = start.scan(&text[..=end], p)?;
        if start.second_allows(text, p) {
            return Some(p);
        }
        p += 1;
    }
    None
}

/// Replaces every match (as Python's `re.sub` with a function).
pub(crate) fn replace_all(
    prog: &Prog,
    text: &[char],
    budget: &mut Budget,
    mut with: impl FnMut(&Match, &[char]) -> String,
) -> Result<Vec<char>, ()> {
    let matches = find_iter(prog, text, budget)?;
    if matches.is_empty() {
        return Ok(text.to_vec());
    }
    let mut out = Vec::with_capacity(text.len());
    let mut last = 0;
    for m in &matches {
        out.extend_from_slice(&text[last..m.start]);
        out.extend(with(m, text).chars());
        last = m.end;
    }
    out.extend_from_slice(&text[last..]);
    Ok(out)
}

/// The text of group `i` of `m`, or "".
pub(crate) fn group_str(m: &Match, text: &[char], i: usize) -> String {
    m.group(i)
        .map(|(a, b)| text[a..b].iter().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    fn spans(node: Node, groups: usize, text: &str) -> Vec<(usize, usize)> {
        let prog = Prog::new(&node, groups);
        let mut b = Budget::new(1_000_000);
        find_iter(&prog, &chars(text), &mut b)
            .unwrap()
            .iter()
            .map(|m| (m.start, m.end))
            .collect()
    }

    #[test]
    fn lazy_and_greedy() {
        // a.*?b  vs a.*b
        let lazy = seq(vec![ch('a'), star_lazy(cls(Class::Any)), ch('b')]);
        let greedy = seq(vec![ch('a'), star(cls(Class::Any)), ch('b')]);
        assert_eq!(spans(lazy, 0, "xaybzb"), vec![(1, 4)]);
        assert_eq!(spans(greedy, 0, "xaybzb"), vec![(1, 6)]);
    }

    #[test]
    fn counted_repetition_order() {
        // a.{0,3}b greedy takes the farthest b within reach
        let g = seq(vec![
            ch('a'),
            rep(cls(Class::Any), 0, Some(3), true),
            ch('b'),
        ]);
        assert_eq!(spans(g, 0, "abbbbb"), vec![(0, 5)]);
        let l = seq(vec![
            ch('a'),
            rep(cls(Class::Any), 0, Some(3), false),
            ch('b'),
        ]);
        assert_eq!(spans(l, 0, "abbbbb"), vec![(0, 2)]);
    }

    #[test]
    fn alternation_is_ordered_and_captures() {
        let node = seq(vec![
            alt(vec![cap(0, lit("ab")), cap(1, lit("abc"))]),
            ch('d'),
        ]);
        let prog = Prog::new(&node, 2);
        let t = chars("abcd");
        let mut b = Budget::new(1000);
        let ms = find_iter(&prog, &t, &mut b).unwrap();
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].group(0), None);
        assert_eq!(ms[0].group(1), Some((0, 3)));
    }

    #[test]
    fn looks() {
        let node = seq(vec![look(Look::NotAfter(Class::Char('\\'))), ch('$')]);
        assert_eq!(spans(node, 0, "\\$ $"), vec![(3, 4)]);
        let end = seq(vec![ch('a'), look(Look::End)]);
        assert_eq!(spans(end, 0, "aa\n"), vec![(1, 2)]);
    }

    proptest::proptest! {
        /// `ThroughLast('}')` at the end of a pattern is `.+}`.
        #[test]
        fn through_last_is_greedy_dot_plus(text in "[ab{}\\\\\n]{0,30}") {
            let node = |tail: Node| cap(0, seq(vec![lit("\\b{"), tail]));
            let slow = node(seq(vec![plus(cls(Class::Any)), ch('}')]));
            let fast = node(Node::ThroughLast('}'));
            proptest::prop_assert_eq!(spans(slow, 1, &text), spans(fast, 1, &text));
        }
    }

    #[test]
    fn exponential_patterns_stay_bounded() {
        // (a|a)*b on many a's: memoisation keeps it linear.
        let node = seq(vec![star(alt(vec![ch('a'), ch('a')])), ch('b')]);
        let prog = Prog::new(&node, 0);
        let t = chars(&"a".repeat(5000));
        let mut b = Budget::new(10_000_000);
        assert!(find_iter(&prog, &t, &mut b).unwrap().is_empty());
        assert!(!b.exhausted());
    }
}
