//! A serde deserializer over toml's spanned document tree that remembers
//! *where* an error happened.
//!
//! `toml::from_str` loses positions inside typetag trait objects: typetag
//! passes each concrete config through `erased_serde`, which keeps only an
//! error's message, and it buffers a table whose `kind` is not its first
//! key, after which even the key is lost. This deserializer walks
//! [`toml::de::DeTable`] (which carries a span for every key and value),
//! always yields `kind` first (so typetag streams instead of buffering), and
//! records the span and key path of the innermost value or key that failed
//! in a side channel that survives erasure. [`locate`] turns that into a
//! message naming the file, line, column and key.

use std::cell::RefCell;
use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use toml::de::{DeArray, DeTable, DeValue};
use toml::Spanned;

use serde::de::DeserializeOwned;

use crate::config::slots::Slot;
use crate::error::{Error, Result as CoreResult};

/// Lists the kinds registered in a slot, for messages about an unknown
/// `kind`. Callers pass the installed registry's
/// ([`crate::registry::kinds`]); taking it as an argument keeps this
/// deserializer below the registry, which parses its examples with it.
pub(crate) type KnownKinds<'a> = &'a dyn Fn(Slot) -> Vec<String>;

/// One step of a key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A key path such as `stages[1].trainer.learning_rate`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    pub fn key(&self, k: &str) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }

    pub fn index(&self, i: usize) -> KeyPath {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }

    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if bare {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// The error type of this deserializer: a message; the position lives in
/// the [`Tracker`].
#[derive(Debug)]
pub struct DeError(pub String);

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError(msg.to_string())
    }
}

/// Where the first (innermost) failure happened.
#[derive(Clone, Debug)]
pub struct Location {
    pub span: Range<usize>,
    pub path: KeyPath,
}

/// Records the innermost failing position during one deserialization.
#[derive(Debug, Default)]
pub struct Tracker {
    first: RefCell<Option<Location>>,
}

impl Tracker {
    fn record(&self, span: Range<usize>, path: &KeyPath) {
        let mut first = self.first.borrow_mut();
        if first.is_none() {
            *first = Some(Location {
                span,
                path: path.clone(),
            });
        }
    }

    pub fn take(&self) -> Option<Location> {
        self.first.borrow_mut().take()
    }
}

/// Deserializes `T` from one spanned value, returning the message and the
/// location of the failure.
pub fn from_value<'de, T: de::Deserialize<'de>>(
    value: &Spanned<DeValue<'de>>,
    path: KeyPath,
) -> Result<T, (String, Location)> {
    let tracker = Tracker::default();
    let result = T::deserialize(ValueDe {
        value,
        path: path.clone(),
        tracker: &tracker,
    });
    result.map_err(|e| {
        let loc = tracker.take().unwrap_or(Location {
            span: value.span(),
            path,
        });
        (e.0, loc)
    })
}

/// Deserializes `T` from a whole document's root table.
pub fn from_table<'de, T: de::Deserialize<'de>>(
    table: &Spanned<DeTable<'de>>,
) -> Result<T, (String, Location)> {
    let value = Spanned::new(table.span(), DeValue::Table(table.get_ref().clone()));
    from_value(&value, KeyPath::default())
}

/// Parses TOML text into `T` with positioned errors (see
/// [`crate::config::from_toml_str`]); `known` lists the kinds of each slot
/// for an unknown `kind`.
pub(crate) fn parse_toml<T: DeserializeOwned>(
    text: &str,
    origin: &str,
    known: KnownKinds<'_>,
) -> CoreResult<T> {
    let doc = DeTable::parse(text)
        .map_err(|e| Error::config(super::describe_toml_error(text, origin, &e)))?;
    from_table(&doc)
        .map_err(|(message, loc)| Error::config(locate(text, origin, &message, &loc, known)))
}

/// Turns a failure into a message that names the file, line, column and key,
/// quotes the line, and (for an unknown `kind`) lists the known kinds.
pub fn locate(
    text: &str,
    origin: &str,
    message: &str,
    loc: &Location,
    known: KnownKinds<'_>,
) -> String {
    let message = improve_message(message, &loc.path, known);
    let (line, col) = super::line_col(text, loc.span.start);
    let source_line = text.lines().nth(line - 1).unwrap_or("");
    let key = if loc.path.0.is_empty() {
        String::new()
    } else {
        format!(" (key `{}`)", loc.path)
    };
    let gutter = line.to_string().len();
    let width = loc.span.end.saturating_sub(loc.span.start).clamp(
        1,
        source_line.chars().count().saturating_sub(col - 1).max(1),
    );
    format!(
        "{origin}:{line}:{col}: {message}{key}\n{:gutter$} |\n{line} | {source_line}\n{:gutter$} | {}{}",
        "",
        "",
        " ".repeat(col - 1),
        "^".repeat(width),
    )
}

/// Rewrites serde/typetag wording into the project's: an unknown `kind`
/// lists the known kinds of its slot.
fn improve_message(message: &str, path: &KeyPath, known: KnownKinds<'_>) -> String {
    if path.last_key() == Some("kind") {
        if let Some(rest) = message.strip_prefix("unknown variant ") {
            let (given, expected) = match rest.split_once(", expected ") {
                Some((g, e)) => (g, e),
                None => (rest, ""),
            };
            let names: Vec<String> = expected
                .trim_start_matches("one of ")
                .split(", ")
                .map(|s| s.trim_matches('`').to_string())
                .filter(|s| !s.is_empty())
                .collect();
            let slot = Slot::ALL.into_iter().find(|slot| {
                let mut kinds: Vec<String> = known(*slot);
                let mut given_names = names.clone();
                kinds.sort();
                given_names.sort();
                !kinds.is_empty() && kinds == given_names
            });
            return match slot {
                Some(slot) => unknown_kind_message(slot, given.trim_matches('`'), &known(slot)),
                None => format!(
                    "unknown kind {given}; known kinds: {}",
                    if names.is_empty() {
                        "(none registered)".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            };
        }
    }
    if message == "missing field `kind`" {
        return "missing field `kind` (every component table names its kind, e.g. `kind = \"...\"`; `metaalign list` shows them)".to_string();
    }
    message.to_string()
}

/// "unknown stage kind `x`; known stage kinds: a, b, c".
pub fn unknown_kind_message(slot: Slot, given: &str, known: &[String]) -> String {
    format!(
        "unknown {slot} kind `{given}`; known {slot} kinds: {}",
        if known.is_empty() {
            "(none registered)".to_string()
        } else {
            known.join(", ")
        }
    )
}

struct ValueDe<'a, 'de> {
    value: &'a Spanned<DeValue<'de>>,
    path: KeyPath,
    tracker: &'a Tracker,
}

impl<'a, 'de> ValueDe<'a, 'de> {
    fn track<T>(&self, r: Result<T, DeError>) -> Result<T, DeError> {
        if r.is_err() {
            self.tracker.record(self.value.span(), &self.path);
        }
        r
    }
}

fn integer<'de, V: Visitor<'de>>(
    i: &toml::de::DeInteger<'_>,
    visitor: V,
) -> Result<V::Value, DeError> {
    if let Ok(v) = i64::from_str_radix(i.as_str(), i.radix()) {
        visitor.visit_i64(v)
    } else if let Ok(v) = u64::from_str_radix(i.as_str(), i.radix()) {
        visitor.visit_u64(v)
    } else {
        Err(DeError(format!("integer `{i}` is out of range")))
    }
}

fn float<'de, V: Visitor<'de>>(f: &toml::de::DeFloat<'_>, visitor: V) -> Result<V::Value, DeError> {
    let s = f.as_str();
    let v = match s.trim_start_matches(['+', '-']) {
        "inf" | "nan" => s.parse::<f64>().ok(),
        _ => s.parse::<f64>().ok().filter(|v| v.is_finite()),
    };
    match v {
        Some(v) => visitor.visit_f64(v),
        None => Err(DeError(format!("float `{s}` is out of range"))),
    }
}

impl<'a, 'de> de::Deserializer<'de> for ValueDe<'a, 'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match self.value.get_ref() {
            DeValue::String(s) => match s {
                std::borrow::Cow::Borrowed(b) => visitor.visit_borrowed_str(b),
                std::borrow::Cow::Owned(o) => visitor.visit_str(o),
            },
            DeValue::Integer(i) => integer(i, visitor),
            DeValue::Float(f) => float(f, visitor),
            DeValue::Boolean(b) => visitor.visit_bool(*b),
            DeValue::Datetime(d) => visitor.visit_string(d.to_string()),
            DeValue::Array(a) => visitor.visit_seq(SeqDe::new(a, &self.path, self.tracker)),
            DeValue::Table(t) => visitor.visit_map(MapDe::new(t, &self.path, self.tracker)),
        };
        self.track(r)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let (span, path, tracker) = (self.value.span(), self.path.clone(), self.tracker);
        let r = visitor.visit_some(self);
        if r.is_err() {
            tracker.record(span, &path);
        }
        r
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let (span, path, tracker) = (self.value.span(), self.path.clone(), self.tracker);
        let r = visitor.visit_newtype_struct(self);
        if r.is_err() {
            tracker.record(span, &path);
        }
        r
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let r = match self.value.get_ref() {
            DeValue::String(s) => {
                let de: de::value::StrDeserializer<'_, DeError> = s.as_ref().into_deserializer();
                visitor.visit_enum(de)
            }
            DeValue::Table(t) if t.len() == 1 => {
                let (k, v) = t.iter().next().expect("one entry");
                visitor.visit_enum(EnumDe {
                    key: k.get_ref().as_ref(),
                    value: v,
                    path: self.path.key(k.get_ref()),
                    tracker: self.tracker,
                })
            }
            _ => Err(DeError(
                "expected a string or a table with exactly one key (an enum variant)".into(),
            )),
        };
        self.track(r)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

struct SeqDe<'a, 'de> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Spanned<DeValue<'de>>>>,
    path: KeyPath,
    tracker: &'a Tracker,
}

impl<'a, 'de> SeqDe<'a, 'de> {
    fn new(a: &'a DeArray<'de>, path: &KeyPath, tracker: &'a Tracker) -> Self {
        let items: &'a [Spanned<DeValue<'de>>] = a;
        Self {
            items: items.iter().enumerate(),
            path: path.clone(),
            tracker,
        }
    }
}

impl<'a, 'de> de::SeqAccess<'de> for SeqDe<'a, 'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            None => Ok(None),
            Some((i, v)) => seed
                .deserialize(ValueDe {
                    value: v,
                    path: self.path.index(i),
                    tracker: self.tracker,
                })
                .map(Some),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

type Entry<'a, 'de> = (
    &'a Spanned<std::borrow::Cow<'de, str>>,
    &'a Spanned<DeValue<'de>>,
);

struct MapDe<'a, 'de> {
    entries: std::vec::IntoIter<Entry<'a, 'de>>,
    pending: Option<Entry<'a, 'de>>,
    path: KeyPath,
    tracker: &'a Tracker,
}

impl<'a, 'de> MapDe<'a, 'de> {
    fn new(t: &'a DeTable<'de>, path: &KeyPath, tracker: &'a Tracker) -> Self {
        let mut entries: Vec<Entry<'a, 'de>> = t.iter().collect();
        // `kind` first (typetag then streams the rest instead of buffering
        // it), then document order.
        entries.sort_by_key(|(k, _)| (k.get_ref().as_ref() != "kind", k.span().start));
        Self {
            entries: entries.into_iter(),
            pending: None,
            path: path.clone(),
            tracker,
        }
    }
}

impl<'a, 'de> de::MapAccess<'de> for MapDe<'a, 'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some(entry);
        let key = entry.0;
        let r = match key.get_ref() {
            std::borrow::Cow::Borrowed(b) => {
                let de: de::value::BorrowedStrDeserializer<'de, DeError> =
                    de::value::BorrowedStrDeserializer::new(b);
                seed.deserialize(de)
            }
            std::borrow::Cow::Owned(o) => {
                let de: de::value::StrDeserializer<'_, DeError> = o.as_str().into_deserializer();
                seed.deserialize(de)
            }
        };
        if r.is_err() {
            self.tracker
                .record(key.span(), &self.path.key(key.get_ref()));
        }
        r.map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some((k, v)) = self.pending.take() else {
            return Err(DeError("value requested before its key".into()));
        };
        seed.deserialize(ValueDe {
            value: v,
            path: self.path.key(k.get_ref()),
            tracker: self.tracker,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct EnumDe<'a, 'de> {
    key: &'a str,
    value: &'a Spanned<DeValue<'de>>,
    path: KeyPath,
    tracker: &'a Tracker,
}

impl<'a, 'de> de::EnumAccess<'de> for EnumDe<'a, 'de> {
    type Error = DeError;
    type Variant = ValueDe<'a, 'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), DeError> {
        let de: de::value::StrDeserializer<'_, DeError> = self.key.into_deserializer();
        let v = seed.deserialize(de)?;
        Ok((
            v,
            ValueDe {
                value: self.value,
                path: self.path,
                tracker: self.tracker,
            },
        ))
    }
}

impl<'a, 'de> de::VariantAccess<'de> for ValueDe<'a, 'de> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.value.get_ref() {
            DeValue::Table(t) if t.is_empty() => Ok(()),
            _ => self.track(Err(DeError(
                "expected an empty table for a unit variant".into(),
            ))),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        rate: f64,
        #[serde(default)]
        steps: u32,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: String,
        inner: Inner,
        list: Vec<Inner>,
        #[serde(default)]
        mode: Option<Mode>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Fast,
        Slow { factor: u32 },
    }

    fn parse(text: &str) -> Result<Outer, String> {
        let doc = DeTable::parse(text).unwrap();
        from_table::<Outer>(&doc)
            .map_err(|(m, loc)| locate(text, "t.toml", &m, &loc, &crate::registry::kinds))
    }

    #[test]
    fn values_parse() {
        let o = parse(
            "name = \"x\"\nmode = { slow = { factor = 3 } }\n[inner]\nrate = 1\n[[list]]\nrate = 2.5\nsteps = 0x10\n",
        )
        .unwrap();
        assert_eq!(
            o.inner,
            Inner {
                rate: 1.0,
                steps: 0
            }
        );
        assert_eq!(
            o.list[0],
            Inner {
                rate: 2.5,
                steps: 16
            }
        );
        assert_eq!(o.mode, Some(Mode::Slow { factor: 3 }));
        let o =
            parse("name = \"x\"\nmode = \"fast\"\ninner = { rate = 1.0 }\nlist = []\n").unwrap();
        assert_eq!(o.mode, Some(Mode::Fast));
    }

    #[test]
    fn errors_name_key_line_and_column() {
        let e = parse("name = \"x\"\nlist = []\n[inner]\nrate = 1.0\nstepz = 3\n").unwrap_err();
        assert!(e.starts_with("t.toml:5:1: unknown field `stepz`"), "{e}");
        assert!(e.contains("key `inner.stepz`"), "{e}");
        let e = parse("name = \"x\"\nlist = [{ rate = \"fast\" }]\ninner = { rate = 1 }\n")
            .unwrap_err();
        assert!(
            e.starts_with("t.toml:2:18: invalid type: string \"fast\""),
            "{e}"
        );
        assert!(e.contains("key `list[0].rate`"), "{e}");
        let e = parse("name = \"x\"\nlist = []\n[inner]\nsteps = 1\n").unwrap_err();
        assert!(e.starts_with("t.toml:3:1: missing field `rate`"), "{e}");
        assert!(e.contains("key `inner`"), "{e}");
    }
}
