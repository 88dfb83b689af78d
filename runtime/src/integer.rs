//! [`Integer`]: the Rust type of a JSON Schema `integer` whose bounds do not fit `i64` or
//! `u64` (an unbounded `integer` among them). JSON Schema's integers have no range: any
//! number with a zero fractional part is one (`9223372036854775808`, `1e20`, `2.0`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Number;

/// A JSON integer of any size: a whole number as JSON carries it. Values in the `i64` and
/// `u64` ranges are exact; larger ones are held as the double JSON parsing read (as in
/// JavaScript), and written back as that double. Deserializing refuses a number with a
/// fractional part, and anything that is not a number.
///
/// Build one from any Rust integer (`Integer::from(7)`), read it back with
/// [`as_i64`](Self::as_i64) or [`as_u64`](Self::as_u64), or compare it with an `i64`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Integer(Number);

impl Integer {
    /// The integer, if `n` is one (a whole number).
    pub fn new(n: Number) -> Option<Integer> {
        let whole = n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.is_finite() && f.fract() == 0.0);
        whole.then_some(Integer(n))
    }

    /// The value as an `i64`, if it is in that range.
    pub fn as_i64(&self) -> Option<i64> {
        self.0
            .as_i64()
            .or_else(|| self.0.as_f64().filter(|f| (-(2f64.powi(63))..2f64.powi(63)).contains(f)).map(|f| f as i64))
    }

    /// The value as a `u64`, if it is in that range.
    pub fn as_u64(&self) -> Option<u64> {
        self.0.as_u64().or_else(|| self.0.as_f64().filter(|f| (0.0..2f64.powi(64)).contains(f)).map(|f| f as u64))
    }

    /// The value as the nearest `f64`.
    pub fn as_f64(&self) -> f64 {
        self.0.as_f64().unwrap_or_default()
    }

    /// The JSON number.
    pub fn as_number(&self) -> &Number {
        &self.0
    }
}

impl Default for Integer {
    fn default() -> Self {
        Integer(Number::from(0))
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Integer {
            fn from(v: $t) -> Self {
                Integer(Number::from(v))
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl TryFrom<Integer> for i64 {
    type Error = OutOfRange;
    fn try_from(v: Integer) -> Result<i64, OutOfRange> {
        v.as_i64().ok_or(OutOfRange)
    }
}

impl TryFrom<Integer> for u64 {
    type Error = OutOfRange;
    fn try_from(v: Integer) -> Result<u64, OutOfRange> {
        v.as_u64().ok_or(OutOfRange)
    }
}

impl PartialEq<i64> for Integer {
    fn eq(&self, other: &i64) -> bool {
        self.as_i64() == Some(*other)
    }
}

impl PartialEq<u64> for Integer {
    fn eq(&self, other: &u64) -> bool {
        self.as_u64() == Some(*other)
    }
}

impl fmt::Display for Integer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.as_i64(), self.0.as_u64()) {
            (Some(i), _) => write!(f, "{i}"),
            (_, Some(u)) => write!(f, "{u}"),
            // A whole double: written without a fractional part or exponent.
            _ => write!(f, "{:.0}", self.as_f64()),
        }
    }
}

/// An [`Integer`] outside the range of the Rust integer asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange;

impl fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the integer is out of range for the Rust type")
    }
}

impl std::error::Error for OutOfRange {}

impl Serialize for Integer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Integer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = Number::deserialize(deserializer)?;
        let text = n.to_string();
        Integer::new(n).ok_or_else(|| serde::de::Error::custom(format!("expected an integer, found {text}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Integer, serde_json::Error> {
        serde_json::from_str(text)
    }

    #[test]
    fn whole_numbers_of_any_size_round_trip() {
        for text in
            ["0", "-1", "9223372036854775807", "9223372036854775808", "18446744073709551615", "-9223372036854775808"]
        {
            let v = read(text).unwrap();
            assert_eq!(serde_json::to_string(&v).unwrap(), text);
            assert_eq!(v.to_string(), text);
        }
        let big = read("1e20").unwrap();
        assert_eq!(big.to_string(), "100000000000000000000");
        assert_eq!(serde_json::from_str::<f64>(&serde_json::to_string(&big).unwrap()).unwrap(), 1e20);
        assert_eq!(read("2.0").unwrap(), 2i64);
        assert_eq!(read("9007199254740992.0").unwrap().as_i64(), Some(9007199254740992));
    }

    #[test]
    fn fractions_and_other_values_are_refused() {
        for text in ["0.5", "-1.25", "\"1\"", "null", "true", "[1]"] {
            assert!(read(text).is_err(), "{text}");
        }
        assert!(read("1.5").unwrap_err().to_string().contains("expected an integer"));
    }

    #[test]
    fn conversions_say_when_out_of_range() {
        assert_eq!(i64::try_from(Integer::from(-3)), Ok(-3));
        assert_eq!(u64::try_from(Integer::from(-3)), Err(OutOfRange));
        assert_eq!(i64::try_from(Integer::from(u64::MAX)), Err(OutOfRange));
        assert_eq!(read("1e20").unwrap().as_u64(), None);
        assert_eq!(read("-1e19").unwrap().as_i64(), None);
        assert_eq!(Integer::from(u64::MAX).as_u64(), Some(u64::MAX));
    }
}
