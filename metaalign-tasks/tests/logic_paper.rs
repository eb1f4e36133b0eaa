//! Deduction and abduction against the paper's released data
//! (`../shared/paper-data` from the repository root): every row imports,
//! our exact solver agrees with its ground truth, and the ground truth
//! wrapped as a well-formed response verifies as correct. Skips, saying
//! why, when the data is absent.

use std::path::{Path, PathBuf};

use metaalign_core::{Outcome, TaskGenerator};
use metaalign_tasks::abduction::{self, AbductionGenerator};
use metaalign_tasks::dataset::paper::read_paper_records;
use metaalign_tasks::deduction::{self, DeductionGenerator, DeductionPuzzle};
use metaalign_tasks::logic::Models;

fn paper_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/paper-data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: paper data not found at {}", dir.display());
        None
    }
}

fn files(dir: &Path, ability: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(levels) = std::fs::read_dir(dir.join(ability)) else {
        return out;
    };
    for level in levels.flatten() {
        for split in ["train.parquet", "test.parquet"] {
            let p = level.path().join(split);
            if p.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn deduction_rows_import_solve_and_verify() {
    let Some(dir) = paper_dir() else { return };
    let g = DeductionGenerator::default();
    let v = g.verifier();
    let mut rows = 0;
    for file in files(&dir, "Deduction") {
        for rec in read_paper_records(&file).unwrap() {
            let task =
                deduction::from_paper(&rec).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(task.templated);
            // Formulas print back exactly as the paper wrote them.
            let (p, _) = DeductionPuzzle::from_ground_truth(&task.ground_truth).unwrap();
            let originals = task.ground_truth["formulas"].as_array().unwrap();
            for (i, f) in originals.iter().enumerate() {
                assert_eq!(p.formula_text(i), f.as_str().unwrap());
            }
            // Our solver finds the paper's answer, and it is the unique model.
            assert!(matches!(p.models(), Models::Unique(_)), "{}", task.id);
            assert_eq!(task.ground_truth["unique"], true, "{}", task.id);
            let solved = g.solve(&task).unwrap();
            assert_eq!(solved.answer.trim(), task.answer.trim(), "{}", task.id);
            let response = format!("</think><answer>{}</answer>", task.answer);
            let verdict = v.verify(&task, &response);
            assert!(
                verdict.format_ok && verdict.outcome == Outcome::Correct,
                "{}: {verdict:?}",
                task.id
            );
            rows += 1;
        }
    }
    assert_eq!(rows, 4000, "the paper has 4,000 deduction rows");
}

#[test]
fn abduction_rows_import_solve_and_verify() {
    let Some(dir) = paper_dir() else { return };
    let g = AbductionGenerator::default();
    let v = g.verifier();
    let mut rows = 0;
    for file in files(&dir, "Abduction") {
        for rec in read_paper_records(&file).unwrap() {
            let task =
                abduction::from_paper(&rec).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            // The puzzle text prints back exactly.
            let p = abduction::parse_puzzle_text(&task.puzzle).unwrap();
            let first_three: Vec<&str> = task.puzzle.lines().take(3).collect();
            assert_eq!(p.text(), first_three.join("\n"), "{}", task.id);
            // Exact entailment labels equal the paper's.
            let solved = g.solve(&task).unwrap();
            assert_eq!(solved.answer, task.answer.trim(), "{}", task.id);
            let response = format!("</think><answer>{}</answer>", task.answer);
            let verdict = v.verify(&task, &response);
            assert!(
                verdict.format_ok && verdict.outcome == Outcome::Correct,
                "{}: {verdict:?}",
                task.id
            );
            rows += 1;
        }
    }
    assert_eq!(rows, 10000, "the paper has 10,000 abduction rows");
}
