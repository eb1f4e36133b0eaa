//! Real trainer runs on a tiny fresh model and real generated puzzles:
//! RL and SFT steps run end to end, and a run killed and resumed gives the
//! same metrics, step for step, as an uninterrupted one (CPU, fixed seed).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use metaalign_core::pipeline::{CancelFlag, MetricsSink};
use metaalign_core::{Level, Policy, RewardScheme, TrainInputs, TrainerConfig, Verdict};
use metaalign_rl::policy::FreshPolicyConfig;
use metaalign_rl::trainer::{Layout, ReinforcePpConfig, RlSettings};

fn fresh_model(dir: &Path) -> std::path::PathBuf {
    let cfg = FreshPolicyConfig {
        preset: Some("tiny".into()),
        ..FreshPolicyConfig::default()
    };
    let out = dir.join("start");
    cfg.build(11, "cpu").unwrap().save(&out).unwrap();
    out
}

fn inputs(
    start: &Path,
    out: &Path,
    reward: Arc<dyn RewardScheme>,
    cancel: CancelFlag,
) -> TrainInputs {
    metaalign_core::registry::ensure(&metaalign_tasks::TasksPlugin).unwrap();
    let mut tasks = BTreeMap::new();
    // Puzzle-only prompts keep the test quick (the full chat prompt is ~700
    // characters); the trainer code path is the same.
    let source = metaalign_core::config::from_toml_str::<Box<dyn metaalign_core::TaskConfig>>(
        "kind = \"short_prompt\"\ninner = { kind = \"induction\" }",
        "test",
    )
    .unwrap()
    .build()
    .unwrap();
    tasks.insert("induction".to_string(), source);
    TrainInputs {
        start: start.to_path_buf(),
        tasks,
        levels: vec![Level(1)],
        reward,
        out_dir: out.to_path_buf(),
        seed: 5,
        holdout: metaalign_core::HoldOut::default(),
        device: "cpu".into(),
        metrics: MetricsSink::discard(),
        cancel,
    }
}

fn paper() -> Arc<dyn RewardScheme> {
    Arc::new(metaalign_tasks::PaperReward::default())
}

/// Cancels the run once it has scored `after` responses (the end of a step).
struct CancelAfter {
    inner: Arc<dyn RewardScheme>,
    seen: AtomicUsize,
    after: usize,
    cancel: CancelFlag,
}

impl RewardScheme for CancelAfter {
    fn name(&self) -> &str {
        "cancel-after"
    }
    fn reward(&self, verdict: &Verdict, response: &str) -> f64 {
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 >= self.after {
            self.cancel.cancel();
        }
        self.inner.reward(verdict, response)
    }
}

fn small_rl() -> RlSettings {
    let mut s = RlSettings {
        prompts_per_step: 2,
        samples_per_prompt: 2,
        max_new_tokens: 12,
        ..RlSettings::default()
    };
    s.steps_per_level = 4;
    s.checkpoint_every = 2;
    s.micro_batch_size = 2;
    s.learning_rate = Some(1e-3);
    s
}

/// Step records without wall-clock fields.
fn deterministic(records: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    records
        .into_iter()
        .map(|mut r| {
            let m = r.as_object_mut().unwrap();
            m.retain(|k, _| !k.ends_with("_s") && !k.ends_with("per_s"));
            r
        })
        .collect()
}

fn run(
    cfg: &dyn TrainerConfig,
    inputs: TrainInputs,
) -> metaalign_core::Result<metaalign_core::trainer::TrainOutput> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let trainer = cfg.build()?;
    rt.block_on(trainer.train(inputs))
}

#[test]
fn reinforce_pp_killed_and_resumed_equals_uninterrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let start = fresh_model(tmp.path());
    let cfg = ReinforcePpConfig(small_rl());

    let a = tmp.path().join("a");
    let out = run(&cfg, inputs(&start, &a, paper(), CancelFlag::default())).unwrap();
    assert_eq!(out.steps, 4);
    assert!(out.checkpoint.join("config.json").is_file());
    let want = deterministic(Layout::new(&a).read_steps().unwrap());
    assert_eq!(want.len(), 4);
    for r in &want {
        for key in [
            "reward",
            "accuracy",
            "format_ok",
            "response_length",
            "kl",
            "entropy",
            "clip_frac",
            "grad_norm",
            "lr",
            "level",
        ] {
            assert!(
                r.get(key).is_some_and(|v| v.is_number()),
                "missing {key} in {r}"
            );
        }
    }

    // Interrupted after step 3 (the trainer saves step 3 on the way out);
    // then the newest checkpoint is deleted, as if the process had been
    // killed before writing it, so the resume re-does step 3 from step 2.
    let b = tmp.path().join("b");
    let cancel = CancelFlag::default();
    let reward = Arc::new(CancelAfter {
        inner: paper(),
        seen: AtomicUsize::new(0),
        after: 3 * 4,
        cancel: cancel.clone(),
    });
    let err = run(&cfg, inputs(&start, &b, reward, cancel)).unwrap_err();
    assert!(matches!(err, metaalign_core::Error::Interrupted), "{err}");
    let layout = Layout::new(&b);
    let steps: Vec<u64> = layout
        .list_checkpoints()
        .unwrap()
        .iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(steps, vec![2, 3]);
    std::fs::remove_dir_all(layout.checkpoint(3)).unwrap();
    // Resuming with other holdout shares would draw other tasks: refused,
    // with both runs' shares named.
    let mut other = inputs(&start, &b, paper(), CancelFlag::default());
    other.holdout = metaalign_core::HoldOut {
        test: 0.3,
        validation: 0.1,
    };
    let err = run(&cfg, other).unwrap_err().to_string();
    assert!(
        err.contains("holdout test 0.1 / validation 0.1; this run: 0.3 / 0.1"),
        "{err}"
    );
    let out = run(&cfg, inputs(&start, &b, paper(), CancelFlag::default())).unwrap();
    assert_eq!(out.steps, 4);
    let got = deterministic(layout.read_steps().unwrap());
    assert_eq!(
        got, want,
        "resumed metrics differ from the uninterrupted run"
    );

    // Same final weights.
    let wa = std::fs::read(a.join("model/model.safetensors")).unwrap();
    let wb = std::fs::read(b.join("model/model.safetensors")).unwrap();
    assert!(wa == wb, "final weights differ");

    // A finished run is not redone.
    let again = run(&cfg, inputs(&start, &b, paper(), CancelFlag::default())).unwrap();
    assert_eq!(again.steps, 4);
}

#[test]
fn grpo_with_several_updates_and_sft_run() {
    let tmp = tempfile::tempdir().unwrap();
    let start = fresh_model(tmp.path());
    // GRPO with old-policy log-probs (2 epochs × 2 mini-batches), dual clip,
    // Dr.GRPO aggregation and KL in the reward.
    let toml_cfg = r#"
        kind = "grpo"
        prompts_per_step = 2
        samples_per_prompt = 2
        max_new_tokens = 8
        ppo_epochs = 2
        mini_batches = 2
        dual_clip = 3.0
        loss_agg = "seq-mean-token-sum-norm"
        kl_placement = "reward"
        kl_estimator = "k1"
        steps_per_level = 2
        learning_rate = 0.001
    "#;
    let cfg: Box<dyn TrainerConfig> = toml::from_str(toml_cfg).unwrap();
    let out = run(
        cfg.as_ref(),
        inputs(
            &start,
            &tmp.path().join("g"),
            paper(),
            CancelFlag::default(),
        ),
    )
    .unwrap();
    assert_eq!(out.steps, 2);
    let recs = Layout::new(&tmp.path().join("g")).read_steps().unwrap();
    assert_eq!(recs[0]["updates"], 4);

    // SFT: the loss on teacher-forced targets falls within a few steps.
    let sft: Box<dyn TrainerConfig> = toml::from_str(
        "kind = \"sft\"\nbatch_size = 4\nsteps_per_level = 6\nlearning_rate = 0.003\nmax_rationale_chars = 40\ncheckpoint_every = 0\n",
    )
    .unwrap();
    let sdir = tmp.path().join("s");
    let out = run(
        sft.as_ref(),
        inputs(&start, &sdir, paper(), CancelFlag::default()),
    )
    .unwrap();
    assert_eq!(out.steps, 6);
    let recs = Layout::new(&sdir).read_steps().unwrap();
    let first = recs[0]["loss"].as_f64().unwrap();
    let last = recs[5]["loss"].as_f64().unwrap();
    assert!(last < first, "sft loss did not fall: {first} -> {last}");
}

#[test]
fn bad_configs_are_refused_with_the_option_named() {
    let build_err = |text: &str| {
        toml::from_str::<Box<dyn TrainerConfig>>(text)
            .unwrap()
            .build()
            .err()
            .unwrap()
            .to_string()
    };
    let err = build_err("kind = \"grpo\"\ngamma = 0.9\n");
    assert!(err.contains("gamma"), "{err}");
    let err = build_err("kind = \"rl\"\nestimator = { kind = \"rloo\", epsilon = 0.1 }\n");
    assert!(err.contains("does not read epsilon"), "{err}");
    let err = build_err("kind = \"rl\"\nestimator = { kind = \"gae\" }\n");
    assert!(
        err.contains("unknown advantage estimator") && err.contains("remax"),
        "{err}"
    );
    let err = build_err("kind = \"dapo\"\noverlong_buffer = { len = 500 }\nmax_new_tokens = 100\n");
    assert!(err.contains("overlong_buffer.len"), "{err}");
    for text in [
        "kind = \"reinforce_pp\"\nlearnin_rate = 1.0\n",
        "kind = \"grpo\"\nwhiten = \"bessel\"\n",
        "kind = \"rl\"\nloss_mode = \"ppo\"\n",
        "kind = \"rl\"\nestimator = { kind = \"grpo\", norm = false }\n",
    ] {
        let err = toml::from_str::<Box<dyn TrainerConfig>>(text)
            .unwrap_err()
            .to_string();
        let key = text
            .lines()
            .nth(1)
            .unwrap()
            .split([' ', '='])
            .next()
            .unwrap();
        assert!(
            err.contains(key) || err.contains("ppo") || err.contains("norm"),
            "{text}: {err}"
        );
    }
    let err = build_err("kind = \"rloo\"\nsamples_per_prompt = 1\n");
    assert!(err.contains("samples_per_prompt"), "{err}");
}

/// Reward 1 for responses of even length in bytes: varies within groups
/// on an untrained model, so group estimators have something to work on.
struct EvenLength;

impl RewardScheme for EvenLength {
    fn name(&self) -> &str {
        "even-length"
    }
    fn reward(&self, _verdict: &Verdict, response: &str) -> f64 {
        f64::from(u8::from(response.len() % 2 == 0))
    }
}

fn train_steps(
    text: &str,
    dir: &Path,
    start: &Path,
    reward: Arc<dyn RewardScheme>,
) -> Vec<serde_json::Value> {
    let cfg: Box<dyn TrainerConfig> = toml::from_str(text).unwrap();
    let out = run(
        cfg.as_ref(),
        inputs(start, dir, reward, CancelFlag::default()),
    )
    .unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(out.steps, 2, "{text}");
    Layout::new(dir).read_steps().unwrap()
}

#[test]
fn every_estimator_and_policy_loss_trains() {
    let tmp = tempfile::tempdir().unwrap();
    let start = fresh_model(tmp.path());
    let common = "prompts_per_step = 2\nsamples_per_prompt = 3\nmax_new_tokens = 6\nsteps_per_level = 2\nlearning_rate = 0.001\ncheckpoint_every = 0\n";
    for (i, est) in [
        "grpo",
        "rloo",
        "reinforce_plus_plus",
        "reinforce_plus_plus_baseline",
        "remax",
        "opo",
        "gpg",
        "grpo_passk",
    ]
    .into_iter()
    .enumerate()
    {
        let loss = ["vanilla", "gspo", "cispo", "gpg"][i % 4];
        let agg = [
            "token-mean",
            "seq-mean-token-sum",
            "seq-mean-token-mean",
            "seq-mean-token-sum-norm",
        ][i % 4];
        let text = format!(
            "kind = \"rl\"\nestimator = {{ kind = \"{est}\" }}\nloss_mode = \"{loss}\"\nloss_agg_mode = \"{agg}\"\nppo_epochs = 2\n{common}"
        );
        let recs = train_steps(&text, &tmp.path().join(est), &start, Arc::new(EvenLength));
        for r in &recs {
            assert_eq!(r["updates"], 2, "{est}: {r}");
            for key in [
                "reward_std",
                "zero_spread_groups",
                "entropy",
                "clip_frac",
                "clip_frac_lower",
                "ppo_kl",
                "kl",
                "adv_mean",
                "adv_std",
                "grad_norm",
                "grad_clipped",
                "response_length_max",
                "truncated",
            ] {
                assert!(
                    r.get(key).is_some_and(|v| v.is_number()),
                    "{est}: no {key} in {r}"
                );
            }
        }
        // A second epoch moves the policy away from the rollout policy.
        assert!(
            recs.iter().any(|r| r["ppo_kl"].as_f64() != Some(0.0)),
            "{est}"
        );
    }
}

#[test]
fn dapo_drops_uninformative_groups_and_penalises_length() {
    let tmp = tempfile::tempdir().unwrap();
    let start = fresh_model(tmp.path());
    // Dynamic sampling on the reward (which varies), an overlong buffer as
    // long as the response budget (every token past 0 is penalised) and
    // truncated responses masked.
    let text = "kind = \"dapo\"\nprompts_per_step = 3\nsamples_per_prompt = 2\nmax_new_tokens = 6\nsteps_per_level = 2\nlearning_rate = 0.001\ncheckpoint_every = 0\nfilter_groups = { metric = \"score\", max_num_gen_batches = 4 }\noverlong_buffer = { len = 6, penalty_factor = 0.5 }\nmask_truncated = true\n";
    let recs = train_steps(text, &tmp.path().join("dapo"), &start, Arc::new(EvenLength));
    for r in &recs {
        let groups = r["groups"].as_u64().unwrap();
        let dropped = r["groups_dropped"].as_u64().unwrap();
        let batches = r["gen_batches"].as_u64().unwrap();
        assert_eq!(groups, 3 * batches, "{r}");
        assert!(groups - dropped <= 3, "{r}");
        // Lengths are ≥ 1 token, so every reward is below the scheme's.
        assert!(r["reward"].as_f64().unwrap() < 1.0, "{r}");
        assert!(r["kl"].is_null(), "dapo has no KL: {r}");
    }
    // On the correctness metric no group of an untrained model varies:
    // every step is skipped and the run stops, saying why.
    let text = "kind = \"dapo\"\nprompts_per_step = 2\nsamples_per_prompt = 2\nmax_new_tokens = 4\nsteps_per_level = 5\nmax_bad_steps = 2\nfilter_groups = { max_num_gen_batches = 2 }\n";
    let cfg: Box<dyn TrainerConfig> = toml::from_str(text).unwrap();
    let dir = tmp.path().join("dapo-acc");
    let err = run(
        cfg.as_ref(),
        inputs(&start, &dir, paper(), CancelFlag::default()),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("learned nothing"), "{err}");
    let recs = Layout::new(&dir).read_steps().unwrap();
    assert!(
        recs[0]["skip_reason"]
            .as_str()
            .unwrap()
            .contains("no spread in correctness"),
        "{}",
        recs[0]
    );
    assert_eq!(recs[0]["gen_batches"], 2);
}

#[test]
fn a_rollout_budget_stops_training() {
    let tmp = tempfile::tempdir().unwrap();
    let start = fresh_model(tmp.path());
    // 2 prompts × 2 samples = 4 responses a step: 10 are spent after step 3.
    let text = "kind = \"grpo\"\nprompts_per_step = 2\nsamples_per_prompt = 2\nmax_new_tokens = 4\nsteps_per_level = 10\nmax_rollouts = 10\ncheckpoint_every = 0\n";
    let cfg: Box<dyn TrainerConfig> = toml::from_str(text).unwrap();
    let dir = tmp.path().join("budget");
    let out = run(
        cfg.as_ref(),
        inputs(&start, &dir, Arc::new(EvenLength), CancelFlag::default()),
    )
    .unwrap();
    assert_eq!(out.steps, 3);
    let recs = Layout::new(&dir).read_steps().unwrap();
    assert_eq!(recs[2]["rollouts_total"], 12);
    let sft: Box<dyn TrainerConfig> = toml::from_str("kind = \"sft\"\nmax_rollouts = 5\n").unwrap();
    let err = sft.build().err().unwrap().to_string();
    assert!(err.contains("max_rollouts"), "{err}");
}
