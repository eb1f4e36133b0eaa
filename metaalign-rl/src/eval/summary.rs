//! The top of the evaluation report: the paper's three claims as they came
//! out, in words with numbers, and the table of every paired comparison.

use std::fmt::Write as _;

use super::claims::Claims;
use super::compare::{Comparison, Paired, MEAN};

/// A difference this many standard errors above zero counts as shown.
pub const HOLDS_SE: f64 = 3.0;
/// Below this many standard errors a difference is called undetectable.
const DETECT_SE: f64 = 2.0;

/// `z` for display: `–` when there is no spread to measure it by.
fn fmt_z(p: &Paired) -> String {
    let z = p.z();
    if z.is_infinite() {
        if z > 0.0 { "∞" } else { "-∞" }.to_string()
    } else if p.stderr > 0.0 {
        format!("{z:.1}")
    } else {
        "–".to_string()
    }
}

/// `+6.2 ± 1.3 points (4.8 SE)`.
fn points(p: &Paired) -> String {
    format!(
        "{:+.1} ± {:.1} points ({} SE)",
        100.0 * p.diff,
        100.0 * p.stderr,
        fmt_z(p)
    )
}

fn holds(p: &Paired) -> bool {
    p.z() >= HOLDS_SE
}

fn find<'a>(
    rows: &'a [Comparison],
    model: &str,
    baseline: &str,
    task: &str,
) -> Option<&'a Comparison> {
    rows.iter()
        .find(|r| r.model == model && r.baseline == baseline && r.task == task)
}

/// The three claims, one numbered line each (a claim without its models
/// configured is left out).
pub fn claims_summary(claims: &Claims, rows: &[Comparison]) -> String {
    let mut md = format!(
        "### Claims\n\nPaired differences in greedy pass@1 on the same held-out tasks, in points, ± one standard error; a claim holds at ≥ {HOLDS_SE:.0} standard errors (SE).\n\n"
    );
    // Claim 1: each specialist on its own ability.
    let own: Vec<&Comparison> = rows
        .iter()
        .filter(|r| {
            r.own
                && r.baseline == claims.warm_start
                && claims.specialists.get(&r.task) == Some(&r.model)
        })
        .collect();
    let abilities: Vec<&str> = own.iter().map(|r| r.task.as_str()).collect();
    let gains: Vec<String> = own
        .iter()
        .map(|r| format!("{} {}", r.task, points(&r.paired())))
        .collect();
    let held = own.iter().filter(|r| holds(&r.paired())).count();
    let _ = if own.is_empty() {
        writeln!(
            md,
            "1. Specialists gain on their own ability: no paired results."
        )
    } else {
        writeln!(
            md,
            "1. Specialists gain on their own ability: {} — holds for {held} of {} (≥ {HOLDS_SE:.0} SE).",
            gains.join(", "),
            own.len()
        )
    };
    // Claim 2: the merged models keep those gains.
    if !claims.merged.is_empty() {
        let mut parts = Vec::new();
        for m in &claims.merged {
            let total = match abilities.as_slice() {
                [only] => find(rows, m, &claims.warm_start, only),
                _ => find(rows, m, &claims.warm_start, MEAN),
            };
            let Some(total) = total else {
                parts.push(format!("{m}: no paired results."));
                continue;
            };
            let p = total.paired();
            let verdict = if holds(&p) {
                format!("holds (≥ {HOLDS_SE:.0} SE)")
            } else {
                format!("not shown (< {HOLDS_SE:.0} SE)")
            };
            let kept: Vec<String> = own
                .iter()
                .map(|spec| {
                    let merged = find(rows, m, &claims.warm_start, &spec.task);
                    // A share of a gain that is itself noise means nothing.
                    match merged {
                        Some(mr) if spec.diff > 0.0 && holds(&spec.paired()) => {
                            format!("{:.0}%", 100.0 * mr.diff / spec.diff)
                        }
                        _ => "n/a".to_string(),
                    }
                })
                .collect();
            let what = if abilities.len() == 1 { "" } else { " mean" };
            parts.push(format!(
                "{m}{what} {} over the warm start — {verdict}; keeps {} of each specialist's own gain ({}).",
                points(&p),
                kept.join(" / "),
                abilities.join(" / ")
            ));
        }
        let _ = writeln!(md, "2. The merge keeps the gains: {}", parts.join(" "));
    }
    // Claim 3: domain RL from the merge against from the warm start.
    if let Some(d) = &claims.domain {
        let outcome = match find(rows, &d.meta, &d.ins, &d.task) {
            None => "no paired results".to_string(),
            Some(r) => domain_outcome(&r.paired()),
        };
        let _ = writeln!(
            md,
            "3. Domain RL from the merge ({}) vs from the warm start ({}) on {}: {outcome}.",
            d.meta, d.ins, d.task
        );
    }
    md
}

fn domain_outcome(p: &Paired) -> String {
    let z = p.z();
    if z.abs() < DETECT_SE {
        return format!("no detectable difference at n = {} ({})", p.n, points(p));
    }
    let (word, sig) = match (p.diff > 0.0, z.abs() >= HOLDS_SE) {
        (true, true) => ("better", format!("holds at ≥ {HOLDS_SE:.0} SE")),
        (true, false) => ("better", format!("not significant at {HOLDS_SE:.0} SE")),
        (false, true) => ("worse", format!("significant at {HOLDS_SE:.0} SE")),
        (false, false) => ("worse", format!("not significant at {HOLDS_SE:.0} SE")),
    };
    format!(
        "{word} by {:.1} ± {:.1} points ({} SE, {sig})",
        100.0 * p.diff.abs(),
        100.0 * p.stderr,
        fmt_z(&Paired {
            diff: p.diff.abs(),
            ..*p
        })
    )
}

/// Every comparison as a table: the difference in points, its standard
/// error, `z` = diff / SE and the paired tasks.
pub fn comparisons_table(rows: &[Comparison]) -> String {
    let mut md = String::from(
        "### Paired comparisons (greedy pass@1, points)\n\n| Model | Baseline | Task | Diff | ± SE | z | n |\n|---|---|---|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let task = if r.task == MEAN && !r.over.is_empty() {
            format!("mean ({})", r.over.join(", "))
        } else if r.own {
            format!("{} (own)", r.task)
        } else {
            r.task.clone()
        };
        let p = r.paired();
        let _ = writeln!(
            md,
            "| {} | {} | {task} | {:+.1} | {:.1} | {} | {} |",
            r.model,
            r.baseline,
            100.0 * r.diff,
            100.0 * r.stderr,
            fmt_z(&p),
            r.n
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::super::claims::DomainClaim;
    use super::*;

    fn row(model: &str, baseline: &str, task: &str, diff: f64, stderr: f64) -> Comparison {
        Comparison {
            model: model.into(),
            baseline: baseline.into(),
            task: task.into(),
            diff,
            stderr,
            n: 500,
            own: model == task,
            over: vec![],
        }
    }

    #[test]
    fn domain_outcomes_in_words() {
        let p = |diff, stderr| Paired {
            diff,
            stderr,
            n: 500,
        };
        assert_eq!(
            domain_outcome(&p(0.03, 0.015)),
            "better by 3.0 ± 1.5 points (2.0 SE, not significant at 3 SE)"
        );
        assert_eq!(
            domain_outcome(&p(0.004, 0.015)),
            "no detectable difference at n = 500 (+0.4 ± 1.5 points (0.3 SE))"
        );
        assert_eq!(
            domain_outcome(&p(-0.06, 0.015)),
            "worse by 6.0 ± 1.5 points (4.0 SE, significant at 3 SE)"
        );
        assert_eq!(
            domain_outcome(&p(0.06, 0.015)),
            "better by 6.0 ± 1.5 points (4.0 SE, holds at ≥ 3 SE)"
        );
    }

    #[test]
    fn a_specialist_without_a_gain_has_no_share_and_one_ability_needs_no_mean() {
        let claims = Claims {
            warm_start: "w".into(),
            specialists: [("deduction".to_string(), "deduction".to_string())].into(),
            merged: vec!["m".into()],
            domain: Some(DomainClaim {
                task: "arith".into(),
                meta: "dm".into(),
                ins: "di".into(),
            }),
        };
        let rows = vec![
            row("deduction", "w", "deduction", -0.01, 0.01),
            row("m", "w", "deduction", 0.05, 0.01),
        ];
        let md = claims_summary(&claims, &rows);
        assert!(
            md.contains("deduction -1.0 ± 1.0 points (-1.0 SE) — holds for 0 of 1"),
            "{md}"
        );
        assert!(
            md.contains(
                "m +5.0 ± 1.0 points (5.0 SE) over the warm start — holds (≥ 3 SE); keeps n/a of"
            ),
            "{md}"
        );
        assert!(md.contains("on arith: no paired results."), "{md}");
        let table = comparisons_table(&rows);
        assert!(
            table.contains("| deduction | w | deduction (own) | -1.0 | 1.0 | -1.0 | 500 |"),
            "{table}"
        );
    }
}
