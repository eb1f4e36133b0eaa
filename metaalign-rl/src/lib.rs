//! metaalign-rl.

/// Referenced by the facade so the linker keeps this crate's registrations.
pub fn link() {}
