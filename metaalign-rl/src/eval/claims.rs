//! Which paired comparisons an `evaluate` stage reports.
//!
//! `claims` names the roles of the paper's recipe (warm start, one
//! specialist per ability, the merged model(s), the two domain-RL runs); the
//! comparisons that test its three claims follow from them:
//!
//! 1. every specialist against the warm start on every specialist ability
//!    (its own ability flagged `own`);
//! 2. every merged model against the warm start on the same abilities (and
//!    their mean);
//! 3. domain RL from the merge (`meta`) against domain RL from the warm start
//!    (`ins`) on the domain task.
//!
//! `compare` lists further comparisons by hand.

use std::collections::BTreeMap;
use std::fmt;

use metaalign_core::{Error, Result};
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::compare::Planned;

/// `claims = { warm_start, specialists, merged, domain }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// The model every specialist and merge started from.
    pub warm_start: String,
    /// Ability (task source name) -> its specialist model.
    pub specialists: BTreeMap<String, String>,
    /// The merged model, or several (e.g. fixed weights and searched ones).
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub merged: Vec<String>,
    /// Domain RL from the merge against domain RL from the warm start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainClaim>,
}

/// `domain = { task, meta, ins }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainClaim {
    /// The domain's task source.
    pub task: String,
    /// Domain RL started from the merged model.
    pub meta: String,
    /// Domain RL started from the warm start (the instruct model).
    pub ins: String,
}

/// `compare = [{ model, baseline, tasks }]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareSpec {
    /// The model whose accuracy is compared.
    pub model: String,
    /// The model it is compared against.
    pub baseline: String,
    /// Task sources; default: every evaluated one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<String>>,
}

/// `"name"` or `["name", ...]`.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a model name or a list of model names")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }
        fn visit_seq<A: SeqAccess<'de>>(
            self,
            mut s: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(v) = s.next_element::<String>()? {
                out.push(v);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

/// Names known to the stage, to check references against.
pub(crate) struct Known<'a> {
    pub models: &'a [&'a str],
    pub tasks: &'a [String],
}

impl Known<'_> {
    fn model(&self, key: &str, name: &str) -> Result<()> {
        if self.models.contains(&name) {
            return Ok(());
        }
        Err(Error::config(format!(
            "evaluate: `{key}` names model `{name}`, which is not an evaluated model (models: {})",
            self.models.join(", ")
        )))
    }

    fn task(&self, key: &str, name: &str) -> Result<()> {
        if self.tasks.iter().any(|t| t == name) {
            return Ok(());
        }
        Err(Error::config(format!(
            "evaluate: `{key}` names task `{name}`, which is not an evaluated task (tasks: {})",
            self.tasks.join(", ")
        )))
    }
}

impl Claims {
    /// Every name is an evaluated model or task.
    pub(crate) fn check(&self, known: &Known) -> Result<()> {
        known.model("claims.warm_start", &self.warm_start)?;
        if self.specialists.is_empty() {
            return Err(Error::config(
                "evaluate: `claims.specialists` is empty; map each ability to its specialist, e.g. { deduction = \"deduction\" }",
            ));
        }
        for (ability, model) in &self.specialists {
            known.task("claims.specialists", ability)?;
            known.model(&format!("claims.specialists.{ability}"), model)?;
        }
        for m in &self.merged {
            known.model("claims.merged", m)?;
        }
        if let Some(d) = &self.domain {
            known.task("claims.domain.task", &d.task)?;
            known.model("claims.domain.meta", &d.meta)?;
            known.model("claims.domain.ins", &d.ins)?;
        }
        Ok(())
    }

    /// The specialists' abilities in the order of the stage's `tasks`.
    pub fn abilities(&self, tasks: &[String]) -> Vec<String> {
        tasks
            .iter()
            .filter(|t| self.specialists.contains_key(*t))
            .cloned()
            .collect()
    }

    /// The comparisons that test the three claims.
    pub(crate) fn plan(&self, tasks: &[String]) -> Vec<Planned> {
        let abilities = self.abilities(tasks);
        let mut out = Vec::new();
        for ability in &abilities {
            out.push(Planned {
                model: self.specialists[ability].clone(),
                baseline: self.warm_start.clone(),
                tasks: abilities.clone(),
                own: Some(ability.clone()),
            });
        }
        for m in &self.merged {
            out.push(Planned {
                model: m.clone(),
                baseline: self.warm_start.clone(),
                tasks: abilities.clone(),
                own: None,
            });
        }
        if let Some(d) = &self.domain {
            out.push(Planned {
                model: d.meta.clone(),
                baseline: d.ins.clone(),
                tasks: vec![d.task.clone()],
                own: None,
            });
        }
        out
    }
}

impl CompareSpec {
    pub(crate) fn check(&self, i: usize, known: &Known) -> Result<()> {
        known.model(&format!("compare[{i}].model"), &self.model)?;
        known.model(&format!("compare[{i}].baseline"), &self.baseline)?;
        for t in self.tasks.iter().flatten() {
            known.task(&format!("compare[{i}].tasks"), t)?;
        }
        if self.tasks.as_ref().is_some_and(Vec::is_empty) {
            return Err(Error::config(format!(
                "evaluate: `compare[{i}].tasks` is empty; leave it out to compare on every task"
            )));
        }
        Ok(())
    }

    pub(crate) fn plan(&self, tasks: &[String]) -> Planned {
        Planned {
            model: self.model.clone(),
            baseline: self.baseline.clone(),
            tasks: self.tasks.clone().unwrap_or_else(|| tasks.to_vec()),
            own: None,
        }
    }
}

/// Everything to compare: the claims' comparisons, then the listed ones.
pub(crate) fn plan(
    claims: Option<&Claims>,
    compare: &[CompareSpec],
    tasks: &[String],
) -> Vec<Planned> {
    let mut out = claims.map(|c| c.plan(tasks)).unwrap_or_default();
    out.extend(compare.iter().map(|c| c.plan(tasks)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(text: &str) -> Claims {
        #[derive(Deserialize)]
        struct W {
            claims: Claims,
        }
        toml::from_str::<W>(text).unwrap().claims
    }

    #[test]
    fn merged_is_one_name_or_a_list_and_the_plan_follows_the_task_order() {
        let one = claims(
            r#"claims = { warm_start = "w", specialists = { induction = "i", deduction = "d" }, merged = "m" }"#,
        );
        assert_eq!(one.merged, ["m"]);
        let many = claims(
            r#"claims = { warm_start = "w", specialists = { induction = "i", deduction = "d" }, merged = ["m", "m2"], domain = { task = "arith", meta = "dm", ins = "di" } }"#,
        );
        assert_eq!(many.merged, ["m", "m2"]);
        let tasks: Vec<String> = ["deduction", "induction", "arith"]
            .map(String::from)
            .to_vec();
        let plan = many.plan(&tasks);
        let summary: Vec<(&str, &str, usize, Option<&str>)> = plan
            .iter()
            .map(|p| {
                (
                    p.model.as_str(),
                    p.baseline.as_str(),
                    p.tasks.len(),
                    p.own.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("d", "w", 2, Some("deduction")),
                ("i", "w", 2, Some("induction")),
                ("m", "w", 2, None),
                ("m2", "w", 2, None),
                ("dm", "di", 1, None),
            ]
        );
        assert_eq!(plan[0].tasks, ["deduction", "induction"]);
        // round trip
        let text = toml::to_string(&many).unwrap();
        assert_eq!(toml::from_str::<Claims>(&text).unwrap(), many);
    }

    #[test]
    fn unknown_names_are_refused_with_the_valid_ones_listed() {
        let models = ["w", "d", "m"];
        let tasks = vec!["deduction".to_string()];
        let known = Known {
            models: &models,
            tasks: &tasks,
        };
        let ok = claims(
            r#"claims = { warm_start = "w", specialists = { deduction = "d" }, merged = "m" }"#,
        );
        ok.check(&known).unwrap();
        let bad = claims(
            r#"claims = { warm_start = "w", specialists = { deduction = "dd" }, merged = "m" }"#,
        );
        let err = bad.check(&known).unwrap_err().to_string();
        assert!(
            err.contains("`dd`")
                && err.contains("claims.specialists.deduction")
                && err.contains("w, d, m"),
            "{err}"
        );
        let bad = claims(r#"claims = { warm_start = "w", specialists = { logic = "d" } }"#);
        let err = bad.check(&known).unwrap_err().to_string();
        assert!(
            err.contains("`logic`") && err.contains("deduction"),
            "{err}"
        );
        let spec = CompareSpec {
            model: "m".into(),
            baseline: "w".into(),
            tasks: Some(vec!["nope".into()]),
        };
        let err = spec.check(0, &known).unwrap_err().to_string();
        assert!(
            err.contains("`nope`") && err.contains("compare[0].tasks"),
            "{err}"
        );
        // unknown keys are named
        let err = toml::from_str::<Claims>("warm_start = \"w\"\nspecialists = {}\nmerge = \"m\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("merge"), "{err}");
    }
}
