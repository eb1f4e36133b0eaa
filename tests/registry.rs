//! The plugin registry: every registered kind (built-in, plugin, or added
//! later by anyone) has an example config that parses into its slot's trait
//! object and survives a TOML round trip; names are unique per slot; the
//! reward plugin is found and configurable from TOML.

use metaalign_core::registry::{self, Registration, Slot};

fn init() {
    metaalign::link_builtins();
}

#[test]
fn every_registered_kind_round_trips_its_example_through_toml() {
    init();
    let all = registry::all().expect("registry has duplicates");
    let mut checked = 0;
    let mut failures = Vec::new();
    for regs in all.values() {
        for reg in regs {
            checked += 1;
            if reg.description.trim().is_empty() {
                failures.push(format!(
                    "{} kind `{}` has no description",
                    reg.slot, reg.kind
                ));
            }
            if let Err(e) = metaalign_core::config::check_example(reg) {
                failures.push(e.to_string());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} kinds fail:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // the built-in crates registered something in these slots
    for slot in [Slot::Task, Slot::Reward] {
        assert!(!registry::kinds(slot).is_empty(), "no {slot} kinds linked");
    }
    eprintln!("round-tripped {checked} kinds");
}

#[test]
fn check_example_catches_a_kind_mismatch_and_a_bad_example() {
    init();
    let wrong_kind = Registration {
        slot: Slot::Reward,
        kind: "not_binary",
        description: "x",
        example: "kind = \"binary\"\n",
        origin: "tests::registry",
    };
    let e = metaalign_core::config::check_example(&wrong_kind)
        .unwrap_err()
        .to_string();
    assert!(e.contains("parses as kind `binary`"), "{e}");
    let bad = Registration {
        slot: Slot::Reward,
        kind: "binary",
        description: "x",
        example: "kind = \"binary\"\ncorrect = \"yes\"\n",
        origin: "tests::registry",
    };
    let e = metaalign_core::config::check_example(&bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains(":2:11:") && e.contains("key `correct`"), "{e}");
}

#[test]
fn duplicate_names_in_a_slot_are_an_error_naming_both_origins() {
    let a = Registration {
        slot: Slot::Merge,
        kind: "same",
        description: "first",
        example: "kind = \"same\"",
        origin: "crate_one::merge",
    };
    let b = Registration {
        slot: Slot::Merge,
        kind: "same",
        description: "second",
        example: "kind = \"same\"",
        origin: "crate_two::merge",
    };
    let e = registry::check_unique([&a, &b]).unwrap_err().to_string();
    assert!(
        e.contains("merge kind `same` is registered twice")
            && e.contains("crate_one::merge")
            && e.contains("crate_two::merge"),
        "{e}"
    );
    // the same name in two slots is fine
    let c = Registration {
        slot: Slot::Reward,
        ..b
    };
    registry::check_unique([&a, &c]).unwrap();
}

#[test]
fn metaalign_list_prints_every_kind_by_slot() {
    init();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_metaalign"))
        .args(["list", "--examples"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for (slot, regs) in registry::all().unwrap() {
        assert!(stdout.contains(&format!("{slot}:")), "{stdout}");
        for reg in regs {
            assert!(stdout.contains(reg.kind), "{} missing:\n{stdout}", reg.kind);
        }
    }
}

#[test]
fn the_reward_length_plugin_is_found_and_configurable_from_toml() {
    init();
    let reg = registry::find(Slot::Reward, "length_penalty").expect("plugin kind registered");
    assert_eq!(reg.origin, "metaalign_plugin_reward_length");
    assert!(registry::kinds(Slot::Reward).contains(&"length_penalty"));

    // configurable from a pipeline-style TOML table, wrapping another kind
    let config: Box<dyn metaalign_core::RewardConfig> = metaalign_core::config::from_toml_str(
        "kind = \"length_penalty\"\nbudget = 4\nper_unit = 0.5\nunit = \"words\"\nbase = { kind = \"binary\" }\n",
        "reward.toml",
    )
    .unwrap();
    let scheme = config.build().unwrap();
    let verdict = metaalign_core::Verdict {
        format_ok: true,
        outcome: metaalign_core::Outcome::Correct,
        parsed: None,
        details: Default::default(),
    };
    assert_eq!(scheme.reward(&verdict, "one two three"), 1.0);
    assert_eq!(scheme.reward(&verdict, "one two three four five six"), 0.0);

    // its errors are as precise as the built-ins'
    let e = metaalign_core::config::from_toml_str::<Box<dyn metaalign_core::RewardConfig>>(
        "kind = \"length_penalty\"\nbudgte = 4\n",
        "reward.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("reward.toml:2:1:") && e.contains("unknown field `budgte`"),
        "{e}"
    );
}
