//! The runner: run directory layout, skipping completed stages on re-run,
//! `--force`, re-running after a config change, failures, and resuming an
//! interrupted stage from its folder.

mod pipeline_support;

use std::path::{Path, PathBuf};

use metaalign_core::pipeline::{self, Pipeline, RunOptions, StageStatus};
use pipeline_support::{read_value, run_count};

fn pipeline_text(first_value: &str) -> String {
    format!(
        "[run]\nname = \"r\"\nout_dir = \"out\"\nseed = 11\n\n\
         [policy]\nkind = \"test_policy\"\nvalue = \"p\"\n\n\
         [tasks.ded]\nkind = \"deduction\"\n\n\
         [[stages]]\nname = \"first\"\nkind = \"test_produce\"\nfrom = \"policy\"\nvalue = \"{first_value}\"\ntasks = [\"ded\"]\n\n\
         [[stages]]\nname = \"second\"\nkind = \"test_produce\"\nfrom = \"first.model\"\nvalue = \"b\"\n\n\
         [[stages]]\nname = \"other\"\nkind = \"test_produce\"\nfrom = \"policy\"\nvalue = \"c\"\n"
    )
}

fn load(dir: &Path, text: &str) -> Pipeline {
    pipeline_support::init();
    let file = pipeline_support::write_file(dir, "pipeline.toml", text);
    Pipeline::from_file(file).unwrap()
}

async fn run(p: &Pipeline, force: &[&str]) -> metaalign_core::Result<pipeline::RunSummary> {
    let options = RunOptions {
        force: force.iter().map(|s| s.to_string()).collect(),
        ..RunOptions::default()
    };
    pipeline::run(p, &options).await
}

fn statuses(summary: &pipeline::RunSummary) -> Vec<(String, StageStatus)> {
    summary
        .stages
        .iter()
        .map(|s| (s.name.clone(), s.status.clone()))
        .collect()
}

fn counts(run_dir: &Path) -> [usize; 3] {
    [
        run_count(run_dir, "first"),
        run_count(run_dir, "second"),
        run_count(run_dir, "other"),
    ]
}

#[tokio::test]
async fn runs_into_the_run_directory_then_skips_forces_and_reruns_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let p = load(dir.path(), &pipeline_text("a"));
    let run_dir = dir.path().join("out").join("r");

    let summary = run(&p, &[]).await.unwrap();
    assert_eq!(summary.run_dir, run_dir);
    assert!(statuses(&summary)
        .iter()
        .all(|(_, s)| *s == StageStatus::Ran));
    assert_eq!(counts(&run_dir), [1, 1, 1]);

    // layout: config copy, policy, stage folders, metrics, report
    assert_eq!(
        std::fs::read_to_string(run_dir.join("config.toml")).unwrap(),
        pipeline_text("a")
    );
    let policy_dir = run_dir.join("policy").join("model");
    assert_eq!(read_value(&policy_dir), "p@11");
    let second: PathBuf = summary.stage("second").unwrap().outputs.artifacts["model"]
        .path
        .clone();
    assert_eq!(second, run_dir.join("second").join("model"));
    assert_eq!(read_value(&second), "p@11+a[deduction]+b");
    let metrics = std::fs::read_to_string(run_dir.join("metrics.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(records
        .iter()
        .any(|r| r["stage"] == "second" && r["step"] == 1));
    assert!(records
        .iter()
        .any(|r| r["stage"] == "first" && r["event"] == "stage_end"));
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(
        report.contains("| 2 | second | test_produce | ran |"),
        "{report}"
    );
    assert!(
        report.contains("## second\n\nvalue: `p@11+a[deduction]+b`"),
        "{report}"
    );
    // stage seeds derive from the run seed and the stage name
    let seed_line = std::fs::read_to_string(run_dir.join("counts").join("first")).unwrap();
    assert_eq!(
        seed_line.trim(),
        metaalign_core::seed::derive_seed(11, "first").to_string()
    );

    // a re-run skips everything and restores the outputs
    let summary = run(&p, &[]).await.unwrap();
    assert!(statuses(&summary)
        .iter()
        .all(|(_, s)| *s == StageStatus::Skipped));
    assert_eq!(counts(&run_dir), [1, 1, 1]);
    assert_eq!(
        summary.stage("second").unwrap().outputs.artifacts["model"].path,
        second
    );
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(
        report.contains("| 2 | second | test_produce | skipped (up to date) |"),
        "{report}"
    );
    // the dry run agrees
    let plan = pipeline::dry_run(&p, &RunOptions::default()).unwrap();
    assert!(plan
        .stages
        .iter()
        .all(|s| s.status.as_deref() == Some("up to date: would skip")));

    // --force first re-runs it and the stage that reads its output
    let summary = run(&p, &["first"]).await.unwrap();
    assert_eq!(
        statuses(&summary),
        vec![
            ("first".into(), StageStatus::Ran),
            ("second".into(), StageStatus::Ran),
            ("other".into(), StageStatus::Skipped)
        ]
    );
    assert_eq!(counts(&run_dir), [2, 2, 1]);
    // --force on the last stage re-runs only it
    run(&p, &["second"]).await.unwrap();
    assert_eq!(counts(&run_dir), [2, 3, 1]);

    // a changed config re-runs the changed stage and what depends on it
    let p2 = load(dir.path(), &pipeline_text("A"));
    let plan = pipeline::dry_run(&p2, &RunOptions::default()).unwrap();
    let planned: Vec<_> = plan
        .stages
        .iter()
        .map(|s| s.status.clone().unwrap())
        .collect();
    assert_eq!(
        planned,
        vec![
            "would run (config or inputs changed)".to_string(),
            "would run (config or inputs changed)".to_string(),
            "up to date: would skip".to_string()
        ]
    );
    let summary = run(&p2, &[]).await.unwrap();
    assert_eq!(counts(&run_dir), [3, 4, 1]);
    assert_eq!(
        read_value(&summary.stage("second").unwrap().outputs.artifacts["model"].path),
        "p@11+A[deduction]+b"
    );

    // a changed policy re-creates it and re-runs everything
    let p3 = load(
        dir.path(),
        &pipeline_text("A").replace("value = \"p\"", "value = \"q\""),
    );
    run(&p3, &[]).await.unwrap();
    assert_eq!(counts(&run_dir), [4, 5, 2]);
    assert_eq!(read_value(&policy_dir), "q@11");

    // a missing output makes the stage run again
    std::fs::remove_dir_all(run_dir.join("other")).unwrap();
    run(&p3, &[]).await.unwrap();
    assert_eq!(counts(&run_dir), [4, 5, 3]);
}

#[tokio::test]
async fn a_failing_stage_is_named_and_completed_stages_stay() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[run]\nname = \"f\"\nout_dir = \"out\"\n\
                [[stages]]\nname = \"ok\"\nkind = \"test_produce\"\nvalue = \"a\"\n\
                [[stages]]\nname = \"bad\"\nkind = \"test_produce\"\nfrom = \"ok.model\"\nvalue = \"b\"\nfail = true\n\
                [[stages]]\nname = \"after\"\nkind = \"test_produce\"\nvalue = \"c\"\n";
    let p = load(dir.path(), text);
    let run_dir = dir.path().join("out").join("f");
    let err = run(&p, &[]).await.unwrap_err().to_string();
    assert!(err.contains("stage `bad` failed"), "{err}");
    assert!(err.contains("bad was asked to fail"), "{err}");
    assert_eq!(run_count(&run_dir, "ok"), 1);
    assert_eq!(run_count(&run_dir, "after"), 0);
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(
        report.contains("| 2 | bad | test_produce | FAILED |"),
        "{report}"
    );
    assert!(
        report.contains("| 3 | after | test_produce | not run |"),
        "{report}"
    );

    // same config again: `ok` is skipped, `bad` resumes in its folder (kept)
    assert!(run_dir.join("bad/model/partial.txt").exists());
    run(&p, &[]).await.unwrap_err();
    assert_eq!(run_count(&run_dir, "ok"), 1);
    assert_eq!(run_count(&run_dir, "bad"), 2);

    // fixed config: the folder of the changed stage is cleared, then it runs
    let fixed = text.replace("fail = true\n", "");
    let p = load(dir.path(), &fixed);
    run(&p, &[]).await.unwrap();
    assert!(!run_dir.join("bad/model/partial.txt").exists());
    assert_eq!(
        [
            run_count(&run_dir, "ok"),
            run_count(&run_dir, "bad"),
            run_count(&run_dir, "after")
        ],
        [1, 3, 1]
    );
}

#[tokio::test]
async fn an_interrupted_stage_resumes_from_its_own_state() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[run]\nname = \"i\"\nout_dir = \"out\"\n\
                [[stages]]\nname = \"base\"\nkind = \"test_produce\"\nvalue = \"m\"\n\
                [[stages]]\nname = \"long\"\nkind = \"test_steps\"\nmodel = \"base.model\"\nsteps = 5\n";
    let p = load(dir.path(), text);
    let run_dir = dir.path().join("out").join("i");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(run_dir.join("cancel-at"), "2").unwrap();

    let err = run(&p, &[]).await.unwrap_err();
    assert!(matches!(err, metaalign_core::Error::Interrupted), "{err}");
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(
        report.contains("| 2 | long | test_steps | interrupted |"),
        "{report}"
    );
    assert!(
        report.contains("Run the same command again to resume"),
        "{report}"
    );
    assert_eq!(
        std::fs::read_to_string(run_dir.join("long/executed.txt")).unwrap(),
        "1\n2\n"
    );

    let plan = pipeline::dry_run(&p, &RunOptions::default()).unwrap();
    assert_eq!(
        plan.stages[1].status.as_deref(),
        Some("would run (unfinished: resumes from its folder)")
    );

    // the same command again: `base` is skipped, `long` continues at step 3
    std::fs::remove_file(run_dir.join("cancel-at")).unwrap();
    let summary = run(&p, &[]).await.unwrap();
    assert_eq!(summary.stage("base").unwrap().status, StageStatus::Skipped);
    assert_eq!(summary.stage("long").unwrap().status, StageStatus::Ran);
    assert_eq!(
        std::fs::read_to_string(run_dir.join("long/executed.txt")).unwrap(),
        "1\n2\n3\n4\n5\n"
    );
    assert_eq!(
        std::fs::read_to_string(run_dir.join("long/summary.txt")).unwrap(),
        "m x5"
    );
    assert_eq!(run_count(&run_dir, "base"), 1);
    assert_eq!(run_count(&run_dir, "long"), 2);

    // a cancel flag set before the run starts stops before the first stage
    // that has work to do
    let cancel = metaalign_core::pipeline::CancelFlag::default();
    cancel.cancel();
    let err = pipeline::run(
        &p,
        &RunOptions {
            force: vec!["long".into()],
            cancel,
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, metaalign_core::Error::Interrupted));
    assert_eq!(run_count(&run_dir, "long"), 2);
}
