//! The agreement tables of the Keras comparison, as text cells: written once here and
//! drawn both as HTML (the report's section) and as Markdown (`vanishing keras compare`).

use std::collections::BTreeMap;

use vanishing_analysis::{
    ACCURACY_TOLERANCE, ExperimentTables, Fidelity, GRADIENT_TOLERANCE, Verdict, fidelity,
    keras_pairs,
};

/// A table of text cells; the first column is a label, the last a verdict, the
/// others numbers.
pub(crate) struct TextTable {
    pub(crate) headers: &'static [&'static str],
    pub(crate) rows: Vec<Vec<String>>,
    /// Each row's verdict, for emphasis.
    pub(crate) verdicts: Vec<Verdict>,
}

/// How the gradient comparison is judged, in words.
pub(crate) fn gradient_caption() -> String {
    format!(
        "Kernel-gradient std of the first minibatch at initialization, median over seeds \
         (agreement: within {:.0}%; sampling noise: the difference that chance alone makes \
         likely at these numbers of seeds, 95%)",
        GRADIENT_TOLERANCE * 100.0
    )
}

/// How the accuracy comparison is judged, in words.
pub(crate) fn accuracy_caption() -> String {
    format!("Final training accuracy, median over seeds (agreement: within {ACCURACY_TOLERANCE})")
}

/// The median gradient spread per configuration and layer in both frameworks.
pub(crate) fn gradient_table(f: &Fidelity) -> TextTable {
    TextTable {
        headers: &[
            "configuration",
            "layer",
            "vanishing",
            "Keras",
            "difference",
            "sampling noise",
            "seeds",
            "agrees",
        ],
        rows: f
            .gradients
            .iter()
            .map(|g| {
                vec![
                    g.label.clone(),
                    g.layer.to_string(),
                    format!("{:.3e}", g.vanishing),
                    format!("{:.3e}", g.keras),
                    format!("{:+.1}%", (g.vanishing / g.keras - 1.0) * 100.0),
                    format!("±{:.0}%", g.noise * 100.0),
                    format!("{} / {}", g.runs.0, g.runs.1),
                    g.verdict().name().to_owned(),
                ]
            })
            .collect(),
        verdicts: f.gradients.iter().map(|g| g.verdict()).collect(),
    }
}

/// The median final accuracy per configuration in both frameworks.
pub(crate) fn accuracy_table(f: &Fidelity) -> TextTable {
    TextTable {
        headers: &[
            "configuration",
            "vanishing",
            "Keras",
            "difference",
            "sampling noise",
            "seeds",
            "agrees",
        ],
        rows: f
            .accuracy
            .iter()
            .map(|a| {
                vec![
                    a.label.clone(),
                    format!("{:.3}", a.vanishing),
                    format!("{:.3}", a.keras),
                    format!("{:+.3}", a.difference()),
                    format!("±{:.3}", a.noise),
                    format!("{} / {}", a.runs.0, a.runs.1),
                    a.verdict().name().to_owned(),
                ]
            })
            .collect(),
        verdicts: f.accuracy.iter().map(|a| a.verdict()).collect(),
    }
}

fn markdown(table: &TextTable) -> String {
    let line = |cells: &[&str]| format!("| {} |\n", cells.join(" | "));
    let mut out = line(table.headers) + &line(&vec!["---"; table.headers.len()]);
    for (row, verdict) in table.rows.iter().zip(&table.verdicts) {
        let mut cells: Vec<&str> = row.iter().map(String::as_str).collect();
        let emphasised = format!("**{}**", verdict.name());
        if *verdict == Verdict::Disagrees {
            *cells.last_mut().expect("a row has cells") = &emphasised;
        }
        out.push_str(&line(&cells));
    }
    out
}

/// The agreement of every experiment run by both frameworks, as Markdown: per
/// experiment the versions, the gradient table and the accuracy table, then a count of
/// the verdicts. `None` when no experiment has a Keras twin.
pub fn agreement_markdown(all: &[ExperimentTables]) -> Option<String> {
    let pairs = keras_pairs(all);
    if pairs.is_empty() {
        return None;
    }
    let mut out = String::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (vanishing, keras) in pairs {
        let f = fidelity(vanishing, keras);
        out.push_str(&format!(
            "## {}\n\nvanishing {} vs {}\n\n{}:\n\n{}\n{}:\n\n{}\n",
            f.experiment,
            vanishing.runs[0].framework_version,
            keras.runs[0].framework_version,
            gradient_caption(),
            markdown(&gradient_table(&f)),
            accuracy_caption(),
            markdown(&accuracy_table(&f)),
        ));
        for v in f.verdicts() {
            *counts.entry(v.name()).or_insert(0) += 1;
        }
    }
    let count = |v: Verdict| counts.get(v.name()).copied().unwrap_or(0);
    out.push_str(&format!(
        "{} medians agree within tolerance, {} disagree beyond it and beyond sampling noise, \
         {} differ by more than the tolerance with too few seeds to tell (\"unresolved\": \
         the sampling noise alone exceeds the tolerance).\n",
        count(Verdict::Agrees),
        count(Verdict::Disagrees),
        count(Verdict::Unresolved)
    ));
    Some(out)
}
