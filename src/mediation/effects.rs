//! Naming a mediation effect without a typo: [`Path`] (a, b, c′, c, indirect, the serial
//! chain's paths) and [`Part`] (whole, within- or between-cluster) make an [`EffectId`]. Every
//! effect accessor takes an [`EffectKey`]: a typed id, or its name as text, and an unknown name
//! is an error that lists the model's effects and suggests the closest one.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// A path or product of paths in a mediation model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Path {
    /// X → M (one mediator).
    A,
    /// M → Y given X.
    B,
    /// X → Y given the mediator(s): the direct effect.
    CPrime,
    /// X → Y: the total effect.
    C,
    /// a·b: the indirect effect through one mediator.
    Indirect,
    /// X → M1 (serial chain).
    A1,
    /// X → M2 given M1 (serial chain).
    A2,
    /// M1 → M2 (serial chain).
    D21,
    /// M1 → Y (serial chain).
    B1,
    /// M2 → Y (serial chain).
    B2,
    /// a₁b₁: through M1 only.
    Ind1,
    /// a₂b₂: through M2 only.
    Ind2,
    /// a₁d₂₁b₂: through M1 then M2.
    Ind12,
    /// The sum of the serial chain's indirect effects.
    TotalIndirect,
    /// The covariance of the random a and b slopes (random-slopes mediation).
    CovAb,
}

impl Path {
    /// Every path, in the order models report them.
    pub const ALL: [Path; 15] = [
        Path::A,
        Path::B,
        Path::CPrime,
        Path::C,
        Path::Indirect,
        Path::A1,
        Path::A2,
        Path::D21,
        Path::B1,
        Path::B2,
        Path::Ind1,
        Path::Ind2,
        Path::Ind12,
        Path::TotalIndirect,
        Path::CovAb,
    ];

    /// The name as results print it (`"c_prime"`, `"ind12"`, …).
    pub fn name(self) -> &'static str {
        match self {
            Path::A => "a",
            Path::B => "b",
            Path::CPrime => "c_prime",
            Path::C => "c",
            Path::Indirect => "indirect",
            Path::A1 => "a1",
            Path::A2 => "a2",
            Path::D21 => "d21",
            Path::B1 => "b1",
            Path::B2 => "b2",
            Path::Ind1 => "ind1",
            Path::Ind2 => "ind2",
            Path::Ind12 => "ind12",
            Path::TotalIndirect => "total_indirect",
            Path::CovAb => "cov_ab",
        }
    }

    /// The within-cluster part of this path (multilevel mediation).
    pub fn within(self) -> EffectId {
        EffectId {
            path: self,
            part: Part::Within,
        }
    }

    /// The between-cluster part of this path (multilevel mediation).
    pub fn between(self) -> EffectId {
        EffectId {
            path: self,
            part: Part::Between,
        }
    }
}

/// Which part of a path a multilevel mediation reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Part {
    /// The path as one coefficient (single-level models; level-2 paths).
    Whole,
    /// Within clusters (deviations from the cluster mean).
    Within,
    /// Between clusters (cluster means).
    Between,
}

/// One effect of a mediation model: a path and the part of it.
///
/// ```
/// use securebase::mediation::{EffectId, Path};
/// assert_eq!(Path::Indirect.between().to_string(), "indirect_between");
/// assert_eq!("c_prime".parse::<EffectId>()?, EffectId::from(Path::CPrime));
/// assert!("indrect".parse::<EffectId>().is_err());
/// # Ok::<(), securebase::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(into = "String", try_from = "String"))]
#[non_exhaustive]
pub struct EffectId {
    /// The path.
    pub path: Path,
    /// The part of it.
    pub part: Part,
}

impl From<Path> for EffectId {
    fn from(path: Path) -> EffectId {
        EffectId {
            path,
            part: Part::Whole,
        }
    }
}

impl fmt::Display for EffectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suffix = match self.part {
            Part::Whole => "",
            Part::Within => "_within",
            Part::Between => "_between",
        };
        write!(f, "{}{suffix}", self.path.name())
    }
}

impl From<EffectId> for String {
    /// The name as results print it.
    fn from(id: EffectId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for EffectId {
    type Error = Error;

    fn try_from(name: String) -> Result<EffectId> {
        name.parse()
    }
}

impl FromStr for EffectId {
    type Err = Error;

    /// An effect's name as results print it.
    ///
    /// # Errors
    /// [`Error::Argument`] for a name no mediation model reports, with the closest one.
    fn from_str(s: &str) -> Result<EffectId> {
        let (stem, part) = if let Some(stem) = s.strip_suffix("_within") {
            (stem, Part::Within)
        } else if let Some(stem) = s.strip_suffix("_between") {
            (stem, Part::Between)
        } else {
            (s, Part::Whole)
        };
        Path::ALL
            .iter()
            .find(|p| p.name() == stem)
            .map(|&path| EffectId { path, part })
            .ok_or_else(|| {
                let all: Vec<String> = Path::ALL
                    .iter()
                    .flat_map(|&p| {
                        [EffectId::from(p), p.within(), p.between()].map(|e| e.to_string())
                    })
                    .collect();
                unknown_effect(s, &all, "no mediation model reports an effect of that name")
            })
    }
}

/// What effect accessors take: an [`EffectId`], a [`Path`], or a name (`&str`, `String`).
pub trait EffectKey {
    /// The effect's name as results print it.
    fn effect_name(&self) -> String;
}

impl EffectKey for EffectId {
    fn effect_name(&self) -> String {
        self.to_string()
    }
}

impl EffectKey for Path {
    fn effect_name(&self) -> String {
        self.name().to_string()
    }
}

impl EffectKey for str {
    fn effect_name(&self) -> String {
        self.to_string()
    }
}

impl EffectKey for String {
    fn effect_name(&self) -> String {
        self.clone()
    }
}

impl<T: EffectKey + ?Sized> EffectKey for &T {
    fn effect_name(&self) -> String {
        (**self).effect_name()
    }
}

fn unknown_effect(name: &str, known: &[String], why: &str) -> Error {
    let hint = crate::error::closest(name, known.iter().map(String::as_str))
        .map(|k| format!("; did you mean '{k}'?"))
        .unwrap_or_default();
    Error::Argument {
        name: "effect".into(),
        message: format!("'{name}': {why}{hint}"),
    }
}

/// The item of `items` whose name is `key`'s, or an error listing the model's effects.
pub(crate) fn find<T, K: EffectKey>(
    items: &[T],
    key: K,
    name_of: impl Fn(&T) -> &str,
) -> Result<&T> {
    let name = key.effect_name();
    items.iter().find(|e| name_of(e) == name).ok_or_else(|| {
        let known: Vec<String> = items.iter().map(|e| name_of(e).to_string()).collect();
        unknown_effect(
            &name,
            &known,
            &format!("this model's effects are {}", known.join(", ")),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Path::ALL {
            for id in [EffectId::from(p), p.within(), p.between()] {
                assert_eq!(id.to_string().parse::<EffectId>().unwrap(), id);
            }
        }
        let e = "indrect".parse::<EffectId>().unwrap_err();
        assert!(e.to_string().contains("did you mean 'indirect'?"), "{e}");
    }
}
