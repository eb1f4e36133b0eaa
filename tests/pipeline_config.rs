//! Pipeline file errors: each names the file, line, column and key (or the
//! known kinds, or the stage and reference), and the dry-run plan.

mod pipeline_support;

use std::path::Path;

use metaalign_core::pipeline::{self, Pipeline, RunOptions};
use metaalign_core::registry::{self, Slot};

const ORIGIN: &str = "pipe.toml";

fn parse(text: &str) -> Result<Pipeline, String> {
    pipeline_support::init();
    Pipeline::parse(text, ORIGIN, Path::new("/base")).map_err(|e| e.to_string())
}

fn parse_err(text: &str) -> String {
    match parse(text) {
        Ok(p) => panic!("expected an error, parsed {p:?}"),
        Err(e) => e,
    }
}

fn plan_err(text: &str) -> String {
    let p = parse(text).unwrap_or_else(|e| panic!("parse failed: {e}"));
    match p.plan() {
        Ok(plan) => panic!("expected a plan error, got\n{plan}"),
        Err(e) => e.to_string(),
    }
}

fn assert_has(haystack: &str, needles: &[&str]) {
    for n in needles {
        assert!(
            haystack.contains(n),
            "missing {n:?} in message:\n{haystack}"
        );
    }
}

const HEAD: &str = "[run]\nname = \"t\"\n";

#[test]
fn unknown_key_in_a_stage_names_key_line_and_column() {
    // line 3: [[stages]], line 6: the typo
    let text =
        format!("{HEAD}[[stages]]\nname = \"a\"\nkind = \"test_produce\"\n  valeu = \"x\"\n");
    let e = parse_err(&text);
    assert_has(
        &e,
        &[
            "pipe.toml:6:3:",
            "unknown field `valeu`",
            "key `stages[0].valeu`",
            "  valeu = \"x\"",
        ],
    );
}

#[test]
fn unknown_key_is_found_even_when_kind_comes_last() {
    let text = format!(
        "{HEAD}[[stages]]\nname = \"a\"\nbogus = 1\nvalue = \"v\"\nkind = \"test_produce\"\n"
    );
    let e = parse_err(&text);
    assert_has(
        &e,
        &["pipe.toml:5:1:", "unknown field `bogus`", "stages[0].bogus"],
    );
}

#[test]
fn wrong_type_names_key_line_and_column() {
    let text = format!("{HEAD}[[stages]]\nname = \"a\"\nkind = \"test_produce\"\nvalue = 3\n");
    let e = parse_err(&text);
    assert_has(
        &e,
        &[
            "pipe.toml:6:9:",
            "invalid type: integer `3`, expected a string",
            "key `stages[0].value`",
        ],
    );
}

#[test]
fn missing_field_names_the_field_and_the_table() {
    let text = format!("{HEAD}\n[[stages]]\nname = \"a\"\nkind = \"test_produce\"\n");
    let e = parse_err(&text);
    assert_has(
        &e,
        &["pipe.toml:4:", "missing field `value`", "key `stages[0]`"],
    );
}

#[test]
fn errors_inside_nested_components_keep_their_position() {
    // unknown key inside an inline reward table (typetag inside typetag)
    let text = format!(
        "{HEAD}[[stages]]\nname = \"a\"\nkind = \"test_produce\"\nvalue = \"v\"\nreward = {{ correct = 2.0, kind = \"paper\", corect = 1.0 }}\n"
    );
    let e = parse_err(&text);
    assert_has(
        &e,
        &[
            "pipe.toml:7:",
            "unknown field `corect`",
            "key `stages[0].reward.corect`",
        ],
    );
    let col: usize = e.split(':').nth(2).unwrap().parse().unwrap();
    assert_eq!(col, 43, "{e}");

    // wrong type inside the nested table
    let text = format!(
        "{HEAD}[[stages]]\nname = \"a\"\nkind = \"test_produce\"\nvalue = \"v\"\n[stages.reward]\nkind = \"paper\"\nwrong = \"much\"\n"
    );
    let e = parse_err(&text);
    assert_has(
        &e,
        &[
            "pipe.toml:9:9:",
            "invalid type: string \"much\", expected f64",
            "key `stages[0].reward.wrong`",
        ],
    );
}

#[test]
fn unknown_kinds_list_the_known_kinds_of_their_slot() {
    let text = format!("{HEAD}[[stages]]\nname = \"a\"\nkind = \"test_prodcue\"\n");
    let e = parse_err(&text);
    assert_has(
        &e,
        &[
            "pipe.toml:5:8:",
            "unknown stage kind `test_prodcue`",
            "known stage kinds:",
            "test_produce",
            "test_steps",
        ],
    );
    for kind in registry::kinds(Slot::Stage) {
        assert!(e.contains(&kind), "{kind} not listed: {e}");
    }

    let text = format!("{HEAD}[tasks.d]\nkind = \"deducton\"\n");
    let e = parse_err(&text);
    assert_has(
        &e,
        &[
            "pipe.toml:4:8:",
            "unknown task kind `deducton`",
            "deduction",
        ],
    );
    for kind in registry::kinds(Slot::Task) {
        assert!(e.contains(&kind), "{kind} not listed: {e}");
    }

    let text = format!("{HEAD}[policy]\nkind = \"nope\"\n");
    let e = parse_err(&text);
    assert_has(
        &e,
        &[
            "pipe.toml:4:8:",
            "unknown policy kind `nope`",
            "test_policy",
        ],
    );

    // nested: the reward slot inside a stage
    let text = format!(
        "{HEAD}[[stages]]\nname = \"a\"\nkind = \"test_produce\"\nvalue = \"v\"\nreward = {{ kind = \"papper\" }}\n"
    );
    let e = parse_err(&text);
    assert_has(
        &e,
        &[
            "pipe.toml:7:19:",
            "unknown reward kind `papper`",
            "known reward kinds:",
            "binary",
            "paper",
            "key `stages[0].reward.kind`",
        ],
    );
}

#[test]
fn run_section_and_top_level_errors() {
    let e = parse_err("[run]\nname = \"t\"\nsed = 3\n");
    assert_has(
        &e,
        &[
            "pipe.toml:3:1:",
            "unknown field `sed`",
            "key `run.sed`",
            "seed",
        ],
    );
    let e = parse_err("[run]\nname = \"t\"\nseed = \"seven\"\n");
    assert_has(&e, &["pipe.toml:3:8:", "invalid type", "key `run.seed`"]);
    let e = parse_err("[run]\nname = \"t\"\n[stage]\nx = 1\n");
    assert_has(&e, &["pipe.toml:3:2:", "unknown key `stage`", "`stages`"]);
    let e = parse_err("[tasks.d]\nkind = \"deduction\"\n");
    assert_has(&e, &["missing section `[run]`"]);
    let e = parse_err("[run]\nname = \"bad/name\"\n");
    assert_has(&e, &["pipe.toml:2:8:", "run name `bad/name`"]);
    let e = parse_err("[run]\nname = \"t\"\nholdout = { test = 0.7, validation = 0.4 }\n");
    assert_has(
        &e,
        &[
            "pipe.toml:3:",
            "holdout.test + holdout.validation",
            "key `run.holdout`",
        ],
    );
    let e = parse_err("[run]\nname = \"t\"\nholdout = { tst = 0.2 }\n");
    assert_has(&e, &["unknown field `tst`", "key `run.holdout.tst`"]);
    let ok = parse("[run]\nname = \"t\"\nholdout = { test = 0.5 }\n").unwrap();
    assert_eq!(
        (ok.settings.holdout.test, ok.settings.holdout.validation),
        (0.5, 0.1)
    );
    let e = parse_err(&format!(
        "{HEAD}[[stages]]\nkind = \"test_produce\"\nvalue = \"v\"\n"
    ));
    assert_has(&e, &["pipe.toml:3:", "stage 1 has no `name`"]);
}

#[test]
fn toml_syntax_errors_name_line_and_column() {
    let e = parse_err("[run]\nname = \"t\"\nseed = = 3\n");
    assert_has(&e, &["pipe.toml:3:"]);
}

#[test]
fn duplicate_stage_names_are_refused() {
    let text = format!(
        "{HEAD}[[stages]]\nname = \"a\"\nkind = \"test_produce\"\nvalue = \"v\"\n\n[[stages]]\nname = \"a\"\nkind = \"test_produce\"\nvalue = \"w\"\n"
    );
    let e = plan_err(&text);
    assert_has(
        &e,
        &[
            "pipe.toml:9:8:",
            "duplicate stage name `a`",
            "stage 1 (line 3)",
        ],
    );
}

#[test]
fn unknown_references_name_the_stage_the_reference_and_what_exists() {
    let base = format!("{HEAD}[policy]\nkind = \"test_policy\"\nvalue = \"p\"\n[[stages]]\nname = \"a\"\nkind = \"test_produce\"\nvalue = \"v\"\n");
    // no such stage
    let e = plan_err(&format!(
        "{base}[[stages]]\nname = \"b\"\nkind = \"test_produce\"\nfrom = \"warmup.model\"\nvalue = \"w\"\n"
    ));
    assert_has(
        &e,
        &[
            "pipe.toml:13:8:",
            "stage `b` input `from` refers to `warmup.model`",
            "key `stages[1].from`",
            "no earlier stage `warmup`",
            "available: policy (model), a.model (model)",
        ],
    );
    // no such output
    let e = plan_err(&format!(
        "{base}[[stages]]\nname = \"b\"\nkind = \"test_produce\"\nfrom = \"a.modle\"\nvalue = \"w\"\n"
    ));
    assert_has(
        &e,
        &["stage `a` has no output `modle`", "its outputs: model"],
    );
    // a later stage
    let e = plan_err(&format!(
        "{HEAD}[[stages]]\nname = \"a\"\nkind = \"test_produce\"\nfrom = \"b.model\"\nvalue = \"v\"\n[[stages]]\nname = \"b\"\nkind = \"test_produce\"\nvalue = \"w\"\n"
    ));
    assert_has(&e, &["stage `b` comes later", "available: none"]);
    // policy without [policy]
    let e = plan_err(&format!(
        "{HEAD}[[stages]]\nname = \"a\"\nkind = \"test_produce\"\nfrom = \"policy\"\nvalue = \"v\"\n"
    ));
    assert_has(&e, &["refers to `policy`", "no [policy] section"]);
    // wrong artifact kind: a file where a model is needed
    let e = plan_err(&format!(
        "{base}[[stages]]\nname = \"s\"\nkind = \"test_steps\"\nmodel = \"a.model\"\nsteps = 1\n[[stages]]\nname = \"c\"\nkind = \"test_produce\"\nfrom = \"s.summary\"\nvalue = \"x\"\n"
    ));
    assert_has(
        &e,
        &[
            "stage `c` input `from` refers to `s.summary`",
            "which is a file, but this input needs a model",
        ],
    );
    // malformed reference
    let e = plan_err(&format!(
        "{base}[[stages]]\nname = \"b\"\nkind = \"test_produce\"\nfrom = \"a\"\nvalue = \"w\"\n"
    ));
    assert_has(&e, &["`policy` or `<stage>.<output>`"]);
}

#[test]
fn undeclared_task_sources_are_refused_listing_declared_ones() {
    let text = format!(
        "{HEAD}[tasks.ded]\nkind = \"deduction\"\n[tasks.ind]\nkind = \"induction\"\n[[stages]]\nname = \"a\"\nkind = \"test_produce\"\nvalue = \"v\"\ntasks = [\"ded\", \"abd\"]\n"
    );
    let e = plan_err(&text);
    assert_has(
        &e,
        &[
            "stage `a` uses task source `abd`, which is not declared",
            "declared task sources: ded, ind",
            "pipe.toml:11:17:",
            "key `stages[0].tasks[1]`",
        ],
    );
}

#[test]
fn stage_validate_errors_and_warnings_name_the_stage() {
    let e = plan_err(&format!(
        "{HEAD}[[stages]]\nname = \"a\"\nkind = \"test_produce\"\nvalue = \"\"\n"
    ));
    assert_has(
        &e,
        &["stage `a`: `value` must not be empty", "pipe.toml:4:8:"],
    );
    let plan = parse(&format!(
        "{HEAD}[policy]\nkind = \"test_policy\"\nvalue = \"p\"\ndata = \"missing.bin\"\n[[stages]]\nname = \"a\"\nkind = \"test_produce\"\nvalue = \"warn\"\n"
    ))
    .unwrap()
    .plan()
    .unwrap();
    assert!(
        plan.warnings
            .iter()
            .any(|w| w == "stage `a`: value is `warn`"),
        "{:?}",
        plan.warnings
    );
    // the relative `data` path resolved against the config's directory
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("policy:") && w.contains("/base/missing.bin")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn relative_out_dir_resolves_against_the_config_directory() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("conf");
    std::fs::create_dir_all(&sub).unwrap();
    let file = pipeline_support::write_file(
        &sub,
        "p.toml",
        "[run]\nname = \"r\"\nout_dir = \"../runs\"\n",
    );
    pipeline_support::init();
    let p = Pipeline::from_file(&file).unwrap();
    assert_eq!(
        std::path::absolute(p.run_dir()).unwrap(),
        std::path::absolute(sub.join("../runs/r")).unwrap()
    );
    assert!(p.run_dir().is_absolute());
}

#[test]
fn dry_run_prints_the_plan_without_running() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[run]\nname = \"plan\"\nout_dir = \"out\"\nseed = 5\n\
                [policy]\nkind = \"test_policy\"\nvalue = \"p\"\n\
                [tasks.ded]\nkind = \"deduction\"\n\
                [[stages]]\nname = \"first\"\nkind = \"test_produce\"\nfrom = \"policy\"\nvalue = \"a\"\ntasks = [\"ded\"]\n\
                [[stages]]\nname = \"second\"\nkind = \"test_steps\"\nmodel = \"first.model\"\nsteps = 2\n";
    let file = pipeline_support::write_file(dir.path(), "p.toml", text);
    pipeline_support::init();
    let p = Pipeline::from_file(&file).unwrap();
    let plan = pipeline::dry_run(&p, &RunOptions::default()).unwrap();
    assert_eq!(plan.stages.len(), 2);
    assert_eq!(plan.stages[0].name, "first");
    assert_eq!(plan.stages[0].kind, "test_produce");
    assert_eq!(plan.stages[0].inputs[0].reference, "policy");
    assert_eq!(plan.stages[0].tasks, vec!["ded".to_string()]);
    assert_eq!(plan.stages[1].inputs[0].reference, "first.model");
    assert_eq!(plan.stages[1].outputs[0].name, "summary");
    assert_eq!(
        plan.stages[0].seed,
        metaalign_core::seed::derive_seed(5, "first")
    );
    let text = plan.to_string();
    assert_has(
        &text,
        &[
            "run `plan`",
            "policy: test policy `p`",
            "ded (kind deduction)",
            "1. first (kind test_produce",
            "input:   from <- policy (model)",
            "tasks:   ded",
            "output:  first.model (model)",
            "2. second (kind test_steps",
            "input:   model <- first.model (model)",
            "output:  second.summary (file)",
            "would run (never ran)",
        ],
    );
    assert!(!dir.path().join("out").exists(), "a dry run wrote files");
    // --force of an unknown stage is an error listing the stages
    let e = pipeline::dry_run(
        &p,
        &RunOptions {
            force: vec!["thrid".into()],
            ..RunOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert_has(&e, &["--force `thrid`", "policy, first, second"]);
}

#[test]
fn the_cli_dry_run_prints_the_plan_and_reports_errors() {
    let dir = tempfile::tempdir().unwrap();
    let ok = pipeline_support::write_file(
        dir.path(),
        "ok.toml",
        "[run]\nname = \"cli\"\n[tasks.ded]\nkind = \"deduction\"\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_metaalign"))
        .args(["run", "--dry-run"])
        .arg(&ok)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_has(
        &stdout,
        &[
            "run `cli`",
            "ded (kind deduction)",
            "dry run: nothing was executed",
        ],
    );
    assert!(!dir.path().join("runs").exists());

    let bad = pipeline_support::write_file(
        dir.path(),
        "bad.toml",
        "[run]\nname = \"cli\"\n[tasks.ded]\nkind = \"deduction\"\nlevelz = 3\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_metaalign"))
        .args(["run", "--dry-run"])
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_has(
        &stderr,
        &[
            "bad.toml:5:1:",
            "unknown field `levelz`",
            "key `tasks.ded.levelz`",
        ],
    );
}

#[test]
fn dry_run_prints_each_training_stages_memory_and_refuses_one_that_cannot_fit() {
    metaalign::install_default_plugins().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    let body = |limit: &str| {
        format!(
            r#"
[run]
name = "mem"
{limit}

[policy]
kind = "fresh"
preset = "tiny"

[tasks.induction]
kind = "induction"

[[stages]]
name = "warmup"
kind = "sft"
from = "policy"
tasks = ["induction"]

[[stages]]
name = "rl"
kind = "align"
from = "warmup.model"
task = "induction"
trainer = {{ kind = "grpo", adapter = {{ kind = "lora", r = 4 }} }}
"#
        )
    };
    std::fs::write(&file, body("")).unwrap();
    let p = metaalign::core::pipeline::Pipeline::from_file(&file).unwrap();
    let plan = metaalign::core::pipeline::dry_run(&p, &Default::default()).unwrap();
    let text = plan.to_string();
    assert_eq!(text.matches("memory:  ≈ ").count(), 2, "{text}");
    assert!(text.contains("adapter"), "{text}");
    let rl = plan.stages.iter().find(|s| s.name == "rl").unwrap();
    assert!(!rl.memory.as_ref().unwrap().contains("reference"));

    std::fs::write(&file, body("memory_limit_gb = 0.01")).unwrap();
    let p = metaalign::core::pipeline::Pipeline::from_file(&file).unwrap();
    let e = metaalign::core::pipeline::dry_run(&p, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("stage `warmup`")
            && e.contains("memory_limit_gb")
            && e.contains("micro_batch_size"),
        "{e}"
    );
}
