//! The paper's released Induction data (`../shared/paper-data/Induction`):
//! every row imports, its ground truth verifies as correct, our solver
//! answers it, and the ambiguous rows are counted. Skips, saying so, when
//! the folder is absent.

use std::path::PathBuf;

use metaalign_core::TaskGenerator;
use metaalign_tasks::dataset::read_paper_tasks;
use metaalign_tasks::induction::{
    reference_answer, solve_masked, task_sequence, Agreement, InductionGenerator, Masked,
};

fn paper_dir() -> Option<PathBuf> {
    // The paper's importers come with the task plugin.
    metaalign_core::registry::ensure(&metaalign_tasks::TasksPlugin).unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/paper-data/Induction");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: {} is absent (the paper's data is not in this checkout)",
            dir.display()
        );
        None
    }
}

#[test]
fn paper_induction_rows_import_verify_and_solve() {
    let Some(dir) = paper_dir() else { return };
    let gen = InductionGenerator::default();
    let verifier = gen.verifier();
    let mut total = 0;
    let mut report = Vec::new();
    let mut mismatches = Vec::new();
    for level in 1..=5 {
        let (mut unique, mut ambiguous, mut other_class) = (0, 0, 0);
        let mut examples = Vec::new();
        let mut complex_examples = Vec::new();
        for split in ["train", "test"] {
            let path = dir.join(format!("{level}/{split}.parquet"));
            let tasks =
                read_paper_tasks(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!tasks.is_empty(), "{}", path.display());
            for task in &tasks {
                total += 1;
                assert!(task.templated);
                assert_eq!(task.level.0, level);
                // The ground truth, wrapped in a well-formed response, is correct.
                let response = format!(
                    "<think>\nworking\n</think>\n<answer>{}</answer>",
                    task.answer
                );
                let verdict = verifier.verify(task, &response);
                assert!(
                    verdict.format_ok && verdict.is_correct(),
                    "{}: {verdict:?}",
                    task.id
                );
                // Our solver answers it, and agrees with the stored answer.
                let solution = gen
                    .solve(task)
                    .unwrap_or_else(|e| panic!("{}: {e}", task.id));
                if solution.answer != task.answer {
                    mismatches.push(format!(
                        "{} {} paper {} ours {}",
                        task.id,
                        task.puzzle.replace('\n', " "),
                        task.answer,
                        solution.answer
                    ));
                }
                // Ambiguity: do the simplest rules allow other completions?
                let seq = task_sequence(task).unwrap();
                let masked = Masked::new(&seq.terms, seq.mask).unwrap();
                let solved = solve_masked(&masked, reference_answer(task), None, None).unwrap();
                match solved.agreement {
                    Agreement::Unique => unique += 1,
                    Agreement::AmongSimplest => {
                        ambiguous += 1;
                        if examples.len() < 2 {
                            examples.push(format!(
                                "{} -> {:?}",
                                task.puzzle.lines().nth(1).unwrap_or(""),
                                solved.simplest.iter().map(|(v, _)| v).collect::<Vec<_>>()
                            ));
                        }
                    }
                    Agreement::MoreComplex => {
                        other_class += 1;
                        if complex_examples.len() < 2 {
                            complex_examples.push(format!(
                                "{} paper {} ({}), simplest {:?}",
                                task.puzzle.lines().nth(1).unwrap_or(""),
                                solved.value,
                                solved.class,
                                solved.simplest.iter().map(|(v, _)| v).collect::<Vec<_>>()
                            ));
                        }
                    }
                    Agreement::Own => {}
                }
            }
        }
        report.push(format!(
            "level {level}: {unique} unique, {ambiguous} ambiguous (paper answer among several completions of the simplest class), {other_class} whose paper answer comes from a more complex rule; e.g. {examples:?} {complex_examples:?}"
        ));
    }
    for line in &report {
        println!("{line}");
    }
    assert_eq!(total, 5000, "expected 5 levels × 1000 rows");
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first: {:#?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(10)]
    );
}
