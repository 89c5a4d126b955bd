//! The "Keras vs vanishing" section: the same configurations trained by both, medians
//! side by side with their verdicts.

use std::fmt::Write as _;

use vanishing_analysis::{ExperimentTables, Verdict, fidelity, final_accuracies};

use crate::agreement::{self, TextTable};
use crate::charts;
use crate::page::{Page, escape, slug};
use crate::page_body;
use crate::series::num;
use crate::tutorial::chart_by_rows;

/// A table of text cells as HTML: numbers right-aligned, a disagreement in bold.
fn html_table(page: &mut Page, table: &TextTable) {
    page.html("<table><thead><tr>");
    for h in table.headers {
        let _ = write!(page_body(page), "<th>{}</th>", escape(h));
    }
    page.html("</tr></thead><tbody>");
    for (row, verdict) in table.rows.iter().zip(&table.verdicts) {
        page.html("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let cell = escape(cell);
            if i == 0 {
                let _ = write!(page_body(page), "<td>{cell}</td>");
            } else if i + 1 == row.len() {
                let bold = *verdict == Verdict::Disagrees;
                let (open, close) = if bold { ("<b>", "</b>") } else { ("", "") };
                let _ = write!(page_body(page), "<td>{open}{cell}{close}</td>");
            } else {
                let _ = write!(page_body(page), "<td class=\"num\">{cell}</td>");
            }
        }
        page.html("</tr>");
    }
    page.html("</tbody></table>");
}

/// The experiments run by both frameworks: medians side by side, with the verdict.
pub(crate) fn keras_section(page: &mut Page, pairs: &[(&ExperimentTables, &ExperimentTables)]) {
    page.heading(2, "keras", "Keras vs vanishing");
    page.html(
        "<p class=\"note\">The same configurations trained by Keras itself (through the \
         project's Keras harness, on scikit-learn's data generators) and by vanishing, over \
         many seeds each. The seeds do not give the same numbers in both (their random \
         generators differ), so the comparison is of distributions. Where the medians differ \
         by more than the tolerance while the sampling noise exceeds it too, the verdict is \
         \"unresolved\": more seeds are needed.</p>",
    );
    for (vanishing, keras) in pairs {
        let f = fidelity(vanishing, keras);
        let _ = write!(
            page_body(page),
            "<h3>{}</h3><p class=\"note\">vanishing {} against {}.</p><p class=\"note\">{}.</p>",
            escape(&f.experiment),
            escape(&vanishing.runs[0].framework_version),
            escape(&keras.runs[0].framework_version),
            escape(&agreement::gradient_caption()),
        );
        html_table(page, &agreement::gradient_table(&f));
        if !f.gradients.is_empty() {
            let categories: Vec<String> = f
                .gradients
                .iter()
                .map(|g| format!("{} · layer {}", g.label, g.layer))
                .collect();
            let chart = charts::log_dots(
                "Kernel-gradient std at initialization, median over seeds",
                "first minibatch, before any update; layer 1 is next to the input",
                "std of dLoss/dW (log)",
                &categories,
                &[
                    (
                        "vanishing",
                        f.gradients.iter().map(|g| g.vanishing).collect(),
                    ),
                    ("Keras", f.gradients.iter().map(|g| g.keras).collect()),
                ],
            );
            let worst = f
                .gradients
                .iter()
                .map(|g| (g.vanishing / g.keras).ln().abs())
                .fold(0.0, f64::max)
                .exp();
            chart_by_rows(
                page,
                &slug(&["keras", &f.experiment, "gradients"]),
                &chart,
                categories.len(),
                22,
                &format!(
                    "{} medians compared; the largest gap between the frameworks is a factor {}.",
                    f.gradients.len(),
                    num(worst)
                ),
            );
        }
        let _ = write!(
            page_body(page),
            "<p class=\"note\">{}.</p>",
            escape(&agreement::accuracy_caption())
        );
        html_table(page, &agreement::accuracy_table(&f));
        let (ours, theirs) = (final_accuracies(vanishing), final_accuracies(keras));
        let mut categories = Vec::new();
        let mut values = Vec::new();
        for a in &f.accuracy {
            for (framework, runs) in [("vanishing", &ours), ("Keras", &theirs)] {
                categories.push(format!("{} · {framework}", a.label));
                values.push(runs.get(a.label.as_str()).cloned().unwrap_or_default());
            }
        }
        if !categories.is_empty() {
            let chart = charts::accuracy_strip(
                "Final training accuracy, one dot per seed, both frameworks",
                "each configuration twice: trained by vanishing, then by Keras",
                &categories,
                &values,
            );
            chart_by_rows(
                page,
                &slug(&["keras", &f.experiment, "accuracy"]),
                &chart,
                categories.len(),
                28,
                &format!(
                    "{} configurations, each trained by both frameworks.",
                    f.accuracy.len()
                ),
            );
        }
    }
}
