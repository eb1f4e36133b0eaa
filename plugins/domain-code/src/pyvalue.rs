//! Python values as the checker compares them: what `json.loads` makes of
//! an expected output (exact integers, `NaN`/`Infinity` accepted), what a
//! program returned (tagged by the harness), and Python's `==` on them.

use num_bigint::BigInt;
use num_traits::{FromPrimitive, Zero};
use serde_json::Value;

/// A Python value.
#[derive(Clone, Debug, PartialEq)]
pub enum Py {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An int of any size.
    Int(BigInt),
    /// A float.
    Float(f64),
    /// A str.
    Str(String),
    /// A list.
    List(Vec<Py>),
    /// A tuple.
    Tuple(Vec<Py>),
    /// A dict, as its items in insertion order.
    Dict(Vec<(Py, Py)>),
    /// Any other object (a set, a custom class): equal to nothing.
    Other(String),
}

impl Py {
    /// A short rendering for verdict details.
    pub fn show(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        if s.len() > 200 {
            let mut cut = 200;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s.push('…');
        }
        s
    }

    fn write(&self, s: &mut String) {
        if s.len() > 256 {
            return;
        }
        match self {
            Py::None => s.push_str("None"),
            Py::Bool(b) => s.push_str(if *b { "True" } else { "False" }),
            Py::Int(i) => s.push_str(&i.to_string()),
            Py::Float(f) => s.push_str(&format!("{f:?}")),
            Py::Str(t) => s.push_str(&format!("{t:?}")),
            Py::List(v) | Py::Tuple(v) => {
                let (open, close) = if matches!(self, Py::List(_)) {
                    ('[', ']')
                } else {
                    ('(', ')')
                };
                s.push(open);
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    x.write(s);
                }
                s.push(close);
            }
            Py::Dict(v) => {
                s.push('{');
                for (i, (k, x)) in v.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    k.write(s);
                    s.push_str(": ");
                    x.write(s);
                }
                s.push('}');
            }
            Py::Other(t) => {
                s.push('<');
                s.push_str(t);
                s.push('>');
            }
        }
    }
}

/// The numeric value of bools, ints and floats.
enum Num<'a> {
    Int(std::borrow::Cow<'a, BigInt>),
    Float(f64),
}

fn num(v: &Py) -> Option<Num<'_>> {
    match v {
        Py::Bool(b) => Some(Num::Int(std::borrow::Cow::Owned(BigInt::from(*b as u8)))),
        Py::Int(i) => Some(Num::Int(std::borrow::Cow::Borrowed(i))),
        Py::Float(f) => Some(Num::Float(*f)),
        _ => None,
    }
}

fn int_eq_float(i: &BigInt, f: f64) -> bool {
    f.is_finite() && f.fract() == 0.0 && BigInt::from_f64(f).is_some_and(|g| &g == i)
}

/// Python's `a == b` for these values (`1 == 1.0 == True`, `[1] != (1,)`,
/// `nan != nan`, dicts equal as mappings).
pub fn py_eq(a: &Py, b: &Py) -> bool {
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return match (x, y) {
            (Num::Int(x), Num::Int(y)) => x == y,
            (Num::Int(x), Num::Float(y)) | (Num::Float(y), Num::Int(x)) => int_eq_float(&x, y),
            (Num::Float(x), Num::Float(y)) => x == y,
        };
    }
    match (a, b) {
        (Py::None, Py::None) => true,
        (Py::Str(x), Py::Str(y)) => x == y,
        (Py::List(x), Py::List(y)) | (Py::Tuple(x), Py::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
        }
        (Py::Dict(x), Py::Dict(y)) => {
            let x = dedup_keys(x);
            let y = dedup_keys(y);
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    y.iter()
                        .find(|(k2, _)| py_eq(k, k2))
                        .is_some_and(|(_, v2)| py_eq(v, v2))
                })
        }
        _ => false,
    }
}

/// A dict's pairs with later duplicates of a key winning, as Python builds it.
fn dedup_keys(pairs: &[(Py, Py)]) -> Vec<&(Py, Py)> {
    let mut out: Vec<&(Py, Py)> = Vec::with_capacity(pairs.len());
    for p in pairs {
        match out.iter().position(|q| py_eq(&q.0, &p.0)) {
            Some(i) => out[i] = p,
            None => out.push(p),
        }
    }
    out
}

/// The value the harness reported (`["I", "12"]`, `["L", [...]]`, ...).
pub fn from_tagged(v: &Value) -> Result<Py, String> {
    let bad = || format!("malformed value from the harness: {}", short(v));
    let Value::Array(items) = v else {
        return Err(bad());
    };
    let tag = items.first().and_then(Value::as_str).ok_or_else(bad)?;
    let arg = items.get(1);
    let list = |arg: Option<&Value>| -> Result<Vec<Py>, String> {
        match arg {
            Some(Value::Array(xs)) => xs.iter().map(from_tagged).collect(),
            _ => Err(bad()),
        }
    };
    Ok(match tag {
        "N" => Py::None,
        "B" => Py::Bool(arg.and_then(Value::as_bool).ok_or_else(bad)?),
        "I" => Py::Int(
            arg.and_then(Value::as_str)
                .and_then(|s| s.parse::<BigInt>().ok())
                .ok_or_else(bad)?,
        ),
        "F" => Py::Float(
            arg.and_then(Value::as_str)
                .and_then(parse_float_repr)
                .ok_or_else(bad)?,
        ),
        "S" => Py::Str(arg.and_then(Value::as_str).ok_or_else(bad)?.to_string()),
        "L" => Py::List(list(arg)?),
        "T" => Py::Tuple(list(arg)?),
        "D" => {
            let Some(Value::Array(pairs)) = arg else {
                return Err(bad());
            };
            let mut out = Vec::with_capacity(pairs.len());
            for p in pairs {
                match p {
                    Value::Array(kv) if kv.len() == 2 => {
                        out.push((from_tagged(&kv[0])?, from_tagged(&kv[1])?))
                    }
                    _ => return Err(bad()),
                }
            }
            Py::Dict(out)
        }
        "X" => Py::Other(arg.and_then(Value::as_str).unwrap_or("object").to_string()),
        _ => return Err(bad()),
    })
}

fn short(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 80 {
        let mut cut = 80;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// Python's `repr(float)` back to a float (`inf`, `-inf`, `nan` included).
fn parse_float_repr(s: &str) -> Option<f64> {
    match s {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// `json.loads(text)` as Python does it: exact integers, floats, `NaN`,
/// `Infinity`, `-Infinity`; surrounding whitespace allowed.
pub fn from_json(text: &str) -> Result<Py, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
        depth: 0,
    };
    p.ws();
    let v = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("extra data at character {}", p.i));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self
            .s
            .get(self.i)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.i += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at character {}", self.i))
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<Py, String> {
        if self.depth > 512 {
            return self.err("nested too deep");
        }
        match self.s.get(self.i) {
            None => self.err("expecting a value"),
            Some(b'{') => {
                self.i += 1;
                self.depth += 1;
                let mut pairs = Vec::new();
                self.ws();
                if self.eat("}") {
                    self.depth -= 1;
                    return Ok(Py::Dict(pairs));
                }
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return self.err("expecting a property name");
                    }
                    let k = self.string()?;
                    self.ws();
                    if !self.eat(":") {
                        return self.err("expecting ':'");
                    }
                    self.ws();
                    let v = self.value()?;
                    pairs.push((Py::Str(k), v));
                    self.ws();
                    if self.eat(",") {
                        continue;
                    }
                    if self.eat("}") {
                        break;
                    }
                    return self.err("expecting ',' or '}'");
                }
                self.depth -= 1;
                Ok(Py::Dict(pairs))
            }
            Some(b'[') => {
                self.i += 1;
                self.depth += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat("]") {
                    self.depth -= 1;
                    return Ok(Py::List(items));
                }
                loop {
                    self.ws();
                    items.push(self.value()?);
                    self.ws();
                    if self.eat(",") {
                        continue;
                    }
                    if self.eat("]") {
                        break;
                    }
                    return self.err("expecting ',' or ']'");
                }
                self.depth -= 1;
                Ok(Py::List(items))
            }
            Some(b'"') => Ok(Py::Str(self.string()?)),
            Some(_) => {
                if self.eat("null") {
                    Ok(Py::None)
                } else if self.eat("true") {
                    Ok(Py::Bool(true))
                } else if self.eat("false") {
                    Ok(Py::Bool(false))
                } else if self.eat("NaN") {
                    Ok(Py::Float(f64::NAN))
                } else if self.eat("Infinity") {
                    Ok(Py::Float(f64::INFINITY))
                } else if self.eat("-Infinity") {
                    Ok(Py::Float(f64::NEG_INFINITY))
                } else {
                    self.number()
                }
            }
        }
    }

    fn number(&mut self) -> Result<Py, String> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let b = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - b
        };
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        let n = digits(self);
        if n == 0 || (n > 1 && self.s[int_start] == b'0') {
            self.i = start;
            return self.err("expecting a value");
        }
        let mut float = false;
        if self.s.get(self.i) == Some(&b'.')
            && self.s.get(self.i + 1).is_some_and(u8::is_ascii_digit)
        {
            self.i += 1;
            digits(self);
            float = true;
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            let save = self.i;
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                self.i = save;
            } else {
                float = true;
            }
        }
        let t = &self.text[start..self.i];
        if float {
            t.parse::<f64>()
                .map(Py::Float)
                .or_else(|_| self.err("bad number"))
        } else {
            t.parse::<BigInt>()
                .map(Py::Int)
                .or_else(|_| self.err("bad number"))
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // the opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            while self
                .s
                .get(self.i)
                .is_some_and(|&c| c != b'"' && c != b'\\' && c >= 0x20)
            {
                self.i += 1;
            }
            out.push_str(&self.text[start..self.i]);
            match self.s.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = match self.s.get(self.i) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let hi = self.hex4()?;
                            if (0xD800..0xDC00).contains(&hi)
                                && self.s[self.i + 1..].starts_with(b"\\u")
                            {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                    char::from_u32(cp).unwrap_or('\u{fffd}')
                                } else {
                                    self.i = save;
                                    '\u{fffd}'
                                }
                            } else {
                                // A lone surrogate: Python keeps it; it can
                                // only equal the same lone surrogate.
                                char::from_u32(hi).unwrap_or('\u{fffd}')
                            }
                        }
                        _ => return self.err("invalid \\escape"),
                    };
                    self.i += 1;
                    out.push(c);
                }
                Some(_) => return self.err("invalid control character"),
                None => return self.err("unterminated string"),
            }
        }
    }

    /// Reads `uXXXX` (at `u`), leaving `i` on the last hex digit.
    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .s
            .get(self.i + 1..self.i + 5)
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|t| u32::from_str_radix(t, 16).ok());
        match h {
            Some(v) => {
                self.i += 4;
                Ok(v)
            }
            None => self.err("invalid \\uXXXX escape"),
        }
    }
}

/// True when the value is a number equal to zero (for tests).
pub fn is_zero(v: &Py) -> bool {
    match v {
        Py::Int(i) => i.is_zero(),
        Py::Float(f) => *f == 0.0,
        Py::Bool(b) => !*b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(s: &str) -> Py {
        from_json(s).unwrap()
    }

    #[test]
    fn json_like_python() {
        assert_eq!(
            j("123456789012345678901234567890"),
            Py::Int("123456789012345678901234567890".parse().unwrap())
        );
        assert!(matches!(j("NaN"), Py::Float(f) if f.is_nan()));
        assert_eq!(
            j(" [1, 2.5, \"a\\u00e9\"] "),
            Py::List(vec![
                Py::Int(1.into()),
                Py::Float(2.5),
                Py::Str("aé".into())
            ])
        );
        for bad in ["", "01", "[1,]", "{1:2}", "tru", "1 2", "\"\\x\""] {
            assert!(from_json(bad).is_err(), "{bad}");
        }
        assert!(is_zero(&j("0.0")));
    }

    #[test]
    fn equality_like_python() {
        assert!(py_eq(&j("1"), &Py::Float(1.0)));
        assert!(py_eq(&j("1"), &Py::Bool(true)));
        assert!(!py_eq(
            &j("9007199254740993"),
            &Py::Float(9007199254740992.0)
        ));
        assert!(!py_eq(&j("[1]"), &Py::Tuple(vec![Py::Int(1.into())])));
        assert!(!py_eq(&j("NaN"), &j("NaN")));
        assert!(py_eq(
            &j("{\"a\": [1, 2], \"b\": null}"),
            &j("{\"b\": null, \"a\": [1.0, 2]}")
        ));
        assert!(!py_eq(&Py::Other("set".into()), &Py::Other("set".into())));
        assert!(py_eq(&j("{\"a\": 1, \"a\": 2}"), &j("{\"a\": 2}")));
    }

    #[test]
    fn tagged_values() {
        let v: Value = serde_json::from_str(
            r#"["L", [["I", "5"], ["F", "inf"], ["T", []], ["D", [[["S", "k"], ["N"]]]]]]"#,
        )
        .unwrap();
        let p = from_tagged(&v).unwrap();
        assert_eq!(p.show(), "[5, inf, (), {\"k\": None}]");
        assert!(from_tagged(&serde_json::json!(["Q"])).is_err());
        assert!(from_tagged(&serde_json::json!(5)).is_err());
    }
}
