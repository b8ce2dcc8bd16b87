//! Built-in scoring keys (documented in the `scoring` module: what ships, how each was
//! verified, and how to supply the rest).

use super::key::ScaleKey;
use crate::error::{Error, Result};

const KEYS: &[(&str, &str)] = &[
    ("ders-16", include_str!("../../keys/ders-16.json")),
    ("ecr", include_str!("../../keys/ecr.json")),
    ("ecr-r", include_str!("../../keys/ecr-r.json")),
    ("ecr-rs", include_str!("../../keys/ecr-rs.json")),
    ("iip-32", include_str!("../../keys/iip-32.json")),
    ("ipip-bfi-25", include_str!("../../keys/ipip-bfi-25.json")),
    ("wai-sr", include_str!("../../keys/wai-sr.json")),
];

/// Names of the built-in keys.
pub fn builtin_names() -> Vec<&'static str> {
    KEYS.iter().map(|k| k.0).collect()
}

/// A built-in key by name.
///
/// # Errors
/// [`Error::Argument`] listing the built-in keys when there is none of that name.
///
/// ```
/// let key = securebase::scoring::builtin("ecr-r")?;
/// assert_eq!(key.items.len(), 36);
/// assert_eq!(key.subscale("anxiety").unwrap().items.len(), 18);
/// assert!(key.source.contains("Fraley"));
/// assert!(securebase::scoring::builtin("ecr-x").is_err()); // lists the built-in keys
/// # Ok::<(), securebase::Error>(())
/// ```
pub fn builtin(name: &str) -> Result<ScaleKey> {
    let text = KEYS
        .iter()
        .find(|k| k.0.eq_ignore_ascii_case(name))
        .map(|k| k.1)
        .ok_or_else(|| Error::Argument {
            name: "key".into(),
            message: format!(
                "no built-in key '{name}'{} (built-in: {}); pass a key file instead",
                crate::error::closest(name, builtin_names())
                    .map(|k| format!(" — did you mean '{k}'?"))
                    .unwrap_or_default(),
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
    let path = std::path::Path::new(name_or_path);
    if path.is_file() {
        ScaleKey::from_path(name_or_path)
    } else if path.is_dir() {
        Err(crate::Error::io_message(
            name_or_path,
            "is a directory, not a key file",
        ))
    } else if name_or_path.ends_with(".json") || name_or_path.contains(std::path::MAIN_SEPARATOR) {
        Err(crate::Error::io_message(name_or_path, "no such key file"))
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
            assert!(!k.source.is_empty() && !k.licence.is_empty() && !k.verification.is_empty());
        }
        assert!(builtin("ECR-R").is_ok());
        assert!(builtin("cats").is_err());
    }
}
