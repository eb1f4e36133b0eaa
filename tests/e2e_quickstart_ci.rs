//! The main job's shape at test size (`examples/pipelines/quickstart-ci.toml`)
//! runs end to end through the runner: warm-up, three specialists, the
//! paper's merge and a merge search over two methods, domain RL from the
//! searched merge and from the warm start, and an evaluation whose report
//! carries `n`, the paired comparisons of the three claims and their summary.

use std::path::Path;

use metaalign::core::pipeline::{self, Pipeline, RunOptions, StageStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ci_sized_quickstart_runs_every_stage_and_reports_the_claims() {
    metaalign::install_default_plugins().unwrap();
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pipelines/quickstart-ci.toml");
    let text = std::fs::read_to_string(&example).unwrap();
    // Same file, run under a temporary folder instead of <repo>/runs.
    assert!(text.contains("out_dir = \"../../runs\""));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("quickstart-ci.toml");
    std::fs::write(
        &file,
        text.replace("out_dir = \"../../runs\"", "out_dir = \"runs\""),
    )
    .unwrap();
    let p = Pipeline::from_file(&file).unwrap();
    let run_dir = p.run_dir();
    let summary = pipeline::run(&p, &RunOptions::default()).await.unwrap();
    let names: Vec<&str> = summary.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "warmup",
            "deduction",
            "induction",
            "abduction",
            "merged",
            "merged-search",
            "domain-rl-meta",
            "domain-rl-ins",
            "eval"
        ]
    );
    assert!(
        summary.stages.iter().all(|s| s.status == StageStatus::Ran),
        "{:?}",
        summary.stages
    );

    // The search tried both methods at both grid points and says which won.
    let search: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run_dir.join("merged-search/search.json")).unwrap(),
    )
    .unwrap();
    let kinds: Vec<&str> = search["grid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["linear", "linear", "task_arithmetic", "task_arithmetic"]
    );
    assert!(search["best_method"]["kind"].is_string(), "{search}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("report.json")).unwrap())
            .unwrap();
    let rows = report["results"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["n"].as_u64() == Some(3)), "{rows:?}");
    let comparisons = report["comparisons"].as_array().unwrap();
    let has = |model: &str, baseline: &str, task: &str| {
        comparisons
            .iter()
            .any(|c| c["model"] == model && c["baseline"] == baseline && c["task"] == task)
    };
    for ability in ["deduction", "induction", "abduction"] {
        assert!(
            has(ability, "warmup", ability),
            "{ability}: {comparisons:?}"
        );
        for merged in ["merged", "merged-search"] {
            assert!(has(merged, "warmup", ability), "{merged} {ability}");
        }
    }
    assert!(has("merged", "warmup", "mean") && has("merged-search", "warmup", "mean"));
    assert!(has("domain-rl-meta", "domain-rl-ins", "arithmetic"));
    for c in comparisons {
        let (diff, se) = (c["diff"].as_f64().unwrap(), c["stderr"].as_f64().unwrap());
        assert!((-1.0..=1.0).contains(&diff) && se >= 0.0, "{c}");
    }

    let md = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    for line in [
        "1. Specialists gain on their own ability: deduction ",
        "2. The merge keeps the gains: merged ",
        "3. Domain RL from the merge (domain-rl-meta) vs from the warm start (domain-rl-ins) on arithmetic: ",
    ] {
        assert!(md.contains(line), "{line}\n{md}");
    }
    assert!(run_dir.join("eval/accuracy-1.png").is_file());
}
