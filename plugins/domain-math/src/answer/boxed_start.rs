//! Where the first match of the boxed-span pattern can start, found with
//! memchr over the bytes instead of by trying every position.
//!
//! A boxed span is a math span (`$$..$$`, `\[..\]`, `$..$`, `\(..\)`,
//! ` [..] `) whose content holds `\boxed{`. A span's content cannot cross
//! its kind's stops (the closing delimiter; a newline for the one-line
//! kinds), so a span holding the text's first `\boxed{` at `b` opens after
//! the last stop of its kind before `b`, at an opener of its kind. Every
//! later match holds a later `\boxed{` and opens later still, so no match
//! starts before the least such position over the kinds: the search can
//! begin there and find exactly the matches a search from the start finds.

use memchr::memmem;

/// A byte offset at or before the start of every boxed-span match in
/// `text` (`text.len()` when there is no `\boxed{`).
pub(crate) fn first_possible_start(text: &str) -> usize {
    let bytes = text.as_bytes();
    let Some(b) = memmem::find(bytes, b"\\boxed{") else {
        return bytes.len();
    };
    let before = &bytes[..b];
    // Each kind: the earliest opener at or after (its last stop before
    // `b`, less the opener's length but one).
    let kinds = [
        // $$ .. $$: content holds no `$$`; the opener is one.
        opener_from(
            bytes,
            last_of(before, b"$$").map_or(0, |q| q.saturating_sub(1)),
            b"$$",
        ),
        // \[ .. \]: content holds no `\]`.
        opener_from(
            bytes,
            last_of(before, b"\\]").map_or(0, |q| q.saturating_sub(1)),
            b"\\[",
        ),
        // $ .. $ on one line: content holds no newline and no `$` that
        // does not follow a backslash; the opener is such a `$`.
        last_inline_dollar_stop(before).unwrap_or(0),
        // \( .. \) on one line.
        opener_from(
            bytes,
            last_of(before, b"\\)")
                .max(memchr::memrchr(b'\n', before))
                .map_or(0, |q| q.saturating_sub(1)),
            b"\\(",
        ),
        // ` [ .. ] ` on one line: content holds no `[`, `]` or newline;
        // the opener is a space (one byte or more) and a `[`.
        {
            let from = memchr::memrchr3(b'[', b']', b'\n', before).unwrap_or(0);
            memchr::memchr(b'[', &bytes[from..])
                .map_or(bytes.len(), |i| (from + i).saturating_sub(1))
        },
    ];
    kinds.into_iter().min().unwrap_or(0)
}

fn last_of(hay: &[u8], needle: &[u8]) -> Option<usize> {
    // The forward search is vectorised and the reverse one is not: ask the
    // fast one first whether there is any occurrence at all.
    memmem::find(hay, needle)?;
    memmem::rfind(hay, needle)
}

/// The first `opener` at or after `from`, or the end.
fn opener_from(bytes: &[u8], from: usize, opener: &[u8]) -> usize {
    memmem::find(&bytes[from..], opener).map_or(bytes.len(), |i| from + i)
}

/// The last newline, or `$` not after a backslash, in `before`.
fn last_inline_dollar_stop(before: &[u8]) -> Option<usize> {
    let mut end = before.len();
    while let Some(q) = memchr::memrchr2(b'$', b'\n', &before[..end]) {
        if before[q] == b'\n' || q == 0 || before[q - 1] != b'\\' {
            return Some(q);
        }
        end = q;
    }
    None
}
