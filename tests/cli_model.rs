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
