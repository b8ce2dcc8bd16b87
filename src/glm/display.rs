//! `Display` for [`GlmFit`]: laid out like R's `summary(glm)`.

use super::GlmFit;
use crate::report::{coefficient_table, dropped_line, quantiles5_scaled, residual_summary};
use std::fmt;

impl fmt::Display for GlmFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Generalized linear model fit by IRLS: {}(link = \"{}\")",
            self.family.name(),
            self.family.link.name()
        )?;
        writeln!(f, "Formula: {}", self.formula)?;
        dropped_line(f, &self.missing)?;
        writeln!(f)?;
        residual_summary(
            f,
            "Deviance Residuals:",
            quantiles5_scaled(&self.deviance_residuals(), 1.0),
        )?;
        writeln!(f, "Coefficients:")?;
        f.write_str(&coefficient_table(&self.coefficients, "z value", false))?;
        writeln!(f, "---")?;
        writeln!(
            f,
            "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "(Dispersion parameter for {} family taken to be 1)",
            self.family.name()
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "    Null deviance: {:.3}  on {}  degrees of freedom",
            self.null_deviance, self.df_null
        )?;
        writeln!(
            f,
            "Residual deviance: {:.3}  on {}  degrees of freedom",
            self.deviance, self.df_residual
        )?;
        writeln!(f, "AIC: {:.3}", self.aic)?;
        writeln!(f)?;
        writeln!(
            f,
            "Number of Fisher Scoring iterations: {}",
            self.iterations
        )?;
        for d in &self.diagnostics {
            writeln!(f, "Note: {d}")?;
        }
        Ok(())
    }
}

impl fmt::Display for super::GlmmFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = if self.nagq > 1 {
            format!("Adaptive Gauss-Hermite Quadrature (nAGQ = {})", self.nagq)
        } else {
            "Laplace Approximation".to_string()
        };
        writeln!(
            f,
            "Generalized linear mixed model fit by maximum likelihood ({how})"
        )?;
        writeln!(
            f,
            " Family: {} ( {} )",
            self.family.name(),
            self.family.link.name()
        )?;
        writeln!(f, "Formula: {}", self.formula)?;
        dropped_line(f, &self.missing)?;
        writeln!(f)?;
        writeln!(
            f,
            "     AIC      BIC   -2logL\n{:8.1} {:8.1} {:8.1}",
            self.aic, self.bic, self.minus2loglik
        )?;
        writeln!(f)?;
        writeln!(f, "Random effects:")?;
        writeln!(
            f,
            " Groups {:12} {:>10} {:>10}",
            "Name", "Variance", "Std.Dev."
        )?;
        for (re, cov) in self.ranef.iter().zip(&self.ranef_covariance) {
            for (i, e) in re.effects().iter().enumerate() {
                let v = cov[i][i];
                let g = if i == 0 { re.group() } else { "" };
                writeln!(f, " {g:6} {e:12} {v:>10.4} {:>10.4}", v.sqrt())?;
            }
        }
        let groups: Vec<String> = self
            .ranef
            .iter()
            .map(|re| format!("{}, {}", re.group(), re.nlevels()))
            .collect();
        writeln!(
            f,
            "Number of obs: {}, groups:  {}",
            self.nobs,
            groups.join("; ")
        )?;
        writeln!(f)?;
        writeln!(f, "Fixed effects:")?;
        f.write_str(&coefficient_table(&self.coefficients, "z value", false))?;
        writeln!(f, "---")?;
        writeln!(
            f,
            "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"
        )?;
        for d in &self.diagnostics {
            writeln!(f, "Note: {d}")?;
        }
        Ok(())
    }
}
