//! A checkpoint's own chat template: the Jinja `chat_template` of its
//! `tokenizer_config.json`, rendered the way transformers'
//! `apply_chat_template` renders it.
//!
//! transformers compiles templates in an `ImmutableSandboxedEnvironment` with
//! `trim_blocks=True, lstrip_blocks=True` (and Jinja's default
//! `keep_trailing_newline=False`), overrides `tojson` with Python's
//! `json.dumps`, and adds the globals `raise_exception` and `strftime_now`.
//! The template sees `messages`, `tools` (none), `documents` (none),
//! `add_generation_prompt` and the tokenizer's special tokens (`bos_token`,
//! `eos_token`, ...). This module does the same with `minijinja`, Python's
//! string and dict methods coming from `minijinja-contrib`'s `pycompat`.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use metaalign_core::{ChatMessage, Error, Result};
use minijinja::value::{Kwargs, Serde};
use minijinja::{Environment, ErrorKind, Value};
use serde_json::{Map, Value as Json};

/// The name the template is compiled under (shown in template errors).
const TEMPLATE_NAME: &str = "chat_template";
/// Marks errors raised by the template itself through `raise_exception`.
const RAISED: &str = "raise_exception: ";
/// Special-token keys of `tokenizer_config.json` passed to the template,
/// as transformers passes its `special_tokens_map`.
const SPECIAL_TOKEN_KEYS: [&str; 7] = [
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
];

/// A compiled Jinja chat template plus the special tokens it may refer to.
#[derive(Clone)]
pub struct JinjaTemplate {
    source: Arc<str>,
    /// Where the template came from (a file path), for error messages.
    origin: String,
    /// Template variables besides the messages: the special tokens.
    tokens: Map<String, Json>,
    env: Arc<Environment<'static>>,
}

impl fmt::Debug for JinjaTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JinjaTemplate")
            .field("origin", &self.origin)
            .field("tokens", &self.tokens)
            .field("source_len", &self.source.len())
            .finish()
    }
}

impl PartialEq for JinjaTemplate {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.tokens == other.tokens
    }
}

impl Eq for JinjaTemplate {}

impl JinjaTemplate {
    /// Compiles `source`. `origin` names where it came from in errors;
    /// `tokens` are extra template variables (`bos_token`, `eos_token`, ...).
    pub fn new(
        source: impl Into<String>,
        origin: impl Into<String>,
        tokens: Map<String, Json>,
    ) -> Result<Self> {
        let source: String = source.into();
        let origin = origin.into();
        let env = environment(&source)
            .map_err(|e| Error::config(format!("chat template in {origin}: {}", describe(&e))))?;
        Ok(Self {
            source: source.into(),
            origin,
            tokens,
            env: Arc::new(env),
        })
    }

    /// The template of a parsed `tokenizer_config.json`, or `None` when it
    /// has no `chat_template`. A list of named templates (`[{"name",
    /// "template"}]`) yields the one named `default`. Special tokens may be
    /// strings or AddedToken objects (`{"content": ...}`).
    pub fn from_tokenizer_config(config: &Json, origin: &str) -> Result<Option<Self>> {
        let source = match config.get("chat_template") {
            None | Some(Json::Null) => return Ok(None),
            Some(Json::String(s)) => s.clone(),
            Some(Json::Array(list)) => {
                let mut names = Vec::new();
                let mut found = None;
                for item in list {
                    let name = item.get("name").and_then(Json::as_str);
                    let template = item.get("template").and_then(Json::as_str);
                    match (name, template) {
                        (Some(n), Some(t)) => {
                            if n == "default" {
                                found = Some(t.to_string());
                            }
                            names.push(n.to_string());
                        }
                        _ => {
                            return Err(Error::config(format!(
                                "{origin}: each entry of the `chat_template` list needs string \
                                 `name` and `template` keys"
                            )))
                        }
                    }
                }
                match found {
                    Some(t) => t,
                    None => {
                        return Err(Error::config(format!(
                            "{origin}: `chat_template` lists templates {names:?} but none is \
                             named \"default\""
                        )))
                    }
                }
            }
            Some(_) => {
                return Err(Error::config(format!(
                    "{origin}: `chat_template` must be a string or a list of named templates"
                )))
            }
        };
        Self::new(source, origin, special_tokens(config)).map(Some)
    }

    /// The template of a checkpoint directory: `dir/chat_template.jinja`
    /// when present (where recent transformers save it; it takes
    /// precedence, as in transformers), else the `chat_template` of the
    /// parsed `dir/tokenizer_config.json` (`config`), else `None`.
    pub fn from_checkpoint(dir: &Path, config: &Json) -> Result<Option<Self>> {
        let jinja = dir.join("chat_template.jinja");
        if jinja.is_file() {
            let source = std::fs::read_to_string(&jinja).map_err(|e| Error::io(&jinja, e))?;
            let origin = jinja.display().to_string();
            return Self::new(source, origin, special_tokens(config)).map(Some);
        }
        let origin = dir.join("tokenizer_config.json").display().to_string();
        Self::from_tokenizer_config(config, &origin)
    }

    /// The template text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Where the template came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// A special token's text (e.g. `eos_token`), when the config has it.
    pub fn token(&self, key: &str) -> Option<&str> {
        self.tokens.get(key).and_then(Json::as_str)
    }

    /// Renders chat messages (`{"role", "content", ...}` objects).
    /// `extra` adds or overrides template variables (e.g. `date_string`).
    pub fn render_json(
        &self,
        messages: &[Json],
        add_generation_prompt: bool,
        extra: &Map<String, Json>,
    ) -> Result<String> {
        let mut ctx = self.tokens.clone();
        ctx.insert("messages".into(), Json::Array(messages.to_vec()));
        ctx.insert("tools".into(), Json::Null);
        ctx.insert("documents".into(), Json::Null);
        ctx.insert(
            "add_generation_prompt".into(),
            Json::Bool(add_generation_prompt),
        );
        for (k, v) in extra {
            ctx.insert(k.clone(), v.clone());
        }
        let template = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(|e| self.error(&e))?;
        template
            .render(Value::from(Serde(&ctx)))
            .map_err(|e| self.error(&e))
    }

    /// Renders [`ChatMessage`]s.
    pub fn render(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String> {
        let messages: Vec<Json> = messages
            .iter()
            .map(|m| serde_json::json!({"role": m.role, "content": m.content}))
            .collect();
        self.render_json(&messages, add_generation_prompt, &Map::new())
    }

    fn error(&self, e: &minijinja::Error) -> Error {
        match e.detail().and_then(|d| d.strip_prefix(RAISED)) {
            Some(msg) => Error::config(format!(
                "chat template in {} raised an error: {msg}",
                self.origin
            )),
            None => Error::config(format!("chat template in {}: {}", self.origin, describe(e))),
        }
    }
}

/// The special tokens of a `tokenizer_config.json`, as template variables.
fn special_tokens(config: &Json) -> Map<String, Json> {
    let mut tokens = Map::new();
    for key in SPECIAL_TOKEN_KEYS {
        if let Some(t) = token_text(config.get(key)) {
            tokens.insert(key.to_string(), Json::String(t));
        }
    }
    if let Some(Json::Array(extra)) = config.get("additional_special_tokens") {
        let list: Vec<Json> = extra
            .iter()
            .filter_map(|t| token_text(Some(t)).map(Json::String))
            .collect();
        tokens.insert("additional_special_tokens".into(), Json::Array(list));
    }
    tokens
}

/// A special token's text: a string, or an AddedToken object's `content`.
pub fn token_text(v: Option<&Json>) -> Option<String> {
    match v {
        Some(Json::String(s)) => Some(s.clone()),
        Some(Json::Object(o)) => o.get("content").and_then(Json::as_str).map(String::from),
        _ => None,
    }
}

/// An error with its cause chain and template location, on one line.
fn describe(e: &minijinja::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

fn environment(source: &str) -> std::result::Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(false)
            .build()?,
    );
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_function(
        "raise_exception",
        |msg: String| -> std::result::Result<Value, minijinja::Error> {
            Err(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!("{RAISED}{msg}"),
            ))
        },
    );
    env.add_function("strftime_now", |fmt: String| strftime(&fmt, now_utc()));
    env.add_filter("tojson", tojson);
    env.add_template_owned(TEMPLATE_NAME, source.to_string())?;
    Ok(env)
}

/// Python's `json.dumps(x, ensure_ascii=False, indent=…, separators=…,
/// sort_keys=…)`, as transformers' `tojson` filter.
fn tojson(value: &Value, kwargs: Kwargs) -> std::result::Result<Value, minijinja::Error> {
    let indent: Option<Value> = kwargs.get("indent")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    let separators: Option<Value> = kwargs.get("separators")?;
    let ensure_ascii: Option<bool> = kwargs.get("ensure_ascii")?;
    kwargs.assert_all_used()?;
    let json = serde_json::to_value(value)
        .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
    let indent = match indent {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) => Some(match v.as_str() {
            Some(s) => s.to_string(),
            None => " ".repeat(usize::try_from(v.clone()).unwrap_or(0)),
        }),
    };
    let (item_sep, key_sep) = match separators {
        Some(v) if !v.is_none() => {
            let a = v.get_item(&Value::from(0))?;
            let b = v.get_item(&Value::from(1))?;
            (a.to_string(), b.to_string())
        }
        _ if indent.is_some() => (",".to_string(), ": ".to_string()),
        _ => (", ".to_string(), ": ".to_string()),
    };
    let style = PyJson {
        indent,
        item_sep,
        key_sep,
        sort_keys: sort_keys.unwrap_or(false),
        ensure_ascii: ensure_ascii.unwrap_or(false),
    };
    let mut out = String::new();
    style.write(&json, 0, &mut out);
    Ok(Value::from_safe_string(out))
}

struct PyJson {
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    sort_keys: bool,
    ensure_ascii: bool,
}

impl PyJson {
    fn newline(&self, depth: usize, out: &mut String) {
        if let Some(ind) = &self.indent {
            out.push('\n');
            for _ in 0..depth {
                out.push_str(ind);
            }
        }
    }

    fn write(&self, v: &Json, depth: usize, out: &mut String) {
        match v {
            Json::Array(items) if !items.is_empty() => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&self.item_sep);
                    }
                    self.newline(depth + 1, out);
                    self.write(item, depth + 1, out);
                }
                self.newline(depth, out);
                out.push(']');
            }
            Json::Object(map) if !map.is_empty() => {
                out.push('{');
                let mut entries: Vec<(&String, &Json)> = map.iter().collect();
                if self.sort_keys {
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                }
                for (i, (k, item)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push_str(&self.item_sep);
                    }
                    self.newline(depth + 1, out);
                    self.string(k, out);
                    out.push_str(&self.key_sep);
                    self.write(item, depth + 1, out);
                }
                self.newline(depth, out);
                out.push('}');
            }
            Json::Array(_) => out.push_str("[]"),
            Json::Object(_) => out.push_str("{}"),
            Json::String(s) => self.string(s, out),
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(&n.to_string()),
        }
    }

    fn string(&self, s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 || (self.ensure_ascii && (c as u32) > 0x7e) => {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// Seconds since the Unix epoch, now (UTC).
fn now_utc() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Python's `strftime` for the common directives, on a UTC time in seconds
/// since the epoch. Unknown directives are kept as written (as glibc does).
pub fn strftime(fmt: &str, secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, mi, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let (y, mo, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday (index 3 from Monday).
    let wd = (days + 3).rem_euclid(7) as usize;
    let yday = days - days_from_civil(y, 1, 1) + 1;
    let month = MONTHS[(mo - 1) as usize];
    let weekday = WEEKDAYS[wd];
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str(&format!("{d:02}")),
            Some('-') => match chars.next() {
                Some('d') => out.push_str(&d.to_string()),
                Some('m') => out.push_str(&mo.to_string()),
                Some('H') => out.push_str(&h.to_string()),
                Some(o) => {
                    out.push_str("%-");
                    out.push(o);
                }
                None => out.push_str("%-"),
            },
            Some('m') => out.push_str(&format!("{mo:02}")),
            Some('Y') => out.push_str(&y.to_string()),
            Some('y') => out.push_str(&format!("{:02}", y.rem_euclid(100))),
            Some('b') => out.push_str(&month[..3]),
            Some('B') => out.push_str(month),
            Some('a') => out.push_str(&weekday[..3]),
            Some('A') => out.push_str(weekday),
            Some('H') => out.push_str(&format!("{h:02}")),
            Some('I') => out.push_str(&format!("{:02}", (h + 11) % 12 + 1)),
            Some('p') => out.push_str(if h < 12 { "AM" } else { "PM" }),
            Some('M') => out.push_str(&format!("{mi:02}")),
            Some('S') => out.push_str(&format!("{s:02}")),
            Some('j') => out.push_str(&format!("{yday:03}")),
            Some('F') => out.push_str(&format!("{y}-{mo:02}-{d:02}")),
            Some('%') => out.push('%'),
            Some(o) => {
                out.push('%');
                out.push(o);
            }
            None => out.push('%'),
        }
    }
    out
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strftime_matches_python() {
        // 2024-07-26 13:05:09 UTC, a Friday (python: datetime(2024,7,26,13,5,9)).
        let t = days_from_civil(2024, 7, 26) * 86_400 + 13 * 3600 + 5 * 60 + 9;
        assert_eq!(strftime("%d %b %Y", t), "26 Jul 2024");
        assert_eq!(
            strftime("%A %B %j %H:%M:%S %y %I%p %%", t),
            "Friday July 208 13:05:09 24 01PM %"
        );
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(strftime("%a", 0), "Thu");
    }

    #[test]
    fn whitespace_is_transformers() {
        // trim_blocks + lstrip_blocks, no trailing newline kept.
        let src = "{% for m in messages %}\n  {% if m.role == 'user' %}\n[{{ m.content.strip() }}]\n  {% endif %}\n{% endfor %}\n";
        let t = JinjaTemplate::new(src, "test", Map::new()).unwrap();
        let out = t
            .render_json(
                &[json!({"role": "user", "content": " hi "})],
                false,
                &Map::new(),
            )
            .unwrap();
        assert_eq!(out, "[hi]\n");
    }

    #[test]
    fn raise_exception_names_the_message() {
        let src = "{{ raise_exception('Only user and assistant roles are supported!') }}";
        let t = JinjaTemplate::new(src, "dir/tokenizer_config.json", Map::new()).unwrap();
        let err = t.render(&[], false).unwrap_err().to_string();
        assert!(
            err.contains("Only user and assistant roles are supported!")
                && err.contains("dir/tokenizer_config.json"),
            "{err}"
        );
    }

    #[test]
    fn bad_template_is_a_clear_error() {
        let err = JinjaTemplate::new("{% for %}", "x/tokenizer_config.json", Map::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("x/tokenizer_config.json"), "{err}");
    }

    #[test]
    fn tojson_is_python_json_dumps() {
        let src = "{{ x | tojson }}|{{ x | tojson(indent=2) }}";
        let t = JinjaTemplate::new(src, "t", Map::new()).unwrap();
        let mut extra = Map::new();
        // Keys in sorted order: JSON objects are parsed into sorted maps.
        extra.insert("x".into(), json!({"a": {}, "b": [1, "é<"]}));
        let out = t.render_json(&[], false, &extra).unwrap();
        assert_eq!(
            out,
            "{\"a\": {}, \"b\": [1, \"é<\"]}|{\n  \"a\": {},\n  \"b\": [\n    1,\n    \"é<\"\n  ]\n}"
        );
    }

    #[test]
    fn named_templates_and_added_tokens() {
        let cfg = json!({
            "bos_token": {"content": "<s>", "lstrip": false},
            "eos_token": "</s>",
            "chat_template": [
                {"name": "tool_use", "template": "tools"},
                {"name": "default", "template": "{{ bos_token }}{{ messages[0]['content'] }}{{ eos_token }}"}
            ]
        });
        let t = JinjaTemplate::from_tokenizer_config(&cfg, "c")
            .unwrap()
            .unwrap();
        let out = t.render(&[ChatMessage::new("user", "hi")], false).unwrap();
        assert_eq!(out, "<s>hi</s>");
        assert_eq!(t.token("eos_token"), Some("</s>"));
        let none = JinjaTemplate::from_tokenizer_config(&json!({"eos_token": "x"}), "c").unwrap();
        assert!(none.is_none());
        let bad = json!({"chat_template": [{"name": "tool_use", "template": "x"}]});
        let err = JinjaTemplate::from_tokenizer_config(&bad, "c")
            .unwrap_err()
            .to_string();
        assert!(err.contains("default"), "{err}");
    }
}
