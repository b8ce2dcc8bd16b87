//! `Display` for [`LmmFit`]: laid out like lme4's `summary()` (with lmerTest's df column).

use super::LmmFit;
use crate::report::{coefficient_table, dropped_line, residual_summary, sig};
use std::fmt;

impl fmt::Display for LmmFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Linear mixed model fit by {} (Satterthwaite df)",
            if self.criterion() == super::Criterion::Reml {
                "REML"
            } else {
                "maximum likelihood"
            }
        )?;
        writeln!(f, "Formula: {}", self.formula())?;
        dropped_line(f, self.missing())?;
        writeln!(f)?;
        match self.criterion() {
            super::Criterion::Reml => {
                writeln!(f, "REML criterion at convergence: {:.1}", self.objective())?
            }
            super::Criterion::Ml => {
                writeln!(
                    f,
                    "{:>10} {:>10} {:>10} {:>10}",
                    "AIC", "BIC", "logLik", "deviance"
                )?;
                writeln!(
                    f,
                    "{:>10.1} {:>10.1} {:>10.1} {:>10.1}",
                    self.aic(),
                    self.bic(),
                    self.loglik(),
                    self.objective()
                )?;
            }
        }
        writeln!(f)?;
        let sd = self.sigma();
        residual_summary(f, "Scaled residuals:", self.residual_quantiles(sd))?;
        writeln!(f, "Random effects:")?;
        writeln!(
            f,
            " {:<12} {:<14} {:>12} {:>10}  Corr",
            "Groups", "Name", "Variance", "Std.Dev."
        )?;
        for vc in self.varcorr() {
            for (i, e) in vc.effects.iter().enumerate() {
                let group = if i == 0 { vc.group.as_str() } else { "" };
                let corr: Vec<String> = (0..i)
                    .map(|j| format!("{:>6.2}", vc.correlation[i][j]))
                    .collect();
                writeln!(
                    f,
                    " {:<12} {:<14} {:>12} {:>10}  {}",
                    group,
                    e,
                    sig(vc.variance[i], 5),
                    sig(vc.sd[i], 5),
                    corr.join(" ")
                )?;
            }
        }
        writeln!(
            f,
            " {:<12} {:<14} {:>12} {:>10}",
            "Residual",
            "",
            sig(sd * sd, 5),
            sig(sd, 5)
        )?;
        let groups: Vec<String> = self
            .ngroups()
            .iter()
            .map(|(g, n)| format!("{g}, {n}"))
            .collect();
        writeln!(
            f,
            "Number of obs: {}, groups:  {}",
            self.nobs(),
            groups.join("; ")
        )?;
        let icc = self.icc();
        let by_group: Vec<String> = icc
            .by_group
            .iter()
            .map(|g| format!("{} {:.3}", g.group, g.icc))
            .collect();
        writeln!(
            f,
            "ICC: adjusted {:.3}, conditional {:.3}{}",
            icc.adjusted,
            icc.conditional,
            if by_group.is_empty() {
                String::new()
            } else {
                format!("; by group {}", by_group.join(", "))
            }
        )?;
        writeln!(f)?;
        writeln!(f, "Fixed effects:")?;
        f.write_str(&coefficient_table(self.coefficients(), "t value", true))?;
        writeln!(f, "---")?;
        writeln!(
            f,
            "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"
        )?;
        for d in self.diagnostics() {
            writeln!(f, "note: {d}")?;
        }
        Ok(())
    }
}
