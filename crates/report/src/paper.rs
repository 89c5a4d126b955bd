//! The paper's own setting: Glorot & Bengio's data (Shapeset-3x2 images, and the UCI
//! digits standing in for MNIST), a sample of their images, and Table 1's test errors
//! beside ours, for the experiments trained on them with a softmax over classes.

use std::fmt::Write as _;

use vanishing_analysis::{ExperimentTables, RunRow};

use crate::page::{Page, escape, slug};
use crate::series::num;
use crate::{images, page_body};

/// Glorot & Bengio's Table 1: test error in % of 5-hidden-layer networks, on Shapeset-3x2
/// and on MNIST: activation, whether the normalized initialization was used, errors.
const TABLE_1: [(&str, bool, f64, f64); 5] = [
    ("softsign", false, 16.27, 1.64),
    ("softsign", true, 16.06, 1.72),
    ("tanh", false, 27.15, 1.76),
    ("tanh", true, 15.60, 1.64),
    ("sigmoid", false, 82.61, 2.21),
];

/// Whether a run used the paper's normalized initialization (Glorot's uniform one).
fn normalized(run: &RunRow) -> bool {
    run.init == "glorot_uniform"
}

/// The paper's name of a configuration: `tanh N` for tanh with the normalized
/// initialization.
fn paper_name(activation: &str, normalized: bool) -> String {
    if normalized {
        format!("{activation} N")
    } else {
        activation.to_owned()
    }
}

/// The experiments of the section: trained on images with a held-out split, five hidden
/// layers, one configuration per activation and initialization.
fn table_experiments<'a>(experiments: &[&'a ExperimentTables]) -> Vec<&'a ExperimentTables> {
    experiments
        .iter()
        .copied()
        .filter(|e| {
            e.runs.iter().any(|r| {
                matches!(r.data.as_str(), "shapeset" | "digits")
                    && r.depth == 5
                    && r.epochs > 0
                    && r.final_test_accuracy.is_some()
            })
        })
        .collect()
}

/// The whole section; nothing when no experiment trained on the paper's data.
pub(crate) fn section(page: &mut Page, experiments: &[&ExperimentTables]) {
    let image_experiments: Vec<&ExperimentTables> = experiments
        .iter()
        .copied()
        .filter(|e| {
            e.runs
                .iter()
                .any(|r| matches!(r.data.as_str(), "shapeset" | "digits"))
        })
        .collect();
    if image_experiments.is_empty() {
        return;
    }
    page.heading(2, "paper", "The paper's own setting");
    page.html(
        "<p>Glorot &amp; Bengio did not train on points of the plane. Their networks read \
         32x32 grey images of their Shapeset-3x2 (one or two triangles, squares or \
         ellipses, nine classes) and handwritten digits, and answered with a softmax \
         over the classes. With two inputs, a first layer's pre-activations are sums of \
         two terms; with 1,024 they are sums of a thousand, and the statistics at \
         initialization look like the paper's. The experiments below use the paper's \
         generator rules (re-implemented, seeded) and, for digits, the UCI 8x8 set in \
         place of MNIST, which no offline source ships.</p>",
    );
    samples(page, &image_experiments);
    table_1(page, &table_experiments(&image_experiments));
}

/// A grid of sample images of each kind of image data.
fn samples(page: &mut Page, experiments: &[&ExperimentTables]) {
    for kind in ["shapeset", "digits"] {
        let Some((e, run)) = experiments
            .iter()
            .find_map(|e| e.runs.iter().find(|r| r.data == kind).map(|r| (*e, r)))
        else {
            continue;
        };
        let points: Vec<_> = e
            .dataset
            .iter()
            .filter(|p| p.run_id == run.run_id && p.split == "train")
            .collect();
        let Some(side) = points
            .first()
            .and_then(|p| images::image_side(kind, p.features.len()))
        else {
            continue;
        };
        let what = if kind == "shapeset" {
            "Shapeset-3x2"
        } else {
            "the UCI digits"
        };
        let _ = write!(
            page_body(page),
            "<figure class=\"samples\" id=\"{}\">{}<figcaption>Images of {what} as the \
             networks see them ({side}x{side} grey levels), with their classes: the first \
             {} training images of <code>{}</code>, seed {}.</figcaption></figure>",
            slug(&["paper", kind, "samples"]),
            images::grid(kind, side, &points),
            points.len().min(images::GRID_IMAGES),
            escape(&e.name),
            run.seed,
        );
    }
}

/// Test errors per configuration beside the paper's Table 1.
fn table_1(page: &mut Page, experiments: &[&ExperimentTables]) {
    page.heading(
        3,
        "paper-table-1",
        "Table 1: test error of 5-layer networks",
    );
    if experiments.is_empty() {
        page.html(
            "<p class=\"note\">No 5-hidden-layer network was trained on the paper's data \
             here. <code>just paper</code> runs the experiments of \
             <code>experiments/paper/</code> (under an hour on two cores) and writes \
             this table.</p>",
        );
        return;
    }
    page.html(
        "<p class=\"note\">Test error in % on held-out images, mean &plusmn; standard \
         deviation over seeds (the number of seeds in brackets), beside the paper's. The \
         scale differs: the paper trained 1,000 units a layer for 5 million updates with \
         a learning rate chosen on validation for each configuration; ours are narrower \
         and shorter (each experiment's description says how), so compare the order of \
         the configurations rather than the numbers. The digits are the UCI 8x8 set, not \
         MNIST. Always answering the commonest Shapeset class errs 83.3% of the time; \
         the commonest digit, about 90%.</p>",
    );
    for e in experiments {
        let data = e.runs.first().map_or("", |r| r.data.as_str());
        let paper_column = if data == "shapeset" {
            "paper, Shapeset"
        } else {
            "paper, MNIST"
        };
        let _ = write!(
            page_body(page),
            "<h4>{}</h4><table id=\"{}\"><thead><tr><th>configuration</th>\
             <th>test error %</th><th>min&ndash;max</th><th>{paper_column}</th>\
             </tr></thead><tbody>",
            escape(&e.name),
            slug(&["paper-table", &e.name]),
        );
        let mut configurations: Vec<(String, bool)> = Vec::new();
        for r in &e.runs {
            let key = (r.activation.clone(), normalized(r));
            if !configurations.contains(&key) {
                configurations.push(key);
            }
        }
        configurations.sort_by_key(|(a, n)| {
            (
                TABLE_1
                    .iter()
                    .position(|t| t.0 == a && t.1 == *n)
                    .unwrap_or(TABLE_1.len()),
                a.clone(),
            )
        });
        // Each configuration's mean error here, to rank them beside the paper's ranking.
        let mut ranked: Vec<(f64, String)> = Vec::new();
        for (activation, norm) in configurations {
            let errors: Vec<f64> = e
                .runs
                .iter()
                .filter(|r| r.activation == activation && normalized(r) == norm && !r.diverged)
                .filter_map(|r| r.final_test_accuracy)
                .map(|a| 100.0 * (1.0 - a))
                .collect();
            let diverged = e
                .runs
                .iter()
                .filter(|r| r.activation == activation && normalized(r) == norm && r.diverged)
                .count();
            let paper = TABLE_1
                .iter()
                .find(|t| t.0 == activation && t.1 == norm)
                .map_or("&ndash;".to_owned(), |t| {
                    format!("{:.2}", if data == "shapeset" { t.2 } else { t.3 })
                });
            let (mean, range) = if errors.is_empty() {
                ("&ndash;".to_owned(), "&ndash;".to_owned())
            } else {
                let n = errors.len() as f64;
                let mean = errors.iter().sum::<f64>() / n;
                let sd = (errors.iter().map(|x| (x - mean).powi(2)).sum::<f64>()
                    / (n - 1.0).max(1.0))
                .sqrt();
                ranked.push((mean, paper_name(&activation, norm)));
                let lo = errors.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = errors.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (
                    format!("{mean:.2} &plusmn; {sd:.2} ({})", errors.len()),
                    format!("{}&ndash;{}", num(lo), num(hi)),
                )
            };
            let diverged = if diverged > 0 {
                format!(", {diverged} diverged")
            } else {
                String::new()
            };
            let _ = write!(
                page_body(page),
                "<tr><td>{}{diverged}</td><td class=\"num\">{mean}</td>\
                 <td class=\"num\">{range}</td><td class=\"num\">{paper}</td></tr>",
                escape(&paper_name(&activation, norm)),
            );
        }
        page.html("</tbody></table>");
        page.html(&ranking_note(&ranked, data == "shapeset"));
    }
}

/// The configurations from the lowest test error to the highest, here and in the
/// paper (those it reports), so that a reader compares orders rather than numbers.
fn ranking_note(ranked: &[(f64, String)], shapeset: bool) -> String {
    let mut here: Vec<&(f64, String)> = ranked.iter().collect();
    here.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut paper: Vec<(f64, String)> = TABLE_1
        .iter()
        .map(|t| (if shapeset { t.2 } else { t.3 }, paper_name(t.0, t.1)))
        .collect();
    paper.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Errors equal to the two decimals shown are a tie.
    let list = |sorted: Vec<&(f64, String)>| {
        let mut text = String::new();
        for (i, (error, name)) in sorted.iter().map(|r| (r.0, &r.1)).enumerate() {
            if i > 0 {
                let tie = (error - sorted[i - 1].0).abs() < 0.005;
                text.push_str(if tie { " = " } else { " < " });
            }
            text.push_str(name);
        }
        escape(&text)
    };
    format!(
        "<p class=\"note\">From the lowest test error to the highest, here: {}; in the \
         paper: {}.</p>",
        list(here),
        list(paper.iter().collect()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ranking_sorts_by_error_here_and_in_the_paper() {
        let ranked = [
            (69.2, "tanh".to_owned()),
            (66.2, "tanh N".to_owned()),
            (83.3, "sigmoid".to_owned()),
        ];
        assert_eq!(
            ranking_note(&ranked, true),
            "<p class=\"note\">From the lowest test error to the highest, here: tanh N &lt; \
             tanh &lt; sigmoid; in the paper: tanh N &lt; softsign N &lt; softsign &lt; tanh \
             &lt; sigmoid.</p>"
        );
        // On MNIST the paper's softsign and tanh N tie at 1.64.
        assert!(
            ranking_note(&ranked, false)
                .contains("in the paper: softsign = tanh N &lt; softsign N")
        );
    }

    #[test]
    fn the_paper_names_its_normalized_configurations() {
        assert_eq!(paper_name("tanh", true), "tanh N");
        assert_eq!(paper_name("sigmoid", false), "sigmoid");
    }
}
