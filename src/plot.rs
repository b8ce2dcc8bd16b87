//! Plots where people look rather than read, as self-contained SVG text: the Johnson–Neyman
//! plot (slope and confidence band over the moderator, significant regions shaded) and the
//! power curve. No plotting dependency: the SVG is written directly.

use crate::probe::{JohnsonNeyman, SimpleSlope};
use crate::simulate::power::PowerResult;
use std::fmt::Write as _;

const W: f64 = 640.0;
const H: f64 = 400.0;
const L: f64 = 70.0;
const R: f64 = 20.0;
const T: f64 = 30.0;
const B: f64 = 60.0;

struct Frame {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        L + (x - self.x0) / (self.x1 - self.x0) * (W - L - R)
    }
    fn py(&self, y: f64) -> f64 {
        H - B - (y - self.y0) / (self.y1 - self.y0) * (H - T - B)
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn axes(out: &mut String, f: &Frame, xlabel: &str, ylabel: &str, title: &str, x_decimals: usize) {
    let _ = write!(
        out,
        r#"<line x1="{L}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#,
        H - B,
        W - R,
        H - B
    );
    let _ = write!(
        out,
        r#"<line x1="{L}" y1="{T}" x2="{L}" y2="{}" stroke="black"/>"#,
        H - B
    );
    for k in 0..=4 {
        let xv = f.x0 + (f.x1 - f.x0) * k as f64 / 4.0;
        let yv = f.y0 + (f.y1 - f.y0) * k as f64 / 4.0;
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{}" font-size="12" text-anchor="middle">{:.*}</text>"#,
            f.px(xv),
            H - B + 18.0,
            x_decimals,
            xv
        );
        let _ = write!(
            out,
            r#"<text x="{}" y="{:.1}" font-size="12" text-anchor="end">{:.3}</text>"#,
            L - 6.0,
            f.py(yv) + 4.0,
            yv
        );
    }
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="{}" font-size="14" text-anchor="middle">{}</text>"#,
        (L + W - R) / 2.0,
        H - 15.0,
        escape(xlabel)
    );
    let _ = write!(
        out,
        r#"<text x="18" y="{:.1}" font-size="14" text-anchor="middle" transform="rotate(-90 18 {:.1})">{}</text>"#,
        (T + H - B) / 2.0,
        (T + H - B) / 2.0,
        escape(ylabel)
    );
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="20" font-size="15" text-anchor="middle">{}</text>"#,
        W / 2.0,
        escape(title)
    );
}

/// The Johnson–Neyman plot of a slope curve (from [`crate::probe::slope_curve`]).
pub fn johnson_neyman_svg(
    curve: &[SimpleSlope],
    jn: &JohnsonNeyman,
    focal: &str,
    moderator: &str,
) -> String {
    if curve.len() < 2 {
        return String::new();
    }
    let x0 = curve[0].at;
    let x1 = curve[curve.len() - 1].at;
    let lo = curve.iter().map(|s| s.ci[0]).fold(0.0f64, f64::min);
    let hi = curve.iter().map(|s| s.ci[1]).fold(0.0f64, f64::max);
    let pad = 0.05 * (hi - lo).max(1e-12);
    let f = Frame {
        x0,
        x1,
        y0: lo - pad,
        y1: hi + pad,
    };
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif">"#
    );
    out.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
    for r in jn.regions.iter().filter(|r| r.significant) {
        let a = r.from.max(x0);
        let b = r.to.min(x1);
        if b > a {
            let _ = write!(
                out,
                r##"<rect x="{:.1}" y="{T}" width="{:.1}" height="{}" fill="#cfe8cf"/>"##,
                f.px(a),
                f.px(b) - f.px(a),
                H - T - B
            );
        }
    }
    let mut band: Vec<String> = curve
        .iter()
        .map(|s| format!("{:.1},{:.1}", f.px(s.at), f.py(s.ci[1])))
        .collect();
    band.extend(
        curve
            .iter()
            .rev()
            .map(|s| format!("{:.1},{:.1}", f.px(s.at), f.py(s.ci[0]))),
    );
    let _ = write!(
        out,
        r##"<polygon points="{}" fill="#9ecae1" fill-opacity="0.6"/>"##,
        band.join(" ")
    );
    let line: Vec<String> = curve
        .iter()
        .map(|s| format!("{:.1},{:.1}", f.px(s.at), f.py(s.slope)))
        .collect();
    let _ = write!(
        out,
        r##"<polyline points="{}" fill="none" stroke="#08519c" stroke-width="2"/>"##,
        line.join(" ")
    );
    reference_line(&mut out, &f, 0.0);
    if let Some(bounds) = jn.bounds {
        for b in bounds.iter().filter(|b| **b >= x0 && **b <= x1) {
            let _ = write!(
                out,
                r#"<line x1="{:.1}" y1="{T}" x2="{:.1}" y2="{}" stroke="black" stroke-dasharray="2 2"/>"#,
                f.px(*b),
                f.px(*b),
                H - B
            );
        }
    }
    axes(
        &mut out,
        &f,
        moderator,
        &format!("slope of {focal}"),
        &format!("Johnson–Neyman plot (shaded: p < {})", jn.alpha),
        3,
    );
    out.push_str("</svg>\n");
    out
}

/// A dashed horizontal reference line across the plot at y.
fn reference_line(out: &mut String, f: &Frame, y: f64) {
    let _ = write!(
        out,
        r#"<line x1="{L}" y1="{:.1}" x2="{}" y2="{:.1}" stroke="gray" stroke-dasharray="4 3"/>"#,
        f.py(y),
        W - R,
        f.py(y)
    );
}

/// The power curve: power and its Monte Carlo interval against the number of therapists.
pub fn power_curve_svg(points: &[(usize, PowerResult)], target: &str) -> String {
    if points.is_empty() {
        return String::new();
    }
    let x0 = points[0].0 as f64;
    let x1 = (points[points.len() - 1].0 as f64).max(x0 + 1.0);
    let f = Frame {
        x0,
        x1,
        y0: 0.0,
        y1: 1.0,
    };
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif">"#
    );
    out.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
    reference_line(&mut out, &f, 0.8);
    // Points whose power is not estimable (most replicates failed) are left out, and named.
    let missing: Vec<String> = points
        .iter()
        .filter(|(_, r)| !r.power.is_finite())
        .map(|(t, _)| t.to_string())
        .collect();
    if !missing.is_empty() {
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" fill="#444">not estimable (most fits failed) at {} therapists</text>"##,
            f.px(x0) + 8.0,
            f.py(0.95),
            missing.join(", ")
        );
    }
    let points: Vec<&(usize, PowerResult)> =
        points.iter().filter(|(_, r)| r.power.is_finite()).collect();
    for (t, r) in points.iter().map(|p| (&p.0, &p.1)) {
        let x = f.px(*t as f64);
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#6baed6" stroke-width="2"/>"##,
            f.py(r.ci[0]),
            f.py(r.ci[1])
        );
        let _ = write!(
            out,
            r##"<circle cx="{x:.1}" cy="{:.1}" r="4" fill="#08519c"/>"##,
            f.py(r.power)
        );
    }
    let line: Vec<String> = points
        .iter()
        .map(|(t, r)| format!("{:.1},{:.1}", f.px(*t as f64), f.py(r.power)))
        .collect();
    let _ = write!(
        out,
        r##"<polyline points="{}" fill="none" stroke="#08519c"/>"##,
        line.join(" ")
    );
    axes(
        &mut out,
        &f,
        "therapists",
        "power",
        &format!("Power for {target} (dashed: 0.8)"),
        0,
    );
    out.push_str("</svg>\n");
    out
}

/// Individual trajectories (thin grey lines) and the model's average curve (thick), e.g. a
/// growth model's fixed part over sessions, with its confidence band (x, lower, upper) shaded
/// (empty for none).
pub fn trajectories_svg(
    clients: &[Vec<(f64, f64)>],
    average: &[(f64, f64)],
    band: &[(f64, f64, f64)],
    xlabel: &str,
    ylabel: &str,
    title: &str,
) -> String {
    let band_points: Vec<(f64, f64)> = band
        .iter()
        .flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)])
        .collect();
    let all = clients
        .iter()
        .flatten()
        .chain(average.iter())
        .chain(band_points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !(x1 > x0 && y1 >= y0) {
        return String::new();
    }
    let pad = 0.05 * (y1 - y0).max(1e-9);
    let f = Frame {
        x0,
        x1,
        y0: y0 - pad,
        y1: y1 + pad,
    };
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif">"#
    );
    out.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
    let line = |pts: &[(f64, f64)]| -> String {
        pts.iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", f.px(x), f.py(y)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for c in clients.iter().filter(|c| c.len() > 1) {
        let _ = write!(
            out,
            r##"<polyline points="{}" fill="none" stroke="#9a9a9a" stroke-width="1" opacity="0.7"/>"##,
            line(c)
        );
    }
    if band.len() > 1 {
        let mut outline: Vec<(f64, f64)> = band.iter().map(|&(x, lo, _)| (x, lo)).collect();
        outline.extend(band.iter().rev().map(|&(x, _, hi)| (x, hi)));
        let _ = write!(
            out,
            r##"<polygon points="{}" fill="#1f4e9c" fill-opacity="0.25" stroke="none"/>"##,
            line(&outline)
        );
    }
    let _ = write!(
        out,
        r##"<polyline points="{}" fill="none" stroke="#1f4e9c" stroke-width="3"/>"##,
        line(average)
    );
    axes(&mut out, &f, xlabel, ylabel, title, 0);
    out.push_str("</svg>\n");
    out
}

/// One arrow of a path diagram: from box `from` to box `to`, labelled.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct PathArrow {
    /// Index of the source box.
    pub from: usize,
    /// Index of the target box.
    pub to: usize,
    /// The label (e.g. `a = 0.47 [0.39, 0.55]`).
    pub label: String,
}

impl PathArrow {
    /// An arrow from box `from` to box `to` with its label.
    pub fn new(from: usize, to: usize, label: &str) -> PathArrow {
        PathArrow {
            from,
            to,
            label: label.into(),
        }
    }
}

/// A mediation path diagram: X at the lower left, Y at the lower right, the mediators on a row
/// above between them; arrows labelled with the estimates; caption lines under it (e.g. the
/// indirect effects).
pub fn path_diagram_svg(
    boxes: &[String],
    arrows: &[PathArrow],
    caption: &[String],
    title: &str,
) -> String {
    let n = boxes.len().max(2);
    let (bw, bh, gap) = (170.0, 46.0, 150.0);
    let width = 40.0 + n as f64 * bw + (n - 1) as f64 * gap;
    let (y_low, y_high) = (200.0, 70.0);
    let height = 300.0 + 18.0 * caption.len() as f64;
    let xs: Vec<f64> = (0..n).map(|i| 20.0 + i as f64 * (bw + gap)).collect();
    let ys: Vec<f64> = (0..n)
        .map(|i| if i == 0 || i == n - 1 { y_low } else { y_high })
        .collect();
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">"#
    );
    out.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
    out.push_str(r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>"#);
    let _ = write!(
        out,
        r#"<text x="{:.1}" y="24" font-size="15" text-anchor="middle">{}</text>"#,
        width / 2.0,
        escape(title)
    );
    for (i, b) in boxes.iter().enumerate() {
        let _ = write!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="{bw}" height="{bh}" rx="6" fill="#eef3fb" stroke="#1f4e9c"/><text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle">{}</text>"##,
            xs[i],
            ys[i],
            xs[i] + bw / 2.0,
            ys[i] + bh / 2.0 + 4.0,
            escape(b)
        );
    }
    for a in arrows {
        if a.from >= boxes.len() || a.to >= boxes.len() {
            continue;
        }
        let (x1, y1) = (xs[a.from] + bw / 2.0, ys[a.from] + bh / 2.0);
        let (x2, y2) = (xs[a.to] + bw / 2.0, ys[a.to] + bh / 2.0);
        // From the edge of one box to the edge of the other.
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
        let tx = if dx.abs() > 1e-9 {
            (bw / 2.0) / dx.abs()
        } else {
            f64::INFINITY
        };
        let ty = if dy.abs() > 1e-9 {
            (bh / 2.0) / dy.abs()
        } else {
            f64::INFINITY
        };
        let s = tx.min(ty) * len;
        let (ax, ay) = (x1 + dx / len * s, y1 + dy / len * s);
        let (bx, by) = (x2 - dx / len * s, y2 - dy / len * s);
        let _ = write!(
            out,
            r#"<line x1="{ax:.1}" y1="{ay:.1}" x2="{bx:.1}" y2="{by:.1}" stroke="black" stroke-width="1.5" marker-end="url(#arrow)"/>"#
        );
        // Labels: below the long bottom arrow, above the row of mediators for arrows between
        // them, beside a diagonal on its outer side.
        let (mx, my) = ((ax + bx) / 2.0, (ay + by) / 2.0);
        let (lx, ly, anchor) = if dy.abs() < 1e-9 && ys[a.from] == y_low {
            (mx, my + 18.0, "middle")
        } else if dy.abs() < 1e-9 {
            (mx, y_high - 12.0, "middle")
        } else if dy < 0.0 {
            (mx - 8.0, my, "end")
        } else {
            (mx + 8.0, my, "start")
        };
        // One line per estimate ("a = …; b = …" stacks).
        for (k, part) in a.label.split("; ").enumerate() {
            let _ = write!(
                out,
                r#"<text x="{lx:.1}" y="{:.1}" font-size="11" text-anchor="{anchor}">{}</text>"#,
                ly + 13.0 * k as f64,
                escape(part)
            );
        }
    }
    for (k, c) in caption.iter().enumerate() {
        let _ = write!(
            out,
            r#"<text x="20" y="{:.1}" font-size="12">{}</text>"#,
            285.0 + 18.0 * k as f64,
            escape(c)
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Region;

    /// A point whose power is not estimable is not drawn, and the plot says where it is.
    #[test]
    fn power_curve_names_points_that_are_not_estimable() {
        let ok = PowerResult::from_counts(20, 5, 0, 0, 1);
        let failed = PowerResult::from_counts(20, 0, 0, 19, 1);
        let svg = power_curve_svg(&[(2, failed), (10, ok.clone()), (20, ok)], "x");
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("not estimable (most fits failed) at 2 therapists"));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn plots_are_well_formed_svg() {
        let curve: Vec<SimpleSlope> = (0..5)
            .map(|i| {
                let w = i as f64;
                SimpleSlope {
                    at: w,
                    label: "grid".into(),
                    slope: w - 2.0,
                    std_error: 0.5,
                    df: 30.0,
                    t: 0.0,
                    p: 0.5,
                    ci: [w - 3.0, w - 1.0],
                }
            })
            .collect();
        let jn = JohnsonNeyman {
            alpha: 0.05,
            bounds: Some([3.0, 9.0]),
            regions: vec![Region {
                from: 3.0,
                to: 9.0,
                significant: true,
                direction: Some(crate::probe::Direction::Positive),
                observed: crate::probe::Observed::Partly,
                share: 0.2,
            }],
            observed_range: [0.0, 4.0],
        };
        let svg = johnson_neyman_svg(&curve, &jn, "x<1", "w");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("<polygon") && svg.contains("<polyline") && svg.contains("x&lt;1"));
        assert_eq!(svg.matches("fill=\"#cfe8cf\"").count(), 1);
        let p = PowerResult {
            power: 0.5,
            ci: [0.4, 0.6],
            replicates: 10,
            significant: 5,
            singular: 0,
            failed: 0,
            seed: 1,
        };
        let svg = power_curve_svg(&[(10, p.clone()), (20, p)], "x:z");
        assert_eq!(svg.matches("<circle").count(), 2);
    }
}
