//! metaalign-rl.

pub mod eval;

/// Referenced by the facade so the linker keeps this crate's registrations.
pub fn link() {}
