//! Points as exact hundredths.
//!
//! Schemes count in fractions (ISC2 counts in quarter points), and binary floating point cannot
//! add 0.1 three times and get 0.3. Every amount of points in the ledger is therefore an integer
//! number of hundredths; parsing rejects anything finer so that nothing is silently lost.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of continuing-education points (CPE, CEU, hours), exact to a hundredth.
///
/// Parsed amounts are never negative. Arithmetic on `Points` may go below zero (a shortfall is
/// `required - counted`); use [`Points::saturating_sub`] when a shortfall must stop at zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Points(i64);

/// Why a text or number is not an amount of points.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointsError {
    #[error("points must not be empty")]
    Empty,
    #[error("points must not be negative: {0:?}")]
    Negative(String),
    #[error("points may have at most two decimals: {0:?}")]
    TooPrecise(String),
    #[error("points must be a decimal number such as 12, 12.5 or 12.25: {0:?}")]
    Malformed(String),
    #[error("points are too large: {0:?}")]
    TooLarge(String),
}

impl Points {
    pub const ZERO: Points = Points(0);

    pub const fn from_hundredths(hundredths: i64) -> Self {
        Points(hundredths)
    }

    pub const fn hundredths(self) -> i64 {
        self.0
    }

    /// A whole number of points. Saturates instead of overflowing.
    pub const fn whole(points: i64) -> Self {
        Points(points.saturating_mul(100))
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `self - other`, but never below zero.
    pub fn saturating_sub(self, other: Points) -> Points {
        Points(self.0.saturating_sub(other.0).max(0))
    }

    /// Rounds down to a multiple of `step` (ISC2 counts in 0.25 steps, so 1.9 becomes 1.75).
    /// A step that is zero or negative leaves the amount unchanged.
    pub fn round_down_to_step(self, step: Points) -> Points {
        if step.0 <= 0 {
            return self;
        }
        Points(self.0.div_euclid(step.0) * step.0)
    }
}

impl FromStr for Points {
    type Err = PointsError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(PointsError::Empty);
        }
        if let Some(rest) = trimmed.strip_prefix('-') {
            if rest.chars().any(|c| c.is_ascii_digit()) {
                return Err(PointsError::Negative(text.to_owned()));
            }
            return Err(PointsError::Malformed(text.to_owned()));
        }
        let (whole, fraction) = match trimmed.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (trimmed, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) {
            return Err(PointsError::Malformed(text.to_owned()));
        }
        let fraction_hundredths = match fraction {
            None => 0,
            Some(f) if !all_digits(f) => return Err(PointsError::Malformed(text.to_owned())),
            Some(f) if f.len() > 2 => return Err(PointsError::TooPrecise(text.to_owned())),
            Some(f) => parse_fraction(f),
        };
        let whole: i64 = whole
            .parse()
            .map_err(|_| PointsError::TooLarge(text.to_owned()))?;
        whole
            .checked_mul(100)
            .and_then(|h| h.checked_add(fraction_hundredths))
            .map(Points)
            .ok_or_else(|| PointsError::TooLarge(text.to_owned()))
    }
}

/// One or two ASCII digits after the decimal point, as hundredths ("5" → 50, "25" → 25).
fn parse_fraction(digits: &str) -> i64 {
    let mut value = 0;
    for (i, b) in digits.bytes().enumerate() {
        let digit = i64::from(b - b'0');
        value += if i == 0 { digit * 10 } else { digit };
    }
    value
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (whole, fraction) = (abs / 100, abs % 100);
        match fraction {
            0 => write!(f, "{sign}{whole}"),
            fr if fr % 10 == 0 => write!(f, "{sign}{whole}.{}", fr / 10),
            fr => write!(f, "{sign}{whole}.{fr:02}"),
        }
    }
}

impl Add for Points {
    type Output = Points;
    fn add(self, rhs: Points) -> Points {
        Points(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Points {
    fn add_assign(&mut self, rhs: Points) {
        *self = *self + rhs;
    }
}

impl Sub for Points {
    type Output = Points;
    fn sub(self, rhs: Points) -> Points {
        Points(self.0.saturating_sub(rhs.0))
    }
}

impl SubAssign for Points {
    fn sub_assign(&mut self, rhs: Points) {
        *self = *self - rhs;
    }
}

impl Sum for Points {
    fn sum<I: Iterator<Item = Points>>(iter: I) -> Points {
        iter.fold(Points::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Points> for Points {
    fn sum<I: Iterator<Item = &'a Points>>(iter: I) -> Points {
        iter.copied().sum()
    }
}

/// Serialized as a JSON/TOML number (12.25), so API clients read points as numbers.
impl Serialize for Points {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 % 100 == 0 {
            serializer.serialize_i64(self.0 / 100)
        } else {
            // Exact for every value below 2^53 hundredths, and serde_json prints the shortest
            // representation that round-trips, so 1225 hundredths is written as 12.25.
            #[expect(clippy::cast_precision_loss, reason = "hundredths far below 2^53")]
            let value = self.0 as f64 / 100.0;
            serializer.serialize_f64(value)
        }
    }
}

/// Documented as the number it serializes as, in steps of 0.01.
impl utoipa::PartialSchema for Points {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Number)
            .multiple_of(Some(0.01))
            .description(Some("Points (or hours), with at most two decimals"))
            .examples([serde_json::json!(12.25)])
            .into()
    }
}

impl utoipa::ToSchema for Points {}

/// Accepts a number (12, 12.25) or a string ("12.25"); rejects negatives and more than two
/// decimals, exactly as [`FromStr`] does.
impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PointsVisitor)
    }
}

struct PointsVisitor;

impl Visitor<'_> for PointsVisitor {
    type Value = Points;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative number of points with at most two decimals")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Points, E> {
        if v < 0 {
            return Err(E::custom(PointsError::Negative(v.to_string())));
        }
        v.checked_mul(100)
            .map(Points)
            .ok_or_else(|| E::custom(PointsError::TooLarge(v.to_string())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Points, E> {
        i64::try_from(v)
            .ok()
            .and_then(|v| v.checked_mul(100))
            .map(Points)
            .ok_or_else(|| E::custom(PointsError::TooLarge(v.to_string())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Points, E> {
        if !v.is_finite() {
            return Err(E::custom(PointsError::Malformed(v.to_string())));
        }
        if v < 0.0 {
            return Err(E::custom(PointsError::Negative(v.to_string())));
        }
        let scaled = v * 100.0;
        let rounded = scaled.round();
        if (scaled - rounded).abs() > 1e-6 * rounded.abs().max(1.0) {
            return Err(E::custom(PointsError::TooPrecise(v.to_string())));
        }
        if rounded >= 9.0e15 {
            return Err(E::custom(PointsError::TooLarge(v.to_string())));
        }
        #[expect(clippy::cast_possible_truncation, reason = "range checked above")]
        Ok(Points(rounded as i64))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Points, E> {
        v.parse().map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    fn p(text: &str) -> Points {
        text.parse().unwrap()
    }

    #[test]
    fn whole_and_decimal_amounts_parse_to_hundredths() {
        assert_eq!(p("12").hundredths(), 1200);
        assert_eq!(p("12.5").hundredths(), 1250);
        assert_eq!(p("12.25").hundredths(), 1225);
        assert_eq!(p(" 0.05 ").hundredths(), 5);
    }

    #[test]
    fn more_than_two_decimals_are_rejected_not_rounded() {
        assert_eq!(
            "1.255".parse::<Points>(),
            Err(PointsError::TooPrecise("1.255".into()))
        );
        assert!(matches!(
            "12.500".parse::<Points>(),
            Err(PointsError::TooPrecise(_))
        ));
    }

    #[test]
    fn negative_nan_and_garbage_are_rejected_with_a_clear_error() {
        assert_eq!(
            "-1".parse::<Points>(),
            Err(PointsError::Negative("-1".into()))
        );
        assert!(matches!(
            "NaN".parse::<Points>(),
            Err(PointsError::Malformed(_))
        ));
        assert!(matches!(
            "12a".parse::<Points>(),
            Err(PointsError::Malformed(_))
        ));
        assert!(matches!(
            "1.".parse::<Points>(),
            Err(PointsError::Malformed(_))
        ));
        assert!(matches!(
            ".5".parse::<Points>(),
            Err(PointsError::Malformed(_))
        ));
        assert!(matches!(
            "1e3".parse::<Points>(),
            Err(PointsError::Malformed(_))
        ));
        assert_eq!("".parse::<Points>(), Err(PointsError::Empty));
        assert!(matches!(
            "99999999999999999999".parse::<Points>(),
            Err(PointsError::TooLarge(_))
        ));
        let message = "-3".parse::<Points>().unwrap_err().to_string();
        assert!(message.contains("negative"), "{message}");
    }

    #[test]
    fn display_uses_as_few_decimals_as_needed() {
        assert_eq!(p("12").to_string(), "12");
        assert_eq!(p("12.5").to_string(), "12.5");
        assert_eq!(p("12.25").to_string(), "12.25");
        assert_eq!(p("0.05").to_string(), "0.05");
        assert_eq!((Points::ZERO - p("1.5")).to_string(), "-1.5");
    }

    #[test]
    fn arithmetic_and_ordering_work_on_hundredths() {
        assert_eq!(p("0.1") + p("0.2"), p("0.3"));
        assert_eq!(p("5") - p("1.25"), p("3.75"));
        assert_eq!([p("1"), p("2.5")].iter().sum::<Points>(), p("3.5"));
        assert!(p("1.01") > p("1"));
        assert_eq!(Points::whole(40), p("40"));
        assert_eq!(p("1").saturating_sub(p("3")), Points::ZERO);
    }

    #[test]
    fn rounding_down_to_a_quarter_step_drops_the_remainder() {
        let quarter = p("0.25");
        assert_eq!(p("1.9").round_down_to_step(quarter), p("1.75"));
        assert_eq!(p("2").round_down_to_step(quarter), p("2"));
        assert_eq!(p("0.2").round_down_to_step(quarter), Points::ZERO);
        assert_eq!(p("7.3").round_down_to_step(Points::whole(1)), p("7"));
        assert_eq!(p("7.3").round_down_to_step(Points::ZERO), p("7.3"));
    }

    #[test]
    fn points_serialize_as_json_numbers() {
        assert_eq!(serde_json::to_string(&p("12.25")).unwrap(), "12.25");
        assert_eq!(serde_json::to_string(&p("12")).unwrap(), "12");
        assert_eq!(serde_json::to_string(&p("0.1")).unwrap(), "0.1");
    }

    #[test]
    fn points_deserialize_from_numbers_or_strings() {
        assert_eq!(serde_json::from_str::<Points>("12.25").unwrap(), p("12.25"));
        assert_eq!(serde_json::from_str::<Points>("12").unwrap(), p("12"));
        assert_eq!(
            serde_json::from_str::<Points>("\"12.5\"").unwrap(),
            p("12.5")
        );
        assert_eq!(serde_json::from_str::<Points>("0.1").unwrap(), p("0.1"));
        assert!(serde_json::from_str::<Points>("-1").is_err());
        assert!(serde_json::from_str::<Points>("1.234").is_err());
        assert!(serde_json::from_str::<Points>("\"x\"").is_err());
    }

    proptest::proptest! {
        #[test]
        fn display_then_parse_round_trips(h in 0i64..10_000_000_000) {
            let points = Points::from_hundredths(h);
            proptest::prop_assert_eq!(points.to_string().parse::<Points>(), Ok(points));
        }

        #[test]
        fn json_round_trips(h in 0i64..10_000_000_000) {
            let points = Points::from_hundredths(h);
            let json = serde_json::to_string(&points).unwrap();
            proptest::prop_assert_eq!(serde_json::from_str::<Points>(&json).unwrap(), points);
        }
    }
}
