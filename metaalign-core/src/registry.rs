//! The plugin registry.
//!
//! Every component kind registers itself with [`register!`] (which uses
//! `inventory::submit!`), from any crate, plugins included. The registry
//! records, per slot, the kind name, a one-line description, an example
//! config, and where it was registered. The config types themselves are
//! typetag trait objects (see [`crate::config`]): deserializing
//! `kind = "..."` finds the registered type, and its `build` is the factory.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{Error, Result};

/// Where a kind plugs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    /// Task generators and their verifiers (`[tasks.NAME]`).
    Task,
    /// Reward schemes (`reward = { kind = ... }`).
    Reward,
    /// Where the starting policy comes from (`[policy]`).
    Policy,
    /// RL / SFT trainers (`trainer = { kind = ... }`).
    Trainer,
    /// Merge strategies (`method = { kind = ... }`).
    Merge,
    /// Pipeline stages (`[[stages]]`).
    Stage,
}

impl Slot {
    pub const ALL: [Slot; 6] = [
        Slot::Task,
        Slot::Reward,
        Slot::Policy,
        Slot::Trainer,
        Slot::Merge,
        Slot::Stage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Slot::Task => "task",
            Slot::Reward => "reward",
            Slot::Policy => "policy",
            Slot::Trainer => "trainer",
            Slot::Merge => "merge",
            Slot::Stage => "stage",
        }
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One registered kind.
#[derive(Debug)]
pub struct Registration {
    pub slot: Slot,
    /// The `kind = "..."` name; must equal the typetag name of its config.
    pub kind: &'static str,
    /// One line for `metaalign list`.
    pub description: &'static str,
    /// An example config (a TOML table body including `kind = "..."`),
    /// round-tripped by the test suite.
    pub example: &'static str,
    /// `module_path!()` of the registration, to name both sides of a clash.
    pub origin: &'static str,
}

inventory::collect!(Registration);

/// Registers a kind. Use next to the typetag impl of its config:
///
/// ```ignore
/// metaalign_core::register! {
///     slot: Reward,
///     kind: "binary",
///     description: "1 for a correct answer, 0 otherwise",
///     example: "kind = \"binary\"",
/// }
/// ```
#[macro_export]
macro_rules! register {
    (slot: $slot:ident, kind: $kind:expr, description: $desc:expr, example: $example:expr $(,)?) => {
        $crate::inventory::submit! {
            $crate::registry::Registration {
                slot: $crate::registry::Slot::$slot,
                kind: $kind,
                description: $desc,
                example: $example,
                origin: module_path!(),
            }
        }
    };
}

/// Every registration, grouped by slot and sorted by kind, after checking
/// that no two share a name in the same slot.
pub fn all() -> Result<BTreeMap<Slot, Vec<&'static Registration>>> {
    let mut by_slot: BTreeMap<Slot, Vec<&'static Registration>> = BTreeMap::new();
    for reg in inventory::iter::<Registration> {
        by_slot.entry(reg.slot).or_default().push(reg);
    }
    for regs in by_slot.values_mut() {
        regs.sort_by(|a, b| a.kind.cmp(b.kind).then(a.origin.cmp(b.origin)));
    }
    check_unique(by_slot.values().flatten().copied())?;
    Ok(by_slot)
}

/// Fails on the first pair of registrations with the same slot and kind,
/// naming both origins.
pub fn check_unique<'a>(regs: impl IntoIterator<Item = &'a Registration>) -> Result<()> {
    let mut seen: BTreeMap<(Slot, &str), &Registration> = BTreeMap::new();
    for reg in regs {
        if let Some(first) = seen.insert((reg.slot, reg.kind), reg) {
            return Err(Error::Registry(format!(
                "{} kind `{}` is registered twice: by `{}` and by `{}`",
                reg.slot, reg.kind, first.origin, reg.origin
            )));
        }
    }
    Ok(())
}

/// Kind names registered in a slot, sorted.
pub fn kinds(slot: Slot) -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = inventory::iter::<Registration>
        .into_iter()
        .filter(|r| r.slot == slot)
        .map(|r| r.kind)
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}

/// The registration of `kind` in `slot`, if any.
pub fn find(slot: Slot, kind: &str) -> Option<&'static Registration> {
    inventory::iter::<Registration>
        .into_iter()
        .find(|r| r.slot == slot && r.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_names_in_a_slot_are_refused_naming_both() {
        let a = Registration {
            slot: Slot::Reward,
            kind: "x",
            description: "",
            example: "",
            origin: "crate_a::x",
        };
        let b = Registration {
            origin: "crate_b::y",
            ..a
        };
        let err = check_unique([&a, &b]).unwrap_err().to_string();
        assert!(
            err.contains("crate_a::x") && err.contains("crate_b::y"),
            "{err}"
        );
        let c = Registration {
            slot: Slot::Task,
            ..b
        };
        let a2 = Registration {
            slot: Slot::Reward,
            kind: "x",
            description: "",
            example: "",
            origin: "crate_a::x",
        };
        check_unique([&a2, &c]).unwrap();
    }
}
