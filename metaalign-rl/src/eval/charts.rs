//! PNG charts for the report: accuracy bars per model and task, and
//! training curves per stage read from the run's `metrics.jsonl`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use metaalign_core::{Error, Result};
use plotters::prelude::*;

use super::report::Report;

fn plot_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::msg(format!("drawing {}: {e}", path.display()))
}

const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The binomial standard error of an accuracy `p` over `n` tasks, 0–1
/// (0 for no tasks).
pub fn binomial_stderr(p: f64, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        (p * (1.0 - p) / n as f64).max(0.0).sqrt()
    }
}

/// Grouped bars: one group per task, one bar per model (all-level greedy
/// accuracy, %), each with an error bar of ± one binomial standard error.
pub fn accuracy_bars(
    report: &Report,
    models: &[String],
    tasks: &[String],
    title: &str,
    path: &Path,
) -> Result<()> {
    let n_tasks = tasks.len().max(1);
    let n_models = models.len().max(1);
    let root = BitMapBackend::new(
        path,
        (220 + 110 * n_tasks as u32 * n_models.min(4) as u32, 480),
    )
    .into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.5f64..(n_tasks as f64 - 0.5), 0f64..100f64)
        .map_err(|e| plot_err(path, e))?;
    let task_names = tasks.to_vec();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n_tasks)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < task_names.len() {
                task_names[i as usize].clone()
            } else {
                String::new()
            }
        })
        .y_desc("greedy pass@1 (%), ± 1 SE")
        .draw()
        .map_err(|e| plot_err(path, e))?;
    let group = 0.8;
    let width = group / n_models as f64;
    let mut whiskers: Vec<PathElement<(f64, f64)>> = Vec::new();
    for (mi, model) in models.iter().enumerate() {
        let color = PALETTE[mi % PALETTE.len()];
        let mut bars: Vec<Rectangle<(f64, f64)>> = Vec::new();
        for (ti, task) in tasks.iter().enumerate() {
            let Some(row) = report.row(model, task, None) else {
                continue;
            };
            let acc = row.accuracy * 100.0;
            let x0 = ti as f64 - group / 2.0 + mi as f64 * width;
            bars.push(Rectangle::new(
                [(x0 + 0.05 * width, 0.0), (x0 + 0.95 * width, acc)],
                color.filled(),
            ));
            let se = binomial_stderr(row.accuracy, row.n) * 100.0;
            if se > 0.0 {
                // a vertical line with caps, drawn over the bars afterwards
                let (x, cap) = (x0 + width / 2.0, 0.2 * width);
                let (lo, hi) = ((acc - se).max(0.0), (acc + se).min(100.0));
                whiskers.push(PathElement::new(vec![(x, lo), (x, hi)], BLACK));
                for y in [lo, hi] {
                    whiskers.push(PathElement::new(vec![(x - cap, y), (x + cap, y)], BLACK));
                }
            }
        }
        chart
            .draw_series(bars)
            .map_err(|e| plot_err(path, e))?
            .label(model.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart.draw_series(whiskers).map_err(|e| plot_err(path, e))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| plot_err(path, e))?;
    root.present().map_err(|e| plot_err(path, e))?;
    Ok(())
}

/// Curves worth plotting, in order of preference: progress first, then
/// what explains a stall (all-equal groups, entropy collapse, length
/// blow-up, drift from the reference, clipping, gradient spikes).
const CURVE_KEYS: [&str; 11] = [
    "reward",
    "accuracy",
    "loss",
    "format_ok",
    "zero_spread_groups",
    "entropy",
    "response_length",
    "kl",
    "clip_frac",
    "ppo_kl",
    "grad_norm",
];

/// Panels per curve image.
const MAX_PANELS: usize = 8;

/// Reads `metrics.jsonl` records grouped by their `stage` tag.
pub fn read_metrics(path: &Path) -> Result<BTreeMap<String, Vec<serde_json::Value>>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        // A line cut by a crash is skipped rather than failing the report.
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let stage = v
            .get("stage")
            .and_then(|s| s.as_str())
            .unwrap_or("")
            .to_string();
        out.entry(stage).or_default().push(v);
    }
    Ok(out)
}

/// One PNG per stage that logged step metrics: up to three of the
/// `CURVE_KEYS` against `step` (or the record index). Returns the files
/// written.
pub fn training_curves(metrics_path: &Path, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let by_stage = read_metrics(metrics_path)?;
    let mut written = Vec::new();
    for (stage, records) in by_stage {
        // Only step records (trainers log `step`); events and evaluation
        // summaries are not curves.
        let records: Vec<serde_json::Value> = records
            .into_iter()
            .filter(|r| r.get("step").and_then(|s| s.as_f64()).is_some())
            .collect();
        let keys: Vec<&str> = CURVE_KEYS
            .iter()
            .copied()
            .filter(|k| {
                records
                    .iter()
                    .any(|r| r.get(*k).and_then(|v| v.as_f64()).is_some())
            })
            .take(MAX_PANELS)
            .collect();
        if keys.is_empty() || stage.is_empty() {
            continue;
        }
        let safe: String = stage
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = out_dir.join(format!("curves-{safe}.png"));
        draw_curves(&stage, &records, &keys, &path)?;
        written.push(path);
    }
    Ok(written)
}

fn draw_curves(
    stage: &str,
    records: &[serde_json::Value],
    keys: &[&str],
    path: &Path,
) -> Result<()> {
    // One column up to three curves, two beyond.
    let cols = if keys.len() > 3 { 2 } else { 1 };
    let rows = keys.len().div_ceil(cols);
    let root = BitMapBackend::new(path, (640 * cols as u32, 260 * rows as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
    let panels = root.split_evenly((rows, cols));
    for (i, (key, panel)) in keys.iter().zip(panels.iter()).enumerate() {
        let points: Vec<(f64, f64)> = records
            .iter()
            .enumerate()
            .filter_map(|(idx, r)| {
                let y = r.get(*key)?.as_f64()?;
                let x = r.get("step").and_then(|s| s.as_f64()).unwrap_or(idx as f64);
                y.is_finite().then_some((x, y))
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        let (mut x0, mut x1) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY);
        for &(x, y) in &points {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        let pad = ((y1 - y0) * 0.05).max(1e-6);
        let caption = if i == 0 {
            format!("{stage}: {key}")
        } else {
            key.to_string()
        };
        let mut chart = ChartBuilder::on(panel)
            .caption(caption, ("sans-serif", 18))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
            .map_err(|e| plot_err(path, e))?;
        chart
            .configure_mesh()
            .x_desc("step")
            .draw()
            .map_err(|e| plot_err(path, e))?;
        let color = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| plot_err(path, e))?;
    }
    root.present().map_err(|e| plot_err(path, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::report::{EvalSettings, ReportRow};
    use super::*;

    fn row(model: &str, task: &str, acc: f64) -> ReportRow {
        ReportRow {
            model: model.into(),
            task: task.into(),
            level: None,
            accuracy: acc,
            n: 10,
            format_ok: None,
            unparseable: None,
            mean_length: None,
            k: None,
            avg_at_k: None,
            pass_at_k: None,
            members: None,
        }
    }

    fn is_png(path: &Path) -> bool {
        std::fs::read(path).is_ok_and(|b| b.len() > 1000 && b.starts_with(b"\x89PNG"))
    }

    #[test]
    fn writes_accuracy_bars_and_training_curves() {
        let dir = tempfile::tempdir().unwrap();
        let report = Report {
            results: vec![
                row("base", "deduction", 0.2),
                row("base", "induction", 0.4),
                row("merged", "deduction", 0.5),
                row("merged", "induction", 0.1),
            ],
            models: Default::default(),
            settings: EvalSettings {
                count: 10,
                levels: vec![1],
                avg_k: 0,
                temperature: 0.7,
                top_p: 1.0,
                max_new_tokens: 32,
                seed: 0,
                fixed: Default::default(),
            },
            tables: vec![],
            comparisons: vec![],
            claims: None,
            extra: Default::default(),
        };
        let bars = dir.path().join("bars.png");
        accuracy_bars(
            &report,
            &["base".into(), "merged".into()],
            &["deduction".into(), "induction".into()],
            "accuracy",
            &bars,
        )
        .unwrap();
        assert!(is_png(&bars));
        // 20% of 10 tasks: sqrt(0.2 · 0.8 / 10)
        assert!((binomial_stderr(0.2, 10) - 0.016f64.sqrt()).abs() < 1e-12);
        assert_eq!(binomial_stderr(1.0, 10), 0.0);
        assert_eq!(binomial_stderr(0.5, 0), 0.0);

        let metrics = dir.path().join("metrics.jsonl");
        let mut text = String::new();
        for step in 0..20 {
            text.push_str(&format!(
                "{{\"stage\":\"align\",\"step\":{step},\"reward\":{},\"accuracy\":{}}}\n",
                step as f64 * 0.1,
                step as f64 * 0.02
            ));
        }
        text.push_str("{\"stage\":\"merge\",\"tensors\":3}\n{\"truncated");
        std::fs::write(&metrics, text).unwrap();
        let written = training_curves(&metrics, dir.path()).unwrap();
        assert_eq!(written, vec![dir.path().join("curves-align.png")]);
        assert!(is_png(&written[0]));
    }
}
