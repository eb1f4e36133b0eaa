//! Every Merge kind (and the `merge` stage) registered by this crate has an
//! example config that deserializes, builds and round-trips through TOML.

use metaalign_core::config::{from_toml_str, MergeConfig, StageConfig};
use metaalign_core::{Registry, Slot};

#[test]
fn examples_round_trip_and_build() {
    let registry = Registry::with(&metaalign_merge::MergePlugin);
    registry.check().unwrap();
    let ours: Vec<_> = registry.iter().collect();
    let merge_kinds: Vec<&str> = ours
        .iter()
        .filter(|r| r.slot == Slot::Merge)
        .map(|r| r.kind.as_str())
        .collect();
    for kind in [
        "linear",
        "task_arithmetic",
        "ties",
        "dare_linear",
        "dare_ties",
        "breadcrumbs",
        "breadcrumbs_ties",
        "slerp",
        "model_stock",
    ] {
        assert!(
            merge_kinds.contains(&kind),
            "{kind} not registered: {merge_kinds:?}"
        );
    }
    for reg in ours {
        match reg.slot {
            Slot::Merge => {
                let cfg: Box<dyn MergeConfig> = from_toml_str(&reg.example, &reg.kind).unwrap();
                let merger = cfg.build().unwrap();
                assert_eq!(merger.kind(), reg.kind);
                let text = toml::to_string(&cfg).unwrap();
                let again: Box<dyn MergeConfig> = from_toml_str(&text, &reg.kind).unwrap();
                assert_eq!(toml::to_string(&again).unwrap(), text);
            }
            Slot::Stage => {
                let cfg: Box<dyn StageConfig> = from_toml_str(&reg.example, &reg.kind).unwrap();
                assert!(!cfg.inputs().is_empty());
                let text = toml::to_string(&cfg).unwrap();
                let again: Box<dyn StageConfig> = from_toml_str(&text, &reg.kind).unwrap();
                assert_eq!(toml::to_string(&again).unwrap(), text);
            }
            other => panic!("unexpected slot {other} for {}", reg.kind),
        }
    }
}

#[test]
fn unknown_method_options_are_refused() {
    let err =
        from_toml_str::<Box<dyn MergeConfig>>("kind = \"linear\"\nnormalise = true", "m.toml")
            .unwrap_err()
            .to_string();
    assert!(err.contains("normalise"), "{err}");
}
