//! `metaalign model init / sample / score` end to end on a tiny model.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_metaalign"))
}

#[test]
fn model_init_sample_and_score() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("tiny");
    let out = bin()
        .args(["model", "init", "--spec", "tiny", "--seed", "3", "--out"])
        .arg(&ck)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ck.join("model.safetensors").is_file());

    let sample = |extra: &[&str]| {
        let out = bin()
            .args(["model", "sample", "--model"])
            .arg(&ck)
            .args(["--prompt", "A is", "--max-new-tokens", "12"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let g1 = sample(&["--temperature", "0"]);
    let g2 = sample(&["--temperature", "0", "--seed", "9"]);
    assert_eq!(g1, g2, "greedy must not depend on the seed");
    let s1 = sample(&["--temperature", "1", "--seed", "4", "--chat"]);
    let s2 = sample(&["--temperature", "1", "--seed", "4", "--chat"]);
    assert_eq!(s1, s2, "seeded sampling must be reproducible");

    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        "{\"prompt\": \"A is\", \"continuation\": \" True\"}\n{\"prompt_ids\": [65, 66], \"continuation_ids\": [67, 68, 69]}\n",
    )
    .unwrap();
    let scored = dir.path().join("out.jsonl");
    let out = bin()
        .args(["model", "score", "--model"])
        .arg(&ck)
        .arg("--input")
        .arg(&input)
        .arg("--out")
        .arg(&scored)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&scored)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["logprobs"].as_array().unwrap().len(), 5);
    assert_eq!(lines[1]["logprobs"].as_array().unwrap().len(), 3);
    assert!(lines[1]["logprobs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x.as_f64().unwrap() < 0.0));

    // Bad input: a line with neither ids nor text names the line.
    std::fs::write(&input, "{\"prompt\": \"x\"}\n").unwrap();
    let out = bin()
        .args(["model", "score", "--model"])
        .arg(&ck)
        .arg("--input")
        .arg(&input)
        .arg("--out")
        .arg(&scored)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
}

/// `metaalign model chat-template` prints exactly what transformers'
/// `apply_chat_template` renders (the parity fixtures), and names the file
/// at fault otherwise.
#[test]
fn model_chat_template_renders_like_transformers() {
    let fx: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/metaalign-tasks/tests/fixtures/chat_templates.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = |model: &std::path::Path, messages: &std::path::Path, agp: bool| {
        let mut cmd = bin();
        cmd.args(["model", "chat-template", "--model"])
            .arg(model)
            .arg("--messages")
            .arg(messages);
        if agp {
            cmd.arg("--add-generation-prompt");
        }
        cmd.output().unwrap()
    };
    let write_model = |name: &str, config: &serde_json::Value| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("tokenizer_config.json"), config.to_string()).unwrap();
        d
    };
    let messages_file = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };

    for (template, conv) in [
        ("llama3", "system_multi_turn"),
        ("qwen2.5", "single_user"),
        ("mistral", "multi_turn"),
    ] {
        let model = write_model(template, &fx["tokenizer_configs"][template]);
        let msgs = messages_file(
            &format!("{template}.json"),
            &fx["conversations"][conv].to_string(),
        );
        for agp in [false, true] {
            let want = fx["cases"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| {
                    c["template"] == template
                        && c["conversation"] == conv
                        && c["add_generation_prompt"] == agp
                })
                .unwrap()["rendered"]
                .as_str()
                .unwrap()
                .to_string();
            let out = run(&model, &msgs, agp);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(String::from_utf8(out.stdout).unwrap(), want, "{template}");
        }
    }

    // A fresh model: the built-in Qwen (ChatML) template.
    let ck = dir.path().join("fresh");
    let out = bin()
        .args(["model", "init", "--spec", "tiny", "--out"])
        .arg(&ck)
        .output()
        .unwrap();
    assert!(out.status.success());
    let msgs = messages_file(
        "plain.json",
        r#"[{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]"#,
    );
    let out = run(&ck, &msgs, true);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
    );

    // Errors name the file at fault.
    let stderr = |o: std::process::Output| {
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let missing = dir.path().join("missing.json");
    let err = stderr(run(&ck, &missing, false));
    assert!(err.contains("missing.json"), "{err}");
    let bad = messages_file("bad.json", r#"{"role": "user"}"#);
    let err = stderr(run(&ck, &bad, false));
    assert!(err.contains("bad.json") && err.contains("list"), "{err}");
    let no_role = messages_file("norole.json", r#"[{"content": "x"}]"#);
    let err = stderr(run(&ck, &no_role, false));
    assert!(err.contains("norole.json") && err.contains("role"), "{err}");
    let broken = write_model("broken", &serde_json::json!({"chat_template": "{% for %}"}));
    let err = stderr(run(&broken, &msgs, false));
    assert!(err.contains("tokenizer_config.json"), "{err}");
    // The template's own raise_exception message comes through.
    let mistral = dir.path().join("mistral");
    let err = stderr(run(&mistral, &msgs, false));
    assert!(
        err.contains("Conversation roles must alternate") && err.contains("tokenizer_config.json"),
        "{err}"
    );
}

/// PEFT's own adapter (fixture made by scripts/peft_fixtures.py): `model
/// merge-adapter` writes PEFT's `merge_and_unload` weights, and `model
/// score --adapter` scores with the adapter on (the same log-probs as the
/// merged checkpoint), off without it.
#[test]
fn model_merge_adapter_and_score_with_an_adapter() {
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("metaalign-rl/tests/fixtures/peft");
    let dir = tempfile::tempdir().unwrap();
    // transformers' save has no tokenizer: put the character one beside it.
    let base = dir.path().join("base");
    std::fs::create_dir_all(&base).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(fixtures.join("base").join(f), base.join(f)).unwrap();
    }
    metaalign_rl::tokenizer::TextTokenizer::char_level("")
        .unwrap()
        .save(&base)
        .unwrap();
    let adapter = fixtures.join("rslora");
    let merged = dir.path().join("merged");
    let out = bin()
        .args(["model", "merge-adapter", "--model"])
        .arg(&base)
        .arg("--adapter")
        .arg(&adapter)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!merged.join("adapter_config.json").exists());
    let device = candle_core::Device::Cpu;
    let ours = candle_core::safetensors::load(merged.join("model.safetensors"), &device).unwrap();
    let peft = candle_core::safetensors::load(adapter.join("merged.safetensors"), &device).unwrap();
    for (name, want) in &peft {
        let got = ours.get(name).unwrap_or_else(|| panic!("no {name}"));
        let d = (got - want)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(d < 1e-5, "{name}: {d}");
    }

    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        "{\"prompt_ids\": [1, 17, 42], \"continuation_ids\": [299, 5, 128, 77]}\n",
    )
    .unwrap();
    let score_as = |model: &std::path::Path,
                    adapter: Option<&std::path::Path>,
                    base_dtype: &str|
     -> Vec<f64> {
        let out_file = dir.path().join("scores.jsonl");
        let mut cmd = bin();
        cmd.args(["model", "score", "--model"])
            .arg(model)
            .arg("--input")
            .arg(&input)
            .arg("--out")
            .arg(&out_file)
            .args(["--base-dtype", base_dtype]);
        if let Some(a) = adapter {
            cmd.arg("--adapter").arg(a);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = std::fs::read_to_string(&out_file).unwrap();
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        serde_json::from_value(v["logprobs"].clone()).unwrap()
    };
    let score = |model: &std::path::Path, adapter: Option<&std::path::Path>| {
        score_as(model, adapter, "f32")
    };
    let with = score(&base, Some(&adapter));
    let folded = score(&merged, None);
    let plain = score(&base, None);
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4);
    assert!(close(&with, &folded), "{with:?} vs {folded:?}");
    assert!(!close(&with, &plain), "the adapter changed nothing");
    // The base held in bf16 under the adapter: the f32 base rounded to
    // bf16, so close to the f32 figures but not equal to them.
    let half = score_as(&base, Some(&adapter), "bf16");
    assert_eq!(half.len(), with.len());
    let d = half
        .iter()
        .zip(&with)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(d > 0.0 && d < 0.05, "bf16 base vs f32 base: {d}");
    let out = bin()
        .args(["model", "score", "--base-dtype", "f8", "--model"])
        .arg(&base)
        .arg("--input")
        .arg(&input)
        .arg("--out")
        .arg(dir.path().join("x.jsonl"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`f8` is not one of"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An adapter given as --model with --adapter is refused by name.
    let out = bin()
        .args(["model", "score", "--model"])
        .arg(&adapter)
        .arg("--adapter")
        .arg(&adapter)
        .arg("--input")
        .arg(&input)
        .arg("--out")
        .arg(dir.path().join("x.jsonl"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is an adapter folder"));
}
