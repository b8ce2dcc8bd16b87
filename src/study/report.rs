//! The study report as Markdown, and its plots as SVG.

use super::{MediationResult, ModelResult, StudyReport};
use crate::plot::{PathArrow, johnson_neyman_svg, path_diagram_svg, trajectories_svg};
use crate::stats::format_p;
use std::fmt::Write as _;

/// Text from the plan (a label, a name) as Markdown shows it literally: table bars, emphasis,
/// links, code and raw HTML escaped, line breaks and other control characters turned into
/// spaces, so a label cannot break a table or inject markup into the report.
pub(crate) fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '|' | '*' | '`' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text shown as inline code: backticks in it get a longer fence, line breaks become spaces.
fn md_code(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.replace('|', "\\|");
    let mut run = 0;
    let mut longest = 0;
    for c in flat.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    if longest > 0 {
        format!("{fence} {flat} {fence}")
    } else {
        format!("{fence}{flat}{fence}")
    }
}

/// A number at a sensible precision for a table: 3 decimals, more for small values.
fn num(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let a = x.abs();
    if a != 0.0 && a < 0.001 {
        format!("{x:.2e}")
    } else if a < 10.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.2}")
    }
}

fn ci(c: [f64; 2]) -> String {
    format!("[{}, {}]", num(c[0]), num(c[1]))
}

/// "excludes 0 (negative)" / "includes 0".
fn zero_verdict(c: [f64; 2]) -> &'static str {
    if c[0] > 0.0 {
        "excludes 0: positive"
    } else if c[1] < 0.0 {
        "excludes 0: negative"
    } else {
        "includes 0"
    }
}

impl StudyReport {
    /// A variable's label as Markdown text (escaped; see [`md`]).
    fn label(&self, c: &str) -> String {
        md(self.plan.label(c))
    }

    /// A variable's label as it is, for the plots (which escape it as XML).
    fn raw_label<'a>(&'a self, c: &'a str) -> &'a str {
        self.plan.label(c)
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# {}\n", md(&self.plan.name));
        let synthetic: Vec<&str> = self
            .instruments
            .iter()
            .filter(|i| i.synthetic)
            .map(|i| i.key.as_str())
            .collect();
        if self.options.simulated {
            let _ = writeln!(
                out,
                "> **Simulated data{}.** This report analyses {}{}. These are not real clients; nothing here is a finding about psychotherapy. To analyse your own session-level file: `cargo run --release --example study -- --plan my_plan.json --data my_sessions.csv` (the plan format is documented in `securebase::study`).\n",
                if synthetic.is_empty() {
                    ""
                } else {
                    ", synthetic keys"
                },
                self.options.data_note,
                if synthetic.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", scored with synthetic example keys ({}) — not the published instruments' scoring keys",
                        synthetic.join(", ")
                    )
                }
            );
        } else {
            let _ = writeln!(
                out,
                "This report analyses {} with the plan \"{}\".{}\n",
                md(&self.options.data_note),
                md(&self.plan.name),
                if synthetic.is_empty() {
                    String::new()
                } else {
                    format!(
                        " **Synthetic keys** ({}) scored some instruments: they are not the published instruments' keys.",
                        synthetic.join(", ")
                    )
                }
            );
        }
        if !self.plan.description.is_empty() {
            let _ = writeln!(out, "{}\n", self.plan.description);
        }
        let (lo, mean, hi) = self.sessions_per_client;
        let _ = writeln!(
            out,
            "{} session rows of {} clients{}; {}–{} sessions per client (mean {:.1}).\n",
            self.sessions,
            self.clients,
            self.therapists
                .map(|t| format!(" of {t} therapists"))
                .unwrap_or_default(),
            lo,
            hi,
            mean
        );
        for n in &self.data_notes {
            let _ = writeln!(out, "- Data step: {}", md(n));
        }
        if !self.data_notes.is_empty() {
            out.push('\n');
        }
        if !self.plan.labels.is_empty() {
            out.push_str("| variable | meaning |\n|---|---|\n");
            for (k, v) in &self.plan.labels {
                let _ = writeln!(out, "| {} | {} |", md_code(k), md(v));
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "p-values are two-sided and printed with three significant digits; intervals are 95%; β is the standardized coefficient (SD of the predictor over the rows used, in SDs of the outcome).\n"
        );
        self.scales(&mut out);
        self.esat_section(&mut out);
        out.push_str("## 3. Models (REML, Satterthwaite df)\n\n");
        for m in &self.models {
            self.model_section(&mut out, m);
        }
        self.probes_section(&mut out);
        out.push_str("## 5. Mediation\n\n");
        for m in &self.mediations {
            self.mediation_section(&mut out, m);
        }
        if let Some(l) = &self.level_comparison {
            let _ = writeln!(
                out,
                "## 6. Two levels or three\n\n`{}` against `{}` (likelihood-ratio test after ML refits):\n",
                l.two_level,
                self.plan
                    .models
                    .iter()
                    .find(|m| m.name == l.model)
                    .map_or("", |m| m.formula.as_str())
            );
            out.push_str("| model | parameters | AIC | BIC | log L | χ² | df | p |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
            for (i, r) in l.anova.rows.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.1} | {:.1} | {:.1} | {} | {} | {} |",
                    if i == 0 { "two levels" } else { "three levels" },
                    r.npar,
                    r.aic,
                    r.bic,
                    r.loglik,
                    r.chisq.map_or("".into(), |c| format!("{c:.3}")),
                    r.df.map_or("".into(), |d| d.to_string()),
                    r.p.map_or("".into(), format_p)
                );
            }
            if let Some(icc) = l.therapist_icc {
                let _ = writeln!(
                    out,
                    "\nThe therapist share of variance (its intraclass correlation, all variance components in the denominator) is {:.3}. The test's p is conservative: a variance tested at its boundary of 0 follows a 50:50 mixture of χ²₀ and χ²₁ (Self & Liang 1987), so the mixture p is half the printed one.\n",
                    icc
                );
            }
        }
        out
    }

    fn scales(&self, out: &mut String) {
        out.push_str("## 1. Scales\n\n");
        for i in &self.instruments {
            let _ = writeln!(
                out,
                "- {} ({}): {}; licence: {}. {} of {} item responses missing{}.",
                md_code(&i.key),
                match i.level {
                    super::InstrumentLevel::Client => "once per client",
                    super::InstrumentLevel::Session => "after sessions",
                },
                md(&i.source),
                md(&i.licence),
                i.missing_responses.0,
                i.missing_responses.1,
                if i.missing_scores.iter().all(|(_, n)| *n == 0) {
                    String::new()
                } else {
                    format!(
                        "; without a score: {}",
                        i.missing_scores
                            .iter()
                            .map(|(s, n)| format!("{s} {n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            );
        }
        out.push_str("\n| scale | over | items | α [95% CI] | interval | ω total [95% CI] | n complete (rows) |\n|---|---|---:|---|---|---|---:|\n");
        for r in &self.reliability {
            let x = &r.reliability;
            let (ci, method, omega_ci) = match &x.cluster_bootstrap {
                Some(b) => (
                    b.alpha.bca.unwrap_or(b.alpha.percentile),
                    format!(
                        "cluster bootstrap over {} clients ({}, {} resamples)",
                        b.clusters,
                        if b.alpha.bca.is_some() {
                            "BCa"
                        } else {
                            "percentile"
                        },
                        b.replicates
                    ),
                    b.omega_total
                        .as_ref()
                        .map(|o| o.bca.unwrap_or(o.percentile)),
                ),
                None => (x.feldt, "Feldt".to_string(), None),
            };
            let omega = match (x.omega_total, omega_ci) {
                (Some(o), Some(c)) => format!("{o:.3} [{:.3}, {:.3}]", c[0], c[1]),
                (Some(o), None) => format!("{o:.3}"),
                (None, _) => "—".into(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.3} [{:.3}, {:.3}] | {method} | {omega} | {} |",
                self.label(&r.scale),
                r.rows,
                x.n_items,
                x.alpha,
                ci[0],
                ci[1],
                x.n_complete
            );
        }
        // Per occasion: the range of α over sessions, per scale.
        let mut scales: Vec<&str> = Vec::new();
        for r in &self.reliability_by_session {
            if !scales.contains(&r.scale.as_str()) {
                scales.push(&r.scale);
            }
        }
        if !scales.is_empty() {
            out.push_str("\nPer occasion (sessions with at least 20 complete answers; every value in the JSON results):\n\n");
            for s in scales {
                let a: Vec<f64> = self
                    .reliability_by_session
                    .iter()
                    .filter(|r| r.scale == s)
                    .map(|r| r.reliability.alpha)
                    .collect();
                let (lo, hi) = a
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                        (l.min(v), h.max(v))
                    });
                let _ = writeln!(
                    out,
                    "- {}: α from {lo:.3} to {hi:.3} over {} sessions",
                    self.label(s),
                    a.len()
                );
            }
        }
        out.push('\n');
    }

    fn esat_section(&self, out: &mut String) {
        out.push_str("## 2. Individuated-secure attachment (ESAT)\n\n");
        if !self.esat_correlations.is_empty() {
            let parts: Vec<String> = self
                .esat_correlations
                .iter()
                .map(|(a, b, r)| format!("{} with {}: r = {:.2}", self.label(a), self.label(b), r))
                .collect();
            let _ = writeln!(out, "Over all session rows, {}.\n", parts.join("; "));
        }
        out.push_str("Each ESAT score is the residual of CATS Secure on the control, as an equation kept to score new data:\n\n");
        for (name, r) in &self.esat {
            // " + b · control" / " − b · control" for every control.
            let terms: String = r
                .controls
                .iter()
                .zip(&r.slopes)
                .map(|(c, b)| {
                    format!(
                        " {} {} · {}",
                        if *b < 0.0 { "−" } else { "+" },
                        num(b.abs()),
                        self.label(c)
                    )
                })
                .collect();
            let within = r.cluster.is_some();
            let _ = writeln!(
                out,
                "- **{name}**{}:  \n  {name} = {}{} − ({}{}){}  \n  R² = {:.3}, n = {} session rows.",
                if within {
                    " (within-client: every variable centred at its client's mean first)"
                } else {
                    " (pooled over session rows)"
                },
                if r.standardize.is_some() { "z(" } else { "" },
                self.label(&r.target),
                if within {
                    String::new()
                } else {
                    num(r.intercept)
                },
                if within {
                    terms
                        .trim_start_matches(" +")
                        .trim_start()
                        .replacen("− ", "−", 1)
                } else {
                    terms
                },
                match r.standardize {
                    Some((_, s)) =>
                        format!(") — z-scored: divided by the residuals' SD, {}", num(s)),
                    None => String::new(),
                },
                r.r_squared,
                r.n
            );
        }
        out.push('\n');
    }

    fn model_section(&self, out: &mut String, m: &ModelResult) {
        let _ = writeln!(
            out,
            "### {}{}\n\n{} ({} rows)\n",
            md(&m.plan.name),
            if m.plan.label.is_empty() {
                String::new()
            } else {
                format!(": {}", md(&m.plan.label))
            },
            md_code(&m.plan.formula),
            match m.plan.level {
                super::ModelLevel::Session => "session",
                super::ModelLevel::Client => "one per client",
            }
        );
        out.push_str("| term | estimate [95% CI] | SE | df | t | p | β |\n|---|---|---:|---:|---:|---:|---:|\n");
        for c in m.coefficients() {
            let beta = m
                .standardized
                .iter()
                .find(|(t, _)| *t == c.term)
                .map_or("".into(), |(_, b)| format!("{b:.3}"));
            let _ = writeln!(
                out,
                "| {} | {} {} | {} | {:.1} | {:.2} | {} | {} |",
                c.term,
                num(c.estimate),
                ci(c.ci),
                num(c.std_error),
                c.df,
                c.t,
                format_p(c.p),
                beta
            );
        }
        if let Some(f) = &m.lmm {
            let mut vc: Vec<String> = Vec::new();
            for v in f.varcorr() {
                for (e, sd) in v.effects.iter().zip(&v.sd) {
                    vc.push(format!("{} {} SD {}", v.group, e, num(*sd)));
                }
                for i in 0..v.effects.len() {
                    for j in 0..i {
                        vc.push(format!(
                            "{} correlation of {} with {} {:.2}",
                            v.group, v.effects[i], v.effects[j], v.correlation[i][j]
                        ));
                    }
                }
            }
            let icc = f.icc();
            let _ = writeln!(
                out,
                "\nRandom effects: {}; residual SD {}. Conditional ICCs (variance shares given this model's fixed effects; with a random slope, intercept variances at 0 of its variable): adjusted {:.3}, conditional {:.3}{}. Marginal R² {:.3}, conditional R² {:.3}. {} rows used, {} dropped for missing values.",
                vc.join(", "),
                num(f.sigma()),
                icc.adjusted,
                icc.conditional,
                icc.by_group
                    .iter()
                    .map(|g| format!("; {} {:.3}", g.group, g.icc))
                    .collect::<String>(),
                f.r2_marginal(),
                f.r2_conditional(),
                f.nobs(),
                f.missing().n_dropped()
            );
            if let Some(u) = &m.unconditional {
                let _ = writeln!(
                    out,
                    "Unconditional ICCs (the empty model `{}` on the same rows; 95% percentile intervals from a parametric bootstrap of {} replicates{}): {}; all random effects together {:.3} {}.",
                    u.formula,
                    u.replicates,
                    if u.failed > 0 {
                        format!(", {} failed and left out", u.failed)
                    } else {
                        String::new()
                    },
                    u.by_group
                        .iter()
                        .map(|(g, v, c)| format!("{g} {v:.3} [{:.3}, {:.3}]", c[0], c[1]))
                        .collect::<Vec<_>>()
                        .join(", "),
                    u.total.0,
                    format_args!("[{:.3}, {:.3}]", u.total.1[0], u.total.1[1])
                );
            }
            for d in f.diagnostics() {
                let _ = writeln!(out, "Note: {d}.");
            }
        }
        if let Some(f) = &m.ols {
            let _ = writeln!(
                out,
                "\nResidual SD {} on {} df; R² {:.3}. {} rows used, {} dropped for missing values.",
                num(f.sigma()),
                f.df_residual(),
                f.r_squared(),
                f.nobs(),
                f.missing().n_dropped()
            );
        }
        out.push('\n');
    }

    fn probes_section(&self, out: &mut String) {
        if self.probes.is_empty() {
            return;
        }
        out.push_str("## 4. Moderation: simple slopes and Johnson–Neyman regions\n\n");
        for p in &self.probes {
            let pr = &p.probe;
            let _ = writeln!(
                out,
                "Slope of {} along {} in {} (the moderator summarized over {} {}):\n",
                self.label(&pr.focal),
                self.label(&pr.moderator),
                md_code(&p.model),
                pr.n_units,
                if pr.moderator_level == "rows" {
                    "rows".to_string()
                } else {
                    format!("{}s", pr.moderator_level)
                }
            );
            out.push_str("| moderator | at | slope [95% CI] | SE | df | p |\n|---|---:|---|---:|---:|---:|\n");
            for s in &pr.simple_slopes {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} {} | {} | {:.1} | {} |",
                    s.label,
                    num(s.at),
                    num(s.slope),
                    ci(s.ci),
                    num(s.std_error),
                    s.df,
                    format_p(s.p)
                );
            }
            let jn = &pr.johnson_neyman;
            let possible = self.possible_range(&pr.moderator);
            let _ = writeln!(
                out,
                "\nJohnson–Neyman (α = {}): {}. Observed {} from {} to {}{}.",
                jn.alpha,
                match jn.bounds {
                    Some([a, b]) => format!("boundaries at {} and {}", num(a), num(b)),
                    None => "no boundary".into(),
                },
                self.label(&pr.moderator),
                num(jn.observed_range[0]),
                num(jn.observed_range[1]),
                possible.map_or(String::new(), |(a, b)| format!(
                    "; possible scores {} to {}",
                    num(a),
                    num(b)
                ))
            );
            for r in &jn.regions {
                let from = if r.from.is_finite() {
                    num(r.from)
                } else {
                    "below".into()
                };
                let to = if r.to.is_finite() {
                    num(r.to)
                } else {
                    "above".into()
                };
                let span = match (r.from.is_finite(), r.to.is_finite()) {
                    (false, false) => "at every value".to_string(),
                    (false, true) => format!("below {to}"),
                    (true, false) => format!("above {from}"),
                    (true, true) => format!("from {from} to {to}"),
                };
                let _ = writeln!(
                    out,
                    "- {}: {} ({:.1}% of {})",
                    span,
                    r.verdict(),
                    100.0 * r.share,
                    if pr.moderator_level == "rows" {
                        "rows".to_string()
                    } else {
                        format!("{}s", pr.moderator_level)
                    }
                );
            }
            out.push('\n');
        }
    }

    /// The possible range of a score column (its key's response range).
    fn possible_range(&self, column: &str) -> Option<(f64, f64)> {
        self.instruments
            .iter()
            .flat_map(|i| i.ranges.iter())
            .find(|(c, _, _)| c == column)
            .map(|(_, a, b)| (*a, *b))
    }

    fn mediation_section(&self, out: &mut String, m: &MediationResult) {
        let f = &m.fit;
        let _ = writeln!(
            out,
            "### {}{}\n\nDesign {} ({} sessions of {} clients{}); paths as mixed models with a client intercept{}; within parts are session deviations from the client mean, between parts client means. {} cluster resamples of whole {} (seed {}, {} failed) and {} Monte Carlo draws.\n",
            md(&m.plan.name),
            if m.plan.label.is_empty() {
                String::new()
            } else {
                format!(": {}", md(&m.plan.label))
            },
            f.design.name(),
            f.nobs,
            f.n_clusters,
            f.n_clusters2
                .map(|t| format!(" of {t} therapists"))
                .unwrap_or_default(),
            if f.n_clusters2.is_some() {
                " and a therapist intercept"
            } else {
                ""
            },
            m.bootstrap.replicates,
            if f.n_clusters2.is_some() {
                "therapists"
            } else {
                "clients"
            },
            m.bootstrap.options.seed,
            m.bootstrap.failed,
            m.monte_carlo.draws
        );
        out.push_str("| effect | estimate | SE | percentile CI | BCa CI | Monte Carlo CI | bootstrap CI |\n|---|---:|---:|---|---|---|---|\n");
        for e in &f.effects {
            let b = m.bootstrap.effect(&e.name).ok();
            let mc = m.monte_carlo.effects.iter().find(|x| x.name == e.name);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                e.name,
                num(e.estimate),
                e.std_error.map_or("—".into(), num),
                b.map_or("—".into(), |b| ci(b.percentile)),
                b.and_then(|b| b.bca).map_or("—".into(), ci),
                mc.map_or("—".into(), |m| ci(m.ci)),
                b.map_or("—", |b| zero_verdict(b.percentile))
            );
        }
        for e in f
            .effects
            .iter()
            .filter(|e| e.name.starts_with("ind") || e.name.starts_with("total_ind"))
        {
            if let Ok(b) = m.bootstrap.effect(&e.name) {
                let supported = b.percentile[0] > 0.0 || b.percentile[1] < 0.0;
                let _ = writeln!(
                    out,
                    "\n{} is {}: its 95% percentile interval {} {} zero.",
                    e.name,
                    if supported {
                        "supported"
                    } else {
                        "not supported"
                    },
                    ci(b.percentile),
                    if supported { "excludes" } else { "includes" }
                );
            }
        }
        for n in &f.notes {
            let _ = writeln!(out, "\nNote: {n}.");
        }
        out.push('\n');
    }

    /// The report's plots as (file suffix, SVG): the growth trajectories, one Johnson–Neyman
    /// plot per probe, one path diagram per mediation.
    pub fn plots(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(t) = &self.trajectories {
            out.push((
                "trajectories".to_string(),
                trajectories_svg(
                    &t.clients,
                    &t.average,
                    &t.band,
                    self.raw_label(&self.plan.ids.session),
                    self.raw_label(&t.variable),
                    &format!(
                        "{}: {} clients, model average, 95% CI",
                        self.raw_label(&t.variable),
                        t.clients.len()
                    ),
                ),
            ));
        }
        for p in &self.probes {
            out.push((
                format!("johnson_neyman_{}", p.model),
                johnson_neyman_svg(
                    &p.curve,
                    &p.probe.johnson_neyman,
                    self.raw_label(&p.probe.focal),
                    self.raw_label(&p.probe.moderator),
                ),
            ));
        }
        for m in &self.mediations {
            out.push((format!("paths_{}", m.plan.name), self.path_diagram(m)));
        }
        out
    }

    fn path_diagram(&self, m: &MediationResult) -> String {
        let f = &m.fit;
        let est = |n: &str| {
            let e = f.effects.iter().find(|e| e.name == n)?;
            let b = m.bootstrap.effect(n).ok()?;
            Some(format!("{n} = {} {}", num(e.estimate), ci(b.percentile)))
        };
        // A box holds about 24 characters: the label up to a colon, else the column name.
        let short = |c: &str| -> String {
            let l = self.raw_label(c);
            let head = l.split(':').next().unwrap_or(l).trim();
            if head.chars().count() <= 24 {
                head.to_string()
            } else {
                c.to_string()
            }
        };
        let mut boxes = vec![short(&m.plan.x)];
        boxes.extend(m.plan.m.iter().map(|v| short(v)));
        boxes.push(short(&m.plan.y));
        let y = boxes.len() - 1;
        let mut arrows = Vec::new();
        let mut push = |from: usize, to: usize, names: &[&str]| {
            let label: Vec<String> = names.iter().filter_map(|n| est(n)).collect();
            if !label.is_empty() {
                arrows.push(PathArrow {
                    from,
                    to,
                    label: label.join("; "),
                });
            }
        };
        if m.plan.m.len() == 2 {
            push(0, 1, &["a1"]);
            push(1, 2, &["d21_between"]);
            push(2, y, &["b2_between"]);
            push(0, y, &["c_prime"]);
        } else {
            push(0, 1, &["a", "a_between"]);
            push(1, y, &["b_between", "b_within"]);
            push(0, y, &["c_prime", "c_prime_between"]);
        }
        let caption: Vec<String> = f
            .effects
            .iter()
            .filter(|e| e.name.starts_with("ind") || e.name.starts_with("total"))
            .filter_map(|e| est(&e.name))
            .collect();
        path_diagram_svg(
            &boxes,
            &arrows,
            &caption,
            &format!("{} (design {})", m.plan.name, f.design.name()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plan labels cannot break a table, inject HTML or start a new line in the report.
    #[test]
    fn labels_are_escaped_for_markdown() {
        assert_eq!(
            md("a | b\n<script>x</script> *y* [z](u) `c`"),
            "a \\| b &lt;script&gt;x&lt;/script&gt; \\*y\\* \\[z\\](u) \\`c\\`"
        );
        assert_eq!(md("attachment anxiety (ECR)"), "attachment anxiety (ECR)");
        assert_eq!(md_code("y ~ x"), "`y ~ x`");
        assert_eq!(md_code("a`b|c"), "`` a`b\\|c ``");
    }
}
