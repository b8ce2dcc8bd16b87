//! Floating-point fields that survive JSON: a finite number is written as a number, NaN and
//! ±∞ (an infinite df, a power with every replicate failed) as the strings `"NaN"`,
//! `"Infinity"` and `"-Infinity"`, which JSON numbers cannot express and `serde_json` would
//! otherwise write as `null`. Reading accepts numbers, those strings, and `null` as NaN (what
//! other writers produce). One `#[serde(with = "crate::serde_float")]` serves every shape
//! built from `f64`: `Option`, `Vec`, arrays, pairs.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};
use std::fmt;

/// A value built from `f64`s whose non-finite values are written as strings.
pub(crate) trait Floats: Sized {
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error>;
    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

/// Serialize through [`Floats`].
pub(crate) fn serialize<T: Floats, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    value.ser(s)
}

/// Deserialize through [`Floats`].
pub(crate) fn deserialize<'de, T: Floats, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    T::de(d)
}

struct Ser<'a, T>(&'a T);

impl<T: Floats> Serialize for Ser<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.ser(s)
    }
}

struct De<T>(T);

impl<'de, T: Floats> Deserialize<'de> for De<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::de(d).map(De)
    }
}

struct F64Visitor;

impl Visitor<'_> for F64Visitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, \"NaN\", \"Infinity\", \"-Infinity\" or null")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v {
            "NaN" => Ok(f64::NAN),
            "Infinity" | "inf" | "Inf" => Ok(f64::INFINITY),
            "-Infinity" | "-inf" | "-Inf" => Ok(f64::NEG_INFINITY),
            other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }

    fn visit_none<E: de::Error>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }
}

impl Floats for f64 {
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_finite() {
            s.serialize_f64(*self)
        } else if self.is_nan() {
            s.serialize_str("NaN")
        } else if *self > 0.0 {
            s.serialize_str("Infinity")
        } else {
            s.serialize_str("-Infinity")
        }
    }

    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        d.deserialize_any(F64Visitor)
    }
}

/// Values without floats inside the shapes above (e.g. the name in `(String, f64)`).
macro_rules! plain {
    ($($t:ty),*) => {$(
        impl Floats for $t {
            fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.serialize(s)
            }

            fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$t>::deserialize(d)
            }
        }
    )*};
}

plain!(String, usize, u64, bool);

impl<T: Floats> Floats for Option<T> {
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Some(v) => s.serialize_some(&Ser(v)),
            None => s.serialize_none(),
        }
    }

    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<De<T>>::deserialize(d).map(|o| o.map(|v| v.0))
    }
}

impl<T: Floats> Floats for Vec<T> {
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Ser))
    }

    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<De<T>>::deserialize(d).map(|v| v.into_iter().map(|x| x.0).collect())
    }
}

impl<T: Floats, const N: usize> Floats for [T; N] {
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Ser))
    }

    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<T>::de(d)?;
        let n = v.len();
        v.try_into()
            .map_err(|_| de::Error::invalid_length(n, &format!("{N} values").as_str()))
    }
}

impl<A: Floats, B: Floats> Floats for (A, B) {
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (Ser(&self.0), Ser(&self.1)).serialize(s)
    }

    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <(De<A>, De<B>)>::deserialize(d).map(|(a, b)| (a.0, b.0))
    }
}

impl<A: Floats, B: Floats, C: Floats> Floats for (A, B, C) {
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (Ser(&self.0), Ser(&self.1), Ser(&self.2)).serialize(s)
    }

    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <(De<A>, De<B>, De<C>)>::deserialize(d).map(|(a, b, c)| (a.0, b.0, c.0))
    }
}

/// A matrix as its rows; reading checks that they are equally long.
impl Floats for nalgebra::DMatrix<f64> {
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rows: Vec<Vec<f64>> = self
            .row_iter()
            .map(|r| r.iter().copied().collect())
            .collect();
        rows.ser(s)
    }

    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let rows = Vec::<Vec<f64>>::de(d)?;
        let ncols = rows.first().map_or(0, Vec::len);
        if let Some(bad) = rows.iter().position(|r| r.len() != ncols) {
            return Err(de::Error::custom(format!(
                "matrix row {} has {} values, the first has {ncols}",
                bad + 1,
                rows[bad].len()
            )));
        }
        Ok(nalgebra::DMatrix::from_fn(rows.len(), ncols, |i, j| {
            rows[i][j]
        }))
    }
}

/// A vector as its values.
impl Floats for nalgebra::DVector<f64> {
    fn ser<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Ser))
    }

    fn de<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<f64>::de(d).map(nalgebra::DVector::from_vec)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize)]
    struct T {
        #[serde(with = "super")]
        x: f64,
        #[serde(with = "super")]
        o: Option<f64>,
        #[serde(with = "super")]
        v: Vec<[f64; 2]>,
        #[serde(with = "super")]
        p: Vec<(String, f64)>,
    }

    #[test]
    fn non_finite_values_round_trip() {
        let t = T {
            x: f64::INFINITY,
            o: Some(f64::NAN),
            v: vec![[f64::NEG_INFINITY, 1.5], [0.1, 2.0]],
            p: vec![("a".into(), f64::NAN)],
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"{"x":"Infinity","o":"NaN","v":[["-Infinity",1.5],[0.1,2.0]],"p":[["a","NaN"]]}"#
        );
        let back: T = serde_json::from_str(&json).unwrap();
        assert_eq!(back.x, f64::INFINITY);
        assert!(back.o.unwrap().is_nan());
        assert_eq!(back.v[0][0], f64::NEG_INFINITY);
        assert_eq!(back.v[1], [0.1, 2.0]);
        assert!(back.p[0].1.is_nan());
        // null (what serde_json writes for NaN by default) reads as NaN; None stays None.
        let old: T = serde_json::from_str(r#"{"x":null,"o":null,"v":[],"p":[]}"#).unwrap();
        assert!(old.x.is_nan() && old.o.is_none());
        assert!(serde_json::from_str::<T>(r#"{"x":"lots","o":null,"v":[],"p":[]}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"x":1,"o":null,"v":[[1]],"p":[]}"#).is_err());
    }
}
