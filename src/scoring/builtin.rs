//! Built-in scoring keys. A key ships here only when its published source could be checked;
//! each names that source and the instrument's licence status, and none contains item wording.
//!
//! Shipped: `ipip-bfi-25` (the 25 IPIP items of R's `psych::bfi`; public domain; checked
//! against `psych::bfi.keys` by tests/reference/scoring.R).
//!
//! Not shipped yet, because their scoring keys could not be verified against a published
//! source from this project's machines: ECR, ECR-R, ECR-RS, DERS-16, WAI-SR, CATS, TDS and
//! IIP-32. Supply them as key files (see [`super::key`] for the format): list the item columns
//! as they are named in your data, the subscales with their reverse-keyed items from the
//! instrument's manual or publication, the response range, and the minimum-answered rule; the
//! key is validated when it is loaded.

use super::key::ScaleKey;
use crate::error::{Error, Result};

const KEYS: &[(&str, &str)] = &[("ipip-bfi-25", include_str!("../../keys/ipip-bfi-25.json"))];

/// Names of the built-in keys.
pub fn builtin_names() -> Vec<&'static str> {
    KEYS.iter().map(|k| k.0).collect()
}

/// A built-in key by name.
///
/// # Errors
/// [`Error::Argument`] listing the built-in keys when there is none of that name.
pub fn builtin(name: &str) -> Result<ScaleKey> {
    let text = KEYS
        .iter()
        .find(|k| k.0.eq_ignore_ascii_case(name))
        .map(|k| k.1)
        .ok_or_else(|| Error::Argument {
            name: "key".into(),
            message: format!(
                "no built-in key '{name}' (built-in: {}); pass a key file instead",
                builtin_names().join(", ")
            ),
        })?;
    ScaleKey::from_json(text)
}

/// A built-in key by name, or a key file at that path.
///
/// # Errors
/// As [`builtin`] and [`ScaleKey::from_path`].
pub fn load_key(name_or_path: &str) -> Result<ScaleKey> {
    if std::path::Path::new(name_or_path).is_file() {
        ScaleKey::from_path(name_or_path)
    } else {
        builtin(name_or_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_key_loads_and_cites_its_source() {
        for name in builtin_names() {
            let k = builtin(name).unwrap();
            assert!(!k.source.is_empty() && !k.licence.is_empty());
        }
        assert!(builtin("ECR-R").is_err());
    }
}
