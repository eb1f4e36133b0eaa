//! Per-level puzzle shapes, measured on the paper's released data
//! (`../shared/paper-data/Induction/{1..5}`, 1,000 rows per level), and the
//! sampler that draws a rule, a length and a mask position for a level.
//!
//! | level | length | mask | shapes (share) |
//! |---|---|---|---|
//! | 1 | 5–8 | last | arithmetic 32 %, geometric 36 %, period-2 block 11 %, alternating ± steps 21 % |
//! | 2 | 6–9 | anywhere but the first term 39 %, else last | arithmetic 46 %, alternating + steps 22 %, 2 interleaved arithmetic 8 %, period-2 block 7 %, ÷d ×c cycle 17 % |
//! | 3 | 7–11 | last | 3-step cycle of +a / −b / ×c 95 %, 3 interleaved arithmetic 5 % |
//! | 4 | 7–11 | last | 4-step cycle of +a / −b / ×c |
//! | 5 | 7–11 | last | 5-step cycle of +a / −b / ×c |
//! | L ≥ 6 | L+2 – L+6 | last | L-step cycle of +a / −b / ×c |
//!
//! Parameters as in the paper: starts 1–9 (1–5 for cycles and geometric),
//! a, b ∈ 1–4, c ∈ 2–4. The paper's data has no interleaved sequences with
//! different steps; we add a few at levels 2 and 3 so the family is trained.

use rand::Rng as _;

use super::rules::{Op, Rule};
use metaalign_core::seed::Rng;

/// Where the `?` goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskPosition {
    /// As in the paper's data: inside the sequence at level 2 (39 % of
    /// puzzles, never the first term), last elsewhere.
    #[default]
    Paper,
    /// Always the last term.
    End,
    /// Any term, first and last included, uniformly.
    Anywhere,
}

/// A kind of generating rule a level draws, with its size where it has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A constant difference.
    Arithmetic,
    /// A constant ratio (`×c`).
    Geometric,
    /// A block of this many values, repeating.
    Periodic(usize),
    /// Alternating / cyclic additions and subtractions.
    AddCycle(usize),
    /// `÷d` then `×c`, repeating.
    DivMul,
    /// k-step cycle of `+a`, `−b`, `×c`.
    OpCycle(usize),
    /// This many arithmetic sequences, interleaved term by term.
    Interleaved(usize),
}

/// What a level draws from.
#[derive(Clone, Debug)]
pub struct LevelSpec {
    /// Sequence lengths (visible terms + the mask) and their weights.
    pub lengths: Vec<(usize, u32)>,
    /// Probability that the mask is not the last term (paper mode).
    pub mask_inside: f64,
    /// Rule shapes and their weights.
    pub shapes: Vec<(Shape, u32)>,
}

impl LevelSpec {
    /// The draw of a level (see the table in the module docs).
    pub(crate) fn for_level(level: u32) -> LevelSpec {
        let uniform = |lo: usize, hi: usize| (lo..=hi).map(|n| (n, 1)).collect::<Vec<_>>();
        match level {
            1 => LevelSpec {
                lengths: vec![(5, 275), (6, 284), (7, 272), (8, 169)],
                mask_inside: 0.0,
                shapes: vec![
                    (Shape::Arithmetic, 32),
                    (Shape::Geometric, 36),
                    (Shape::Periodic(2), 11),
                    (Shape::AddCycle(2), 21),
                ],
            },
            2 => LevelSpec {
                lengths: vec![(6, 269), (7, 264), (8, 306), (9, 161)],
                mask_inside: 0.39,
                shapes: vec![
                    (Shape::Arithmetic, 46),
                    (Shape::AddCycle(2), 22),
                    (Shape::Interleaved(2), 8),
                    (Shape::Periodic(2), 7),
                    (Shape::DivMul, 17),
                ],
            },
            3 => LevelSpec {
                lengths: uniform(7, 11),
                mask_inside: 0.0,
                shapes: vec![(Shape::OpCycle(3), 95), (Shape::Interleaved(3), 5)],
            },
            4 | 5 => LevelSpec {
                lengths: uniform(7, 11),
                mask_inside: 0.0,
                shapes: vec![(Shape::OpCycle(level as usize), 1)],
            },
            _ => {
                let k = level as usize;
                LevelSpec {
                    lengths: uniform(k + 2, k + 6),
                    mask_inside: 0.0,
                    shapes: vec![(Shape::OpCycle(k), 1)],
                }
            }
        }
    }
}

fn weighted<T: Copy>(rng: &mut Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut r = rng.random_range(0..total.max(1));
    for (item, w) in items {
        if r < *w {
            return *item;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

/// A nonzero step in ±1..=4.
fn signed_step(rng: &mut Rng) -> i64 {
    let v = rng.random_range(1..=4);
    if rng.random_bool(0.5) {
        v
    } else {
        -v
    }
}

/// Draws a rule of one shape. Degenerate draws (a "cycle" whose steps are
/// all equal, a block with one value) are redrawn so the shape is what it
/// says.
pub fn draw_rule(shape: Shape, rng: &mut Rng) -> Rule {
    match shape {
        Shape::Arithmetic => Rule::Cycle {
            start: rng.random_range(1..=9),
            ops: vec![Some(Op::Add(rng.random_range(1..=4)))],
        },
        Shape::Geometric => Rule::Cycle {
            start: rng.random_range(1..=5),
            ops: vec![Some(Op::Mul(rng.random_range(2..=4)))],
        },
        Shape::Periodic(p) => loop {
            let block: Vec<i64> = (0..p).map(|_| rng.random_range(1..=9)).collect();
            if block.iter().any(|&v| v != block[0]) {
                break Rule::Periodic {
                    offset: 0,
                    first: None,
                    block,
                };
            }
        },
        Shape::AddCycle(k) => loop {
            let steps: Vec<i64> = (0..k).map(|_| signed_step(rng)).collect();
            if steps.iter().any(|&s| s != steps[0]) {
                break Rule::Cycle {
                    start: rng.random_range(1..=9),
                    ops: steps.into_iter().map(|s| Some(Op::Add(s))).collect(),
                };
            }
        },
        Shape::DivMul => Rule::Cycle {
            start: rng.random_range(2..=5),
            ops: vec![
                Some(Op::Div(rng.random_range(2..=4))),
                Some(Op::Mul(rng.random_range(2..=4))),
            ],
        },
        Shape::OpCycle(k) => Rule::Cycle {
            start: rng.random_range(1..=5),
            ops: (0..k)
                .map(|_| {
                    Some(match rng.random_range(0..3) {
                        0 => Op::Add(rng.random_range(1..=4)),
                        1 => Op::Add(-rng.random_range(1..=4)),
                        _ => Op::Mul(rng.random_range(2..=4)),
                    })
                })
                .collect(),
        },
        Shape::Interleaved(m) => loop {
            let steps: Vec<i64> = (0..m).map(|_| signed_step(rng)).collect();
            if steps.iter().any(|&s| s != steps[0]) {
                break Rule::Interleaved {
                    starts: (0..m).map(|_| rng.random_range(1..=9)).collect(),
                    steps,
                };
            }
        },
    }
}

/// One draw for a level: the rule, the sequence length and the mask position.
pub fn draw(spec: &LevelSpec, mask: MaskPosition, rng: &mut Rng) -> (Rule, usize, usize) {
    let shape = weighted(rng, &spec.shapes);
    let rule = draw_rule(shape, rng);
    let n = weighted(rng, &spec.lengths);
    let pos = match mask {
        MaskPosition::End => n - 1,
        MaskPosition::Anywhere => rng.random_range(0..n),
        MaskPosition::Paper => {
            if spec.mask_inside > 0.0 && rng.random_bool(spec.mask_inside) {
                rng.random_range(1..n - 1)
            } else {
                n - 1
            }
        }
    };
    (rule, n, pos)
}
