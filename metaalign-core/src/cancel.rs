//! Cancellation of long verifications (code execution) when whoever asked
//! for them has gone away.
//!
//! A caller that can be abandoned (the reward service, when a client
//! disconnects) makes a [`CancelToken`], runs verifications inside
//! [`CancelToken::scope`] on each thread that runs them, and cancels the
//! token (or drops its [`CancelOnDrop`] guard). A verifier that runs for a
//! long time asks [`cancelled`] now and then and stops early; its verdict
//! is then discarded by the caller. Verifiers that finish quickly ignore it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A shared cancellation flag.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

thread_local! {
    static CURRENT: RefCell<Option<CancelToken>> = const { RefCell::new(None) };
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels it, for every clone.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether any clone was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// A guard that cancels the token when dropped (for example with the
    /// future of an abandoned request).
    pub fn cancel_on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(self.clone())
    }

    /// Runs `f` with this token as the current thread's token.
    pub fn scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let previous = CURRENT.with(|c| c.replace(Some(self.clone())));
        struct Restore(Option<CancelToken>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let prev = self.0.take();
                CURRENT.with(|c| *c.borrow_mut() = prev);
            }
        }
        let _restore = Restore(previous);
        f()
    }
}

/// Cancels its token when dropped.
#[derive(Debug)]
pub struct CancelOnDrop(CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// The current thread's token, if a caller set one.
pub fn current() -> Option<CancelToken> {
    CURRENT.with(|c| c.borrow().clone())
}

/// True when the current thread's token was cancelled.
pub fn cancelled() -> bool {
    CURRENT.with(|c| c.borrow().as_ref().is_some_and(CancelToken::is_cancelled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_and_restored() {
        assert!(!cancelled());
        let t = CancelToken::new();
        t.scope(|| {
            assert!(!cancelled());
            t.cancel();
            assert!(cancelled());
        });
        assert!(!cancelled());
        let u = CancelToken::new();
        drop(u.cancel_on_drop());
        assert!(u.is_cancelled());
    }
}
