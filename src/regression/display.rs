//! `Display` for [`OlsFit`]: a table laid out like R's `summary(lm)`.

use super::OlsFit;
use crate::report::{coefficient_table, dropped_line, quantiles5_scaled, residual_summary};
use crate::stats::format_p;
use std::fmt;

impl fmt::Display for OlsFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Linear model fit by least squares")?;
        writeln!(f, "Formula: {}", self.formula())?;
        dropped_line(f, self.missing())?;
        writeln!(f)?;
        residual_summary(f, "Residuals:", quantiles5_scaled(self.residuals(), 1.0))?;
        writeln!(f, "Coefficients:")?;
        f.write_str(&coefficient_table(self.coefficients(), "t value", false))?;
        writeln!(f, "---")?;
        writeln!(
            f,
            "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "Residual standard error: {:.4} on {} degrees of freedom",
            self.sigma(),
            self.df_residual()
        )?;
        writeln!(
            f,
            "Multiple R-squared:  {:.4},\tAdjusted R-squared:  {:.4}",
            self.r_squared(),
            self.adj_r_squared()
        )?;
        if let Some(ft) = self.f_test() {
            writeln!(
                f,
                "F-statistic: {:.2} on {} and {} DF,  p-value: {}",
                ft.statistic,
                ft.df1,
                ft.df2,
                format_p(ft.p)
            )?;
        }
        Ok(())
    }
}
