//! The `merge_search` stage on real (fresh, tiny) checkpoints: every grid
//! point is merged and scored on a validation split, the best is kept, and
//! a second run resumes from the recorded scores.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use metaalign::core::pipeline::{
    Artifact, ArtifactKind, CancelFlag, MetricsSink, RunSettings, StageContext,
};
use metaalign::core::{Policy, StageConfig, TaskGenerator};

fn context(run_dir: &Path, models: &[(&str, &Path)]) -> StageContext {
    let dir = run_dir.join("merged");
    std::fs::create_dir_all(&dir).unwrap();
    let inputs = models
        .iter()
        .map(|(r, p)| {
            (
                r.to_string(),
                Artifact {
                    kind: ArtifactKind::Model,
                    path: p.to_path_buf(),
                },
            )
        })
        .collect();
    let mut tasks: BTreeMap<String, Arc<dyn TaskGenerator>> = BTreeMap::new();
    for kind in ["deduction", "arithmetic"] {
        tasks.insert(
            kind.into(),
            metaalign::core::config::default_task_source(kind).unwrap(),
        );
    }
    StageContext {
        stage: "merged".into(),
        dir,
        run_dir: run_dir.to_path_buf(),
        settings: RunSettings {
            name: "t".into(),
            out_dir: run_dir.to_path_buf(),
            seed: 11,
            device: "cpu".into(),
            holdout: Default::default(),
            memory_limit_gb: None,
        },
        inputs,
        tasks,
        base_dir: run_dir.to_path_buf(),
        metrics: MetricsSink::open(&run_dir.join("metrics.jsonl"), "merged").unwrap(),
        cancel: CancelFlag::default(),
        seed: 5,
    }
}

/// A fresh tiny checkpoint seeded by `seed` in `dir`.
fn save_fresh_model(dir: &Path, seed: u64) {
    metaalign::rl::policy::FreshPolicyConfig::default()
        .build(seed, "cpu")
        .unwrap()
        .save(dir)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grid_search_keeps_the_best_point_and_resumes() {
    metaalign::install_default_plugins().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    for (dir, seed) in [(&a, 1), (&b, 2)] {
        save_fresh_model(dir, seed);
    }
    let toml = r#"
kind = "merge_search"
models = [{ from = "a.model" }, { from = "b.model", name = "bee" }]
method = { kind = "linear" }
search = { grid = [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]], validation = { tasks = ["deduction", "arithmetic"], count = 2, levels = [1], max_new_tokens = 6 } }
"#;
    let stage: Box<dyn StageConfig> =
        metaalign::core::config::from_toml_str(toml, "stage.toml").unwrap();
    assert_eq!(stage.inputs().len(), 2);
    let run_dir = tmp.path().join("run");
    let models = [("a.model", a.as_path()), ("b.model", b.as_path())];
    let out = stage.run(context(&run_dir, &models)).await.unwrap();
    let model = &out.artifacts["model"].path;
    assert!(model.join("config.json").is_file());
    assert!(!run_dir.join("merged/candidate").exists());
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("merged/search.json")).unwrap())
            .unwrap();
    let grid = summary["grid"].as_array().unwrap();
    assert_eq!(grid.len(), 3);
    let best = summary["best"].as_u64().unwrap() as usize;
    let scores: Vec<f64> = grid.iter().map(|g| g["score"].as_f64().unwrap()).collect();
    assert!(scores.iter().all(|&s| s <= scores[best]));
    // the first best wins ties
    assert!(scores[..best].iter().all(|&s| s < scores[best]));
    for g in grid {
        assert_eq!(g["accuracy"].as_object().unwrap().len(), 2);
    }
    let section = out.report.unwrap();
    assert!(
        section.contains("★") && section.contains("bee"),
        "{section}"
    );
    let run_report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(run_report["search"]["merged"]["best"], summary["best"]);

    // Resume: recorded scores are reused, the kept model is not merged again.
    let before = std::fs::metadata(model.join("config.json"))
        .unwrap()
        .modified()
        .unwrap();
    let again = stage.run(context(&run_dir, &models)).await.unwrap();
    let after = std::fs::metadata(again.artifacts["model"].path.join("config.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
}

#[test]
fn bad_search_configs_name_the_problem() {
    metaalign::install_default_plugins().unwrap();
    let cases = [
        (
            "models = [{ from = \"a.model\" }, { from = \"b.model\" }]\nmethod = { kind = \"linear\" }\nsearch = { grid = [[1.0]], validation = { tasks = [\"deduction\"] } }",
            "grid point 1 has 1 weights",
        ),
        (
            "models = [{ from = \"a.model\", weight = 2.0 }, { from = \"b.model\" }]\nmethod = { kind = \"linear\" }\nsearch = { grid = [[1.0, 1.0]], validation = { tasks = [\"deduction\"] } }",
            "weights come from `search.grid`",
        ),
        (
            "models = [{ from = \"a.model\" }, { from = \"b.model\" }]\nmethod = { kind = \"linear\" }\nsearch = { grid = [[1.0, 1.0]], validation = { tasks = [\"nope\"] } }",
            "`nope`",
        ),
        (
            "models = [{ from = \"a.model\" }, { from = \"b.model\" }]\nsearch = { grid = [[1.0, 1.0]], validation = { tasks = [\"deduction\"] } }",
            "give `method`",
        ),
        (
            "models = [{ from = \"a.model\" }, { from = \"b.model\" }]\nmethod = { kind = \"linear\" }\nmethods = [{ kind = \"ties\" }]\nsearch = { grid = [[1.0, 1.0]], validation = { tasks = [\"deduction\"] } }",
            "not both",
        ),
    ];
    for (body, expect) in cases {
        let stage: Box<dyn StageConfig> = metaalign::core::config::from_toml_str(
            &format!("kind = \"merge_search\"\n{body}"),
            "s.toml",
        )
        .unwrap();
        let ctx = metaalign::core::pipeline::ValidateContext {
            settings: &RunSettings {
                name: "t".into(),
                out_dir: "runs".into(),
                seed: 0,
                device: "cpu".into(),
                holdout: Default::default(),
                memory_limit_gb: None,
            },
            task_names: vec!["deduction".into()],
            base_dir: Path::new("."),
            architecture: None,
        };
        let err = stage.validate(&ctx).unwrap_err().to_string();
        assert!(err.contains(expect), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_methods_are_searched_and_the_best_is_kept() {
    metaalign::install_default_plugins().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (base, a, b) = (
        tmp.path().join("base"),
        tmp.path().join("a"),
        tmp.path().join("b"),
    );
    for (dir, seed) in [(&base, 0), (&a, 1), (&b, 2)] {
        save_fresh_model(dir, seed);
    }
    let toml = r#"
kind = "merge_search"
models = [{ from = "a.model" }, { from = "b.model" }]
base = "base.model"
methods = [{ kind = "linear" }, { kind = "task_arithmetic" }]
search = { grid = [[1.0, 0.2], [0.5, 0.5]], validation = { tasks = ["deduction"], count = 2, levels = [1], max_new_tokens = 6 } }
"#;
    let stage: Box<dyn StageConfig> =
        metaalign::core::config::from_toml_str(toml, "stage.toml").unwrap();
    let run_dir = tmp.path().join("run");
    let models = [
        ("a.model", a.as_path()),
        ("b.model", b.as_path()),
        ("base.model", base.as_path()),
    ];
    let out = stage.run(context(&run_dir, &models)).await.unwrap();
    assert!(out.artifacts["model"].path.join("config.json").is_file());
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("merged/search.json")).unwrap())
            .unwrap();
    let grid = summary["grid"].as_array().unwrap();
    let methods: Vec<&str> = grid.iter().map(|g| g["method"].as_str().unwrap()).collect();
    assert_eq!(
        methods,
        ["linear", "linear", "task_arithmetic", "task_arithmetic"]
    );
    let best = summary["best"].as_u64().unwrap() as usize;
    assert_eq!(summary["best_method"]["kind"], grid[best]["method"]);
    let section = out.report.unwrap();
    assert!(section.contains("task_arithmetic"), "{section}");
}
