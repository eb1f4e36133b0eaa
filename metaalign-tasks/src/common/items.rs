//! Byte-level pieces of the answer-line readers (`(3) NAME is VALUE`), for
//! ASCII items: the verifiers' hot path. Each mirrors the `str` code of the
//! deduction and abduction parsers exactly on ASCII text (where Unicode
//! white space is these six bytes); non-ASCII items take the `str` path.
//! Property tests in both parsers compare the two readings.

/// `char::is_whitespace` on an ASCII byte.
#[inline]
pub fn is_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// `s` without leading ASCII white space.
#[inline]
pub(crate) fn trim_start(mut s: &[u8]) -> &[u8] {
    while let [b, rest @ ..] = s {
        if !is_ws(*b) {
            break;
        }
        s = rest;
    }
    s
}

/// `s` without trailing ASCII white space.
#[inline]
pub(crate) fn trim_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b] = s {
        if !is_ws(*b) {
            break;
        }
        s = rest;
    }
    s
}

/// Strips a list marker: `(3)`, `3.`, `3)`, `-`, `*` (`•` is not ASCII).
pub fn strip_marker(s: &[u8]) -> &[u8] {
    let s = trim_start(s);
    if let Some(rest) = s.strip_prefix(b"(") {
        // (items are short: a plain scan beats `memchr`'s set-up)
        if let Some(close) = rest.iter().position(|&b| b == b')') {
            if trim_end(trim_start(&rest[..close]))
                .iter()
                .all(u8::is_ascii_digit)
            {
                return trim_start(&rest[close + 1..]);
            }
        }
        return s;
    }
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 {
        return match s.get(digits) {
            Some(b'.' | b')') => trim_start(&s[digits + 1..]),
            _ => s,
        };
    }
    match s.first() {
        Some(b'-' | b'*') => trim_start(&s[1..]),
        _ => s,
    }
}

/// The common head of an item: the marker stripped, the end trimmed of
/// white space, then of `.`/`,`/`;`, then of white space again; then the
/// name (`[A-Za-z0-9_]+`, as an offset range into `item`) and the rest
/// after it, trimmed at the start.
pub fn name_and_rest(item: &[u8]) -> Option<(std::ops::Range<usize>, &[u8])> {
    let s = trim_end(strip_marker(item));
    let mut end = s.len();
    while end > 0 && matches!(s[end - 1], b'.' | b',' | b';') {
        end -= 1;
    }
    let s = trim_end(&s[..end]);
    let name_len = s
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    if name_len == 0 {
        return None;
    }
    let start = s.as_ptr() as usize - item.as_ptr() as usize;
    Some((start..start + name_len, trim_start(&s[name_len..])))
}

/// After the name: `is` followed by white space; returns what follows
/// `is` (still starting with that white space).
pub fn after_is(rest: &[u8]) -> Option<&[u8]> {
    let word = rest.get(..2)?;
    if !word.eq_ignore_ascii_case(b"is") {
        return None;
    }
    let after = &rest[2..];
    after.first().is_some_and(|b| is_ws(*b)).then_some(after)
}

/// The white-space separated words of `s`.
pub fn words(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    s.split(|b| is_ws(*b)).filter(|w| !w.is_empty())
}

/// Calls `f` on each piece of `text` between `\n`, `,` and `;` (all ASCII,
/// so the pieces are `str`s), in order; stops early when `f` returns
/// `Err`. A plain scan: answers are short.
pub fn for_each_item<E>(text: &str, mut f: impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
    let mut from = 0;
    for (at, b) in text.bytes().enumerate() {
        if matches!(b, b'\n' | b',' | b';') {
            f(text.get(from..at).unwrap_or(""))?;
            from = at + 1;
        }
    }
    f(text.get(from..).unwrap_or(""))
}

/// If `item` is exactly the canonical line `(k) NAME is WORD` — `k` being
/// `index + 1` in decimal, `NAME` exactly `name`, `WORD` exactly one of
/// `words` (each a single lower- or mixed-case ASCII word) — the value of
/// that word. The readers then know what their
/// general path would read (`NAME`, that value) without running it; any
/// other item (spacing, case, punctuation) returns `None` and takes it.
pub fn canonical_item(
    item: &str,
    index: usize,
    name: &str,
    words: &[(&str, bool)],
) -> Option<bool> {
    // Only a name the general readers take whole (`[A-Za-z0-9_]+`).
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let rest = item.as_bytes().strip_prefix(b"(")?;
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = index + 1;
    while n > 0 {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let rest = rest.strip_prefix(&digits[at..])?;
    let rest = rest.strip_prefix(b") ")?;
    let rest = rest.strip_prefix(name.as_bytes())?;
    let rest = rest.strip_prefix(b" is ")?;
    words
        .iter()
        .find(|(w, _)| rest == w.as_bytes())
        .map(|(_, v)| *v)
}
