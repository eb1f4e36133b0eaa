//! Two registrations of the same kind in one slot, from anywhere in the
//! binary, make the registry refuse to start, naming both.

metaalign_core::register! {
    slot: Reward,
    kind: "dup_reward",
    description: "first registration",
    example: "kind = \"dup_reward\"",
}

mod elsewhere {
    metaalign_core::register! {
        slot: Reward,
        kind: "dup_reward",
        description: "second registration",
        example: "kind = \"dup_reward\"",
    }
}

#[test]
fn the_registry_refuses_duplicate_kinds_at_start_up() {
    metaalign::link_builtins();
    let e = metaalign_core::registry::all().unwrap_err().to_string();
    assert!(
        e.contains("reward kind `dup_reward` is registered twice"),
        "{e}"
    );
    assert!(
        e.contains("pipeline_duplicate_kinds`") || e.contains("pipeline_duplicate_kinds"),
        "{e}"
    );
    assert!(e.contains("pipeline_duplicate_kinds::elsewhere"), "{e}");

    // a pipeline is not interpreted while a kind is ambiguous
    let e = metaalign_core::pipeline::Pipeline::parse(
        "[run]\nname = \"x\"\n",
        "p.toml",
        std::path::Path::new("."),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("registered twice"), "{e}");
}
