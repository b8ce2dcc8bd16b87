//! Scoring keys as data: a versioned JSON format for an instrument, validated on load.
//!
//! ```json
//! {
//!   "format": "securebase-key/1",
//!   "name": "Example", "form": "6-item", "version": "1",
//!   "source": "Author (year). Title. Journal.", "licence": "public domain",
//!   "verification": "Compared with the scoring appendix of the article",
//!   "response_min": 1, "response_max": 5,
//!   "items": ["q1", "q2", "q3", "q4", "q5", "q6"],
//!   "subscales": [
//!     {"name": "a", "items": ["q1", "q2", "q3"], "reverse": ["q2"], "aggregation": "mean",
//!      "min_answered": {"proportion": 0.67},
//!      "norms": {"mean": 2.1, "sd": 0.6, "reliability": 0.85,
//!                "functional_mean": 1.8, "functional_sd": 0.5,
//!                "dysfunctional_mean": 2.9, "dysfunctional_sd": 0.7, "higher_is_worse": true}}
//!   ],
//!   "allow_shared_items": false, "allow_unscored_items": false
//! }
//! ```
//!
//! Item names are the data's column names. A key never contains item wording. Unknown fields
//! are errors (with the closest known field suggested), so a typo never silently drops a rule.
//!
//! # Fields
//!
//! | field | required | meaning |
//! |---|---|---|
//! | `format` | yes | `"securebase-key/1"` ([`KEY_FORMAT`]) |
//! | `name` | yes | the instrument's name (score columns are `prefix` + subscale name) |
//! | `source` | yes | the published source of the scoring key (citation) |
//! | `licence` | yes | the instrument's licence status |
//! | `response_min`, `response_max` | yes | integer ends of the response scale, min < max, within ±10⁹; reverse keying is max + min − x |
//! | `items` | yes | every item column, in item-number order (what [`ScaleKey::with_columns`] maps by position) |
//! | `subscales` | yes | one or more subscales (below) |
//! | `form`, `version` | no (empty) | e.g. `"36-item"`, `"1"` |
//! | `verification` | no (empty) | how the key was checked against its source |
//! | `allow_shared_items` | no (`false`) | whether an item may be in two subscales |
//! | `allow_unscored_items` | no (`false`) | whether an item may be in no subscale |
//!
//! A subscale:
//!
//! | field | required | meaning |
//! |---|---|---|
//! | `name` | yes | the score column's suffix |
//! | `items` | yes | its item columns (all in the key's `items`) |
//! | `aggregation` | yes | `"mean"` (of the answered items) or `"sum"` (prorated to all items) |
//! | `min_answered` | yes | `{"count": k}` or `{"proportion": p}` (0 < p ≤ 1, rounded up): fewer answered → missing score |
//! | `reverse` | no (none) | reverse-keyed items, a subset of `items` |
//! | `norms` | no | for reliable change: `mean`, `sd`, `reliability`, `higher_is_worse` required; `functional_mean`, `functional_sd`, `dysfunctional_mean`, `dysfunctional_sd` optional |
//!
//! Without the `serde` feature, build the same key in code with [`ScaleKey::new`],
//! [`Subscale::mean`] / [`Subscale::sum`] and [`Norms::new`].

use crate::error::{Error, Result};

/// The format tag this version of the crate reads and writes.
pub const KEY_FORMAT: &str = "securebase-key/1";

/// How item responses combine into a subscale score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum Aggregation {
    /// Mean of the answered items.
    Mean,
    /// Sum, prorated to all items: (sum of answered) × k / answered.
    Sum,
}

/// The least a respondent must answer for a subscale score; below it the score is missing.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
#[non_exhaustive]
pub enum MinAnswered {
    /// At least this many items.
    Count(usize),
    /// At least this share of the items (0 < p ≤ 1), rounded up.
    Proportion(f64),
}

impl MinAnswered {
    /// The least number of items for a subscale of `k` items.
    pub fn items(&self, k: usize) -> usize {
        match *self {
            MinAnswered::Count(c) => c,
            MinAnswered::Proportion(p) => ((p * k as f64) - 1e-9).ceil().max(1.0) as usize,
        }
    }
}

/// Reference values for reliable and clinically significant change (Jacobson & Truax 1991).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct Norms {
    /// Mean of the reference (usually clinical, pretreatment) sample.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub mean: f64,
    /// Its SD.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub sd: f64,
    /// Reliability (test–retest or α) used for the standard error of measurement.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub reliability: f64,
    /// Mean of a functional (non-clinical) population.
    #[cfg_attr(feature = "serde", serde(default, with = "crate::serde_float"))]
    pub functional_mean: Option<f64>,
    /// SD of the functional population.
    #[cfg_attr(feature = "serde", serde(default, with = "crate::serde_float"))]
    pub functional_sd: Option<f64>,
    /// Mean of a dysfunctional (clinical) population.
    #[cfg_attr(feature = "serde", serde(default, with = "crate::serde_float"))]
    pub dysfunctional_mean: Option<f64>,
    /// SD of the dysfunctional population.
    #[cfg_attr(feature = "serde", serde(default, with = "crate::serde_float"))]
    pub dysfunctional_sd: Option<f64>,
    /// True for symptom measures (improvement is a decrease).
    pub higher_is_worse: bool,
}

/// One subscale of an instrument.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct Subscale {
    /// Name (becomes the score column's suffix).
    pub name: String,
    /// Item columns.
    pub items: Vec<String>,
    /// Reverse-keyed items (a subset of `items`), reversed as max + min − x.
    #[cfg_attr(feature = "serde", serde(default))]
    pub reverse: Vec<String>,
    /// Mean or (prorated) sum.
    pub aggregation: Aggregation,
    /// Minimum answered for a score.
    pub min_answered: MinAnswered,
    /// Optional norms for reliable change.
    #[cfg_attr(feature = "serde", serde(default))]
    pub norms: Option<Norms>,
}

/// A scoring key for one instrument.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[non_exhaustive]
pub struct ScaleKey {
    /// Must be [`KEY_FORMAT`].
    pub format: String,
    /// Instrument name.
    pub name: String,
    /// Form (e.g. "36-item").
    #[cfg_attr(feature = "serde", serde(default))]
    pub form: String,
    /// Version of the key.
    #[cfg_attr(feature = "serde", serde(default))]
    pub version: String,
    /// Published source of the scoring key.
    pub source: String,
    /// Licence status of the instrument.
    pub licence: String,
    /// How this key was checked against its source (which documents were compared, what
    /// agreed). Empty for user keys; every built-in key states it.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "String::is_empty")
    )]
    pub verification: String,
    /// Lowest response on the scale.
    pub response_min: i64,
    /// Highest response on the scale.
    pub response_max: i64,
    /// Every item column of the instrument.
    pub items: Vec<String>,
    /// Subscales.
    pub subscales: Vec<Subscale>,
    /// Whether an item may belong to more than one subscale.
    #[cfg_attr(feature = "serde", serde(default))]
    pub allow_shared_items: bool,
    /// Whether items may belong to no subscale.
    #[cfg_attr(feature = "serde", serde(default))]
    pub allow_unscored_items: bool,
}

impl Norms {
    /// Norms from the reference sample's mean, SD and reliability, for a measure where higher
    /// is better; add the populations with [`Norms::functional`] and [`Norms::dysfunctional`].
    pub fn new(mean: f64, sd: f64, reliability: f64) -> Norms {
        Norms {
            mean,
            sd,
            reliability,
            functional_mean: None,
            functional_sd: None,
            dysfunctional_mean: None,
            dysfunctional_sd: None,
            higher_is_worse: false,
        }
    }

    /// The functional (non-clinical) population's mean and SD.
    pub fn functional(mut self, mean: f64, sd: f64) -> Norms {
        self.functional_mean = Some(mean);
        self.functional_sd = Some(sd);
        self
    }

    /// The dysfunctional (clinical) population's mean and SD.
    pub fn dysfunctional(mut self, mean: f64, sd: f64) -> Norms {
        self.dysfunctional_mean = Some(mean);
        self.dysfunctional_sd = Some(sd);
        self
    }

    /// A symptom measure: improvement is a decrease.
    pub fn higher_is_worse(mut self, yes: bool) -> Norms {
        self.higher_is_worse = yes;
        self
    }
}

impl Subscale {
    /// A subscale scored as the mean of its answered items, missing when fewer than 80% are
    /// answered (this crate's default rule).
    pub fn mean(name: &str, items: &[impl AsRef<str>]) -> Subscale {
        Subscale {
            name: name.into(),
            items: crate::data::owned_names(items),
            reverse: Vec::new(),
            aggregation: Aggregation::Mean,
            min_answered: MinAnswered::Proportion(0.8),
            norms: None,
        }
    }

    /// A subscale scored as the sum of its items, prorated to all items when some are
    /// missing; missing when fewer than 80% are answered.
    pub fn sum(name: &str, items: &[impl AsRef<str>]) -> Subscale {
        Subscale {
            aggregation: Aggregation::Sum,
            ..Subscale::mean(name, items)
        }
    }

    /// The reverse-keyed items (a subset of the subscale's).
    pub fn reversed(mut self, items: &[impl AsRef<str>]) -> Subscale {
        self.reverse = crate::data::owned_names(items);
        self
    }

    /// Another minimum-answered rule.
    pub fn min_answered(mut self, rule: MinAnswered) -> Subscale {
        self.min_answered = rule;
        self
    }

    /// Norms for reliable change.
    pub fn with_norms(mut self, norms: Norms) -> Subscale {
        self.norms = Some(norms);
        self
    }
}

/// A column pattern: the text before and after its `{}` or `{:0N}` and the zero-padded width
/// (0 for `{}`).
fn item_pattern(pattern: &str) -> Option<(String, usize, String)> {
    let open = pattern.find('{')?;
    let close = open + pattern[open..].find('}')?;
    let inner = &pattern[open + 1..close];
    let width = if inner.is_empty() {
        0
    } else {
        let digits = inner.strip_prefix(":0")?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<usize>().ok().filter(|w| *w <= 9)?
    };
    Some((
        pattern[..open].to_string(),
        width,
        pattern[close + 1..].to_string(),
    ))
}

fn invalid(message: String) -> Error {
    Error::Argument {
        name: "key".into(),
        message,
    }
}

impl ScaleKey {
    /// A key built in code (the same rules as a key file; without the `serde` feature the only
    /// way to make one): the instrument's name and response range; add subscales with
    /// [`ScaleKey::with_subscale`], which also lists their items, and the citation with
    /// [`ScaleKey::cited`]. [`score`](crate::scoring::score) validates it.
    ///
    /// ```
    /// use securebase::scoring::{score, InvalidResponses, ScaleKey, Subscale};
    /// use securebase::Data;
    /// let key = ScaleKey::new("Example", 1, 5)
    ///     .cited("Author (2024). Title. Journal.", "public domain")
    ///     .with_subscale(Subscale::mean("a", &["q1", "q2", "q3"]).reversed(&["q2"]))
    ///     .with_subscale(Subscale::sum("b", &["q4", "q5"]));
    /// key.validate()?;
    /// let data = Data::new()
    ///     .with_numeric("q1", vec![1.0, 4.0])?
    ///     .with_numeric("q2", vec![5.0, 2.0])?
    ///     .with_numeric("q3", vec![1.0, 5.0])?
    ///     .with_numeric("q4", vec![2.0, 3.0])?
    ///     .with_numeric("q5", vec![2.0, 3.0])?;
    /// let s = score(&data, &key, InvalidResponses::Error)?;
    /// assert_eq!(s.subscale("a").unwrap().scores, [Some(1.0), Some(13.0 / 3.0)]);
    /// assert_eq!(s.subscale("b").unwrap().scores, [Some(4.0), Some(6.0)]);
    /// # Ok::<(), securebase::Error>(())
    /// ```
    pub fn new(name: &str, response_min: i64, response_max: i64) -> ScaleKey {
        ScaleKey {
            format: KEY_FORMAT.into(),
            name: name.into(),
            form: String::new(),
            version: String::new(),
            source: String::new(),
            licence: String::new(),
            verification: String::new(),
            response_min,
            response_max,
            items: Vec::new(),
            subscales: Vec::new(),
            allow_shared_items: false,
            allow_unscored_items: false,
        }
    }

    /// The published source of the scoring key and the instrument's licence status.
    pub fn cited(mut self, source: &str, licence: &str) -> ScaleKey {
        self.source = source.into();
        self.licence = licence.into();
        self
    }

    /// Add a subscale; its items not yet listed join [`ScaleKey::items`] in order.
    pub fn with_subscale(mut self, subscale: Subscale) -> ScaleKey {
        for i in &subscale.items {
            if !self.items.contains(i) {
                self.items.push(i.clone());
            }
        }
        self.subscales.push(subscale);
        self
    }

    /// Parse and validate a key from JSON text.
    ///
    /// # Errors
    /// [`Error::Argument`] naming what is wrong: malformed JSON, an unknown field (with the
    /// known field closest to it: `"reversed"` → did you mean `reverse`?), an unknown format,
    /// min ≥ max, a response range beyond ±10⁹,
    /// duplicate or unknown items, reverse items outside their subscale, an item in two
    /// subscales (unless allowed), items in no subscale (unless allowed), bad minimum-answered
    /// rules, bad norms.
    ///
    /// ```
    /// use securebase::scoring::ScaleKey;
    /// let json = r#"{"format": "securebase-key/1", "name": "Example",
    ///   "source": "Author (2024)", "licence": "public domain",
    ///   "response_min": 1, "response_max": 5, "items": ["q1", "q2", "q3"],
    ///   "subscales": [{"name": "a", "items": ["q1", "q2", "q3"], "reverse": ["q2"],
    ///                  "aggregation": "mean", "min_answered": {"proportion": 0.67}}]}"#;
    /// let key = ScaleKey::from_json(json)?;
    /// assert_eq!(key.subscales[0].reverse, ["q2"]);
    /// let typo = ScaleKey::from_json(&json.replace("\"reverse\"", "\"reversed\"")).unwrap_err();
    /// assert!(typo.to_string().contains("did you mean 'reverse'?"));
    /// # Ok::<(), securebase::Error>(())
    /// ```
    #[cfg(feature = "serde")]
    pub fn from_json(text: &str) -> Result<ScaleKey> {
        let key: ScaleKey = crate::error::from_json_strict(text, "key")?;
        key.validate()?;
        Ok(key)
    }

    /// Read and validate a key file.
    ///
    /// # Errors
    /// [`Error::Io`] and the errors of [`ScaleKey::from_json`].
    #[cfg(feature = "serde")]
    pub fn from_path<P: AsRef<std::path::Path>>(path: P) -> Result<ScaleKey> {
        let p = path.as_ref();
        let text = crate::data::read_text_file(p, crate::data::MAX_TEXT_FILE)?;
        Self::from_json(&text)
    }

    /// The key as pretty JSON.
    #[cfg(feature = "serde")]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Check every rule; see [`ScaleKey::from_json`].
    ///
    /// # Errors
    /// As [`ScaleKey::from_json`].
    pub fn validate(&self) -> Result<()> {
        if self.format != KEY_FORMAT {
            return Err(invalid(format!(
                "format '{}' is not '{KEY_FORMAT}'",
                self.format
            )));
        }
        if self.response_min >= self.response_max {
            return Err(invalid(format!(
                "response_min {} must be below response_max {}",
                self.response_min, self.response_max
            )));
        }
        const LIMIT: i64 = 1_000_000_000;
        if self.response_min < -LIMIT || self.response_max > LIMIT {
            return Err(invalid(format!(
                "the response range {}..{} is beyond ±{LIMIT}; item responses are small whole numbers",
                self.response_min, self.response_max
            )));
        }
        if self.subscales.is_empty() {
            return Err(invalid("the key has no subscales".into()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for i in &self.items {
            if !seen.insert(i) {
                return Err(invalid(format!("item '{i}' is listed twice")));
            }
        }
        let mut owner: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
        let mut names = std::collections::BTreeSet::new();
        for s in &self.subscales {
            if !names.insert(&s.name) {
                return Err(invalid(format!("subscale '{}' is defined twice", s.name)));
            }
            if s.items.is_empty() {
                return Err(invalid(format!("subscale '{}' has no items", s.name)));
            }
            let mut own = std::collections::BTreeSet::new();
            for i in &s.items {
                if !self.items.contains(i) {
                    return Err(invalid(format!(
                        "subscale '{}' uses item '{i}', which is not among the key's items",
                        s.name
                    )));
                }
                if !own.insert(i) {
                    return Err(invalid(format!(
                        "subscale '{}' lists item '{i}' twice",
                        s.name
                    )));
                }
                if let Some(other) = owner.insert(i, &s.name)
                    && !self.allow_shared_items
                {
                    return Err(invalid(format!(
                        "item '{i}' is in subscales '{other}' and '{}'; set allow_shared_items if that is intended",
                        s.name
                    )));
                }
            }
            for r in &s.reverse {
                if !s.items.contains(r) {
                    return Err(invalid(format!(
                        "reverse-keyed item '{r}' is not an item of subscale '{}'",
                        s.name
                    )));
                }
            }
            let k = s.items.len();
            match s.min_answered {
                MinAnswered::Count(c) if c == 0 || c > k => {
                    return Err(invalid(format!(
                        "subscale '{}': min_answered count {c} must be 1..={k}",
                        s.name
                    )));
                }
                MinAnswered::Proportion(p) if !(p > 0.0 && p <= 1.0) => {
                    return Err(invalid(format!(
                        "subscale '{}': min_answered proportion {p} must be in (0, 1]",
                        s.name
                    )));
                }
                _ => {}
            }
            if let Some(n) = &s.norms {
                let sd_ok = |v: Option<f64>| v.is_none_or(|x| x > 0.0 && x.is_finite());
                let ok = n.sd > 0.0
                    && n.reliability > 0.0
                    && n.reliability < 1.0
                    && sd_ok(n.functional_sd)
                    && sd_ok(n.dysfunctional_sd);
                if !ok {
                    return Err(invalid(format!(
                        "subscale '{}': norms need SDs > 0 and a reliability in (0, 1)",
                        s.name
                    )));
                }
            }
        }
        if !self.allow_unscored_items
            && let Some(i) = self.items.iter().find(|i| !owner.contains_key(i.as_str()))
        {
            return Err(invalid(format!(
                "item '{i}' is in no subscale; set allow_unscored_items if that is intended"
            )));
        }
        Ok(())
    }

    /// The subscale called `name`.
    pub fn subscale(&self, name: &str) -> Option<&Subscale> {
        self.subscales.iter().find(|s| s.name == name)
    }

    /// The same key with its items renamed to the data's columns, by position: item `i` of
    /// the key (in the order of [`ScaleKey::items`], i.e. the instrument's item numbers for the
    /// built-in keys) becomes `columns[i]`.
    ///
    /// A column list that is one string containing `{}` is a pattern: `"ecr{}"` names the
    /// columns `ecr1`, `ecr2`, … (the item's position, from 1); `{:02}` pads the number with
    /// zeros to two digits (`"ecr{:02}"`: `ecr01` … `ecr36`), `{:03}` to three. Use this when your data names
    /// the items differently from the key, or when an instrument was given twice (pre/post, or
    /// one ECR-RS block per relationship target) and each administration has its own columns.
    ///
    /// # Errors
    /// [`Error::Argument`] when the number of columns differs from the number of items or a
    /// column is named twice.
    ///
    /// # Examples
    /// ```
    /// let key = securebase::scoring::builtin("ecr-rs").unwrap();
    /// let mother = key.with_columns(&["mother_{}"]).unwrap();
    /// assert_eq!(mother.items[0], "mother_1");
    /// assert_eq!(mother.subscale("avoidance").unwrap().reverse[0], "mother_1");
    /// let padded = securebase::scoring::builtin("ecr-r").unwrap().with_columns(&["ecr{:02}"]).unwrap();
    /// assert_eq!((padded.items[0].as_str(), padded.items[35].as_str()), ("ecr01", "ecr36"));
    /// ```
    pub fn with_columns<S: AsRef<str>>(&self, columns: &[S]) -> Result<ScaleKey> {
        self.validate()?;
        let k = self.items.len();
        let names: Vec<String> = match columns {
            [one] if item_pattern(one.as_ref()).is_some() => {
                let (head, width, tail) = item_pattern(one.as_ref()).unwrap_or_default();
                (1..=k)
                    .map(|i| format!("{head}{i:0width$}{tail}"))
                    .collect()
            }
            _ => columns.iter().map(|c| c.as_ref().to_string()).collect(),
        };
        if names.len() != k {
            return Err(invalid(format!(
                "{} columns given for the {k} items of '{}'",
                names.len(),
                self.name
            )));
        }
        let map: std::collections::HashMap<&str, &str> = self
            .items
            .iter()
            .map(String::as_str)
            .zip(names.iter().map(String::as_str))
            .collect();
        let rename = |v: &[String]| -> Vec<String> {
            v.iter()
                .map(|i| {
                    map.get(i.as_str())
                        .map_or_else(|| i.clone(), |c| c.to_string())
                })
                .collect()
        };
        let mut out = self.clone();
        out.items = names.clone();
        for s in &mut out.subscales {
            s.items = rename(&s.items);
            s.reverse = rename(&s.reverse);
        }
        out.validate()?;
        Ok(out)
    }
}
