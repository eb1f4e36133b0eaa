//! Floating-point storage dtypes of merge inputs and outputs, and the
//! conversions to and from the f32 the maths runs in.

use std::fmt;
use std::str::FromStr;

use metaalign_core::{Error, Result};
use safetensors::Dtype;

/// A floating-point dtype a merge can read or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatDType {
    /// IEEE 754 single precision (`float32`).
    F32,
    /// bfloat16: float32's exponent range with an 8-bit mantissa.
    BF16,
    /// IEEE 754 half precision (`float16`).
    F16,
    /// IEEE 754 double precision (`float64`). Inputs may use it; a merge
    /// writes float32 in its place.
    F64,
}

impl FloatDType {
    /// The safetensors dtype, for headers.
    pub fn safetensors(self) -> Dtype {
        match self {
            FloatDType::F32 => Dtype::F32,
            FloatDType::BF16 => Dtype::BF16,
            FloatDType::F16 => Dtype::F16,
            FloatDType::F64 => Dtype::F64,
        }
    }

    /// From a safetensors dtype; `None` for integer, bool and 8-bit formats.
    pub fn from_safetensors(dtype: Dtype) -> Option<Self> {
        match dtype {
            Dtype::F32 => Some(FloatDType::F32),
            Dtype::BF16 => Some(FloatDType::BF16),
            Dtype::F16 => Some(FloatDType::F16),
            Dtype::F64 => Some(FloatDType::F64),
            _ => None,
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            FloatDType::F32 => 4,
            FloatDType::BF16 | FloatDType::F16 => 2,
            FloatDType::F64 => 8,
        }
    }

    /// The name used in safetensors headers (`F32`, `BF16`...).
    pub fn header_name(self) -> &'static str {
        match self {
            FloatDType::F32 => "F32",
            FloatDType::BF16 => "BF16",
            FloatDType::F16 => "F16",
            FloatDType::F64 => "F64",
        }
    }

    /// The name used in HF `config.json` (`torch_dtype`).
    pub fn torch_name(self) -> &'static str {
        match self {
            FloatDType::F32 => "float32",
            FloatDType::BF16 => "bfloat16",
            FloatDType::F16 => "float16",
            FloatDType::F64 => "float64",
        }
    }

    /// Decodes little-endian bytes of this dtype into `out` (same length in elements).
    pub fn decode_into(self, bytes: &[u8], out: &mut [f32]) {
        match self {
            FloatDType::F32 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                }
            }
            FloatDType::BF16 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                    *o = half::bf16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32();
                }
            }
            FloatDType::F16 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                    *o = half::f16::from_bits(u16::from_le_bytes([c[0], c[1]])).to_f32();
                }
            }
            FloatDType::F64 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(c);
                    *o = f64::from_le_bytes(b) as f32;
                }
            }
        }
    }

    /// Encodes f32 values as little-endian bytes of this dtype (round to nearest even).
    pub fn encode(self, values: &[f32]) -> Vec<u8> {
        let mut out = Vec::with_capacity(values.len() * self.size());
        match self {
            FloatDType::F32 => {
                for v in values {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            FloatDType::BF16 => {
                for v in values {
                    out.extend_from_slice(&half::bf16::from_f32(*v).to_bits().to_le_bytes());
                }
            }
            FloatDType::F16 => {
                for v in values {
                    out.extend_from_slice(&half::f16::from_f32(*v).to_bits().to_le_bytes());
                }
            }
            FloatDType::F64 => {
                for v in values {
                    out.extend_from_slice(&f64::from(*v).to_le_bytes());
                }
            }
        }
        out
    }
}

impl fmt::Display for FloatDType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.torch_name())
    }
}

impl FromStr for FloatDType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "float32" | "f32" | "fp32" => Ok(FloatDType::F32),
            "bfloat16" | "bf16" => Ok(FloatDType::BF16),
            "float16" | "f16" | "fp16" | "half" => Ok(FloatDType::F16),
            other => Err(Error::config(format!(
                "unknown output dtype `{other}` (known: float32, bfloat16, float16)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_parses() {
        let v = [1.0f32, -2.5, 0.1, 3.0e-3];
        for d in [
            FloatDType::F32,
            FloatDType::BF16,
            FloatDType::F16,
            FloatDType::F64,
        ] {
            let bytes = d.encode(&v);
            assert_eq!(bytes.len(), v.len() * d.size());
            let mut back = [0f32; 4];
            d.decode_into(&bytes, &mut back);
            for (a, b) in v.iter().zip(back) {
                assert!((a - b).abs() <= a.abs() * 1e-2, "{d}: {a} vs {b}");
            }
        }
        assert_eq!("bf16".parse::<FloatDType>().unwrap(), FloatDType::BF16);
        assert!("int8"
            .parse::<FloatDType>()
            .unwrap_err()
            .to_string()
            .contains("int8"));
    }
}
