//! Checkpoint chat templates render exactly as transformers'
//! `apply_chat_template` (fixtures from `scripts/chat_template_fixtures.py`).

use metaalign_tasks::common::{ChatTemplate, JinjaTemplate};
use serde_json::{Map, Value};

fn fixtures() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/chat_templates.json"
    );
    let text = std::fs::read_to_string(path).expect("fixture file");
    serde_json::from_str(&text).expect("fixture JSON")
}

#[test]
fn templates_match_transformers_byte_for_byte() {
    let fx = fixtures();
    let configs = fx["tokenizer_configs"].as_object().unwrap();
    let conversations = fx["conversations"].as_object().unwrap();
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut checked = 0;
    for case in cases {
        let name = case["template"].as_str().unwrap();
        let conv = case["conversation"].as_str().unwrap();
        let agp = case["add_generation_prompt"].as_bool().unwrap();
        let extra: Map<String, Value> = case["extra"].as_object().cloned().unwrap_or_default();
        let template = JinjaTemplate::from_tokenizer_config(&configs[name], name)
            .unwrap()
            .expect("has a template");
        let messages = conversations[conv].as_array().unwrap();
        let got = template.render_json(messages, agp, &extra);
        match (case.get("rendered"), case.get("error")) {
            (Some(want), _) => {
                let got = got.unwrap_or_else(|e| panic!("{name}/{conv}/{agp}: {e}"));
                assert_eq!(got, want.as_str().unwrap(), "{name}/{conv}/agp={agp}");
            }
            (None, Some(msg)) => {
                let err = got.expect_err("transformers raised").to_string();
                assert!(
                    err.contains(msg.as_str().unwrap()),
                    "{name}/{conv}: {err} lacks {msg}"
                );
            }
            _ => panic!("case without rendered or error"),
        }
        checked += 1;
    }
    assert_eq!(checked, cases.len());
}

#[test]
fn llama_date_line_uses_strftime_now_when_not_pinned() {
    let fx = fixtures();
    let template = JinjaTemplate::from_tokenizer_config(&fx["tokenizer_configs"]["llama3.2"], "t")
        .unwrap()
        .unwrap();
    let messages = fx["conversations"]["single_user"].as_array().unwrap();
    let out = template.render_json(messages, true, &Map::new()).unwrap();
    let line = out
        .lines()
        .find(|l| l.starts_with("Today Date: "))
        .expect("date line");
    // `%d %b %Y`, e.g. `03 Dec 2026`.
    let date: Vec<&str> = line["Today Date: ".len()..].split(' ').collect();
    assert_eq!(date.len(), 3, "{line}");
    assert_eq!(date[0].len(), 2);
    assert_eq!(date[1].len(), 3);
    assert!(date[2].parse::<u32>().unwrap() >= 2024);
}

#[test]
fn end_of_turn_is_derived_from_each_template() {
    let fx = fixtures();
    let want = [
        ("qwen2.5", "<|im_end|>"),
        ("llama3", "<|eot_id|>"),
        ("llama3.2", "<|eot_id|>"),
        ("mistral", "</s>"),
        ("mistral-v0.3", "</s>"),
    ];
    for (name, eot) in want {
        let t = ChatTemplate::from_tokenizer_config(&fx["tokenizer_configs"][name], name).unwrap();
        assert!(!t.is_builtin());
        assert_eq!(t.end_of_turn().unwrap(), eot, "{name}");
    }
}

#[test]
fn generation_prefix_follows_the_rendered_generation_prompt() {
    let fx = fixtures();
    let t = ChatTemplate::from_tokenizer_config(&fx["tokenizer_configs"]["qwen2.5"], "q").unwrap();
    let out = t
        .render(&[metaalign_core::ChatMessage::new("user", "U")])
        .unwrap();
    assert_eq!(
        out,
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n<think>"
    );
}

#[test]
fn metaalign_own_chatml_stays_builtin() {
    let cfg = serde_json::json!({
        "chat_template": metaalign_tasks::common::template::CHATML_TEMPLATE,
        "eos_token": "<|im_end|>",
    });
    let t = ChatTemplate::from_tokenizer_config(&cfg, "c").unwrap();
    assert_eq!(t, ChatTemplate::qwen());
    // And the Jinja form renders the same text as the built-in one.
    let j = JinjaTemplate::from_tokenizer_config(&cfg, "c")
        .unwrap()
        .unwrap();
    let msgs = [
        metaalign_core::ChatMessage::new("system", "S"),
        metaalign_core::ChatMessage::new("user", "U"),
    ];
    let builtin = ChatTemplate::qwen().with_generation_prefix("");
    assert_eq!(
        j.render(&msgs, true).unwrap(),
        builtin.render(&msgs).unwrap()
    );
}
