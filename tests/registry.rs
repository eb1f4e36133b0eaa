//! The plugin registry: every kind `DefaultPlugins` adds has a description
//! and an example value that survives a TOML round trip; a kind added twice
//! is refused naming both plugins; `metaalign list` prints what is
//! installed; the reward plugin is found and configurable from TOML.

use metaalign::{App, DefaultPlugins};
use metaalign_core::registry::{self, Plugin, Registry, Slot};
use metaalign_core::{Result, RewardConfig, RewardScheme, Verdict};
use serde::{Deserialize, Serialize};

#[test]
fn every_default_kind_round_trips_its_example_through_toml() {
    let registry = Registry::with(&DefaultPlugins);
    registry.check().expect("DefaultPlugins' registry checks");
    let mut checked = 0;
    for reg in registry.iter() {
        checked += 1;
        assert!(
            !reg.description.trim().is_empty(),
            "{} kind `{}` has no description",
            reg.slot,
            reg.kind
        );
        // the example names its kind: the config type's typetag name
        assert!(
            reg.example.contains(&format!("kind = \"{}\"", reg.kind)),
            "{}",
            reg.example
        );
    }
    for slot in Slot::ALL {
        assert!(!registry.kinds(slot).is_empty(), "no {slot} kinds");
    }
    // every task kind builds its default generator, whose tasks carry the kind
    for kind in registry.kinds(Slot::Task) {
        let source = registry.task_source(&kind).unwrap();
        if kind != "short_prompt" {
            assert_eq!(source.kind(), kind);
        }
    }
    assert!(checked >= 35, "{checked}");
    eprintln!("round-tripped {checked} kinds");
}

/// A reward kind a test adds, and a second plugin that adds the same name.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Constant {
    #[serde(default)]
    value: f64,
}

#[typetag::serde(name = "test_constant")]
impl RewardConfig for Constant {
    fn build(&self) -> Result<std::sync::Arc<dyn RewardScheme>> {
        struct Scheme(f64);
        impl RewardScheme for Scheme {
            fn name(&self) -> &str {
                "test_constant"
            }
            fn reward(&self, _: &Verdict, _: &str) -> f64 {
                self.0
            }
        }
        Ok(std::sync::Arc::new(Scheme(self.value)))
    }
}

struct First;
impl Plugin for First {
    fn build(&self, registry: &mut Registry) {
        registry.add_reward("a constant", Constant { value: 0.5 });
    }
}

struct Second;
impl Plugin for Second {
    fn build(&self, registry: &mut Registry) {
        registry.add_reward("the same name again", Constant::default());
    }
}

#[test]
fn a_kind_added_twice_is_refused_naming_both_plugins() {
    let mut registry = Registry::new();
    registry.add_plugin(&First).add_plugin(&Second);
    let e = registry.check().unwrap_err().to_string();
    assert!(
        e.contains("reward kind `test_constant` is registered twice")
            && e.contains("registry::First")
            && e.contains("registry::Second"),
        "{e}"
    );
    // the app refuses to install it
    let e = App::new()
        .add_plugin(First)
        .add_plugin(Second)
        .install()
        .unwrap_err()
        .to_string();
    assert!(e.contains("registered twice"), "{e}");
    // the same plugin twice is one plugin
    let mut registry = Registry::new();
    registry.add_plugin(&First).add_plugin(&First);
    registry.check().unwrap();
    assert_eq!(registry.plugins().len(), 1);
    // the example was written from the value
    let reg = registry.find(Slot::Reward, "test_constant").unwrap();
    assert_eq!(reg.example, "kind = \"test_constant\"\nvalue = 0.5\n");
    assert_eq!(reg.origin, "registry::First");
}

#[test]
fn an_example_that_does_not_round_trip_is_refused() {
    /// Serializes a field that deserialization refuses.
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Lossy {}
    impl Serialize for Lossy {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct;
            let mut st = s.serialize_struct("Lossy", 1)?;
            st.serialize_field("extra", &1)?;
            st.end()
        }
    }
    #[typetag::serde(name = "test_lossy")]
    impl RewardConfig for Lossy {
        fn build(&self) -> Result<std::sync::Arc<dyn RewardScheme>> {
            Err(metaalign_core::Error::config("never built"))
        }
    }
    struct P;
    impl Plugin for P {
        fn build(&self, registry: &mut Registry) {
            registry.add_reward("lossy", Lossy {});
        }
    }
    let e = Registry::with(&P).check().unwrap_err().to_string();
    assert!(
        e.contains("example of reward kind `test_lossy`") && e.contains("unknown field `extra`"),
        "{e}"
    );
}

#[test]
fn a_task_kind_whose_generator_names_another_kind_is_refused() {
    /// Registered as `test_misnamed`, but builds the arithmetic generator,
    /// whose tasks say `kind = "arithmetic"`.
    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Misnamed {}
    #[typetag::serde(name = "test_misnamed")]
    impl metaalign_core::TaskConfig for Misnamed {
        fn build(&self) -> Result<std::sync::Arc<dyn metaalign_core::TaskGenerator>> {
            metaalign_core::TaskConfig::build(
                &metaalign_domain_arithmetic::ArithmeticConfig::default(),
            )
        }
    }
    struct P;
    impl Plugin for P {
        fn build(&self, registry: &mut Registry) {
            registry.add_task("misnamed", Misnamed {});
        }
    }
    let e = Registry::with(&P).check().unwrap_err().to_string();
    assert!(
        e.contains("task kind `test_misnamed`")
            && e.contains("`kind()` says `arithmetic`, which is not a registered task kind"),
        "{e}"
    );
}

#[test]
fn metaalign_list_prints_every_kind_by_slot() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_metaalign"))
        .args(["list", "--examples"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let registry = Registry::with(&DefaultPlugins);
    for slot in Slot::ALL {
        assert!(stdout.contains(&format!("{slot}:")), "{stdout}");
        for reg in registry.of(slot) {
            assert!(
                stdout.contains(&format!("  {:<18} {}", reg.kind, reg.description)),
                "{} missing:\n{stdout}",
                reg.kind
            );
        }
    }
}

#[test]
fn the_reward_length_plugin_is_found_and_configurable_from_toml() {
    metaalign::install_default_plugins().unwrap();
    let reg = registry::find(Slot::Reward, "length_penalty").expect("plugin kind installed");
    assert!(reg.origin.contains("LengthPenaltyPlugin"), "{}", reg.origin);
    assert!(registry::kinds(Slot::Reward).contains(&"length_penalty".to_string()));

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
