//! Samples of image data drawn as pictures: a grid of a run's training images with their
//! classes, for data whose samples are square grey images (Shapeset-3x2's 32x32, the
//! digits' 8x8) rather than points of the plane.
//!
//! Each image is an inline SVG of grey rectangles, one per run of equal pixels along a
//! row, so the page stays self-contained and the pixels stay crisp at any zoom.

use std::fmt::Write as _;

use vanishing_analysis::PointRow;

/// Images drawn per grid.
pub(crate) const GRID_IMAGES: usize = 24;

/// The side of a square image of `features` pixels, if the data are images: their kind
/// says so (a file's columns might be anything, and a square count of them is no proof).
pub(crate) fn image_side(data_kind: &str, features: usize) -> Option<usize> {
    if !matches!(data_kind, "shapeset" | "digits") {
        return None;
    }
    let side = (features as f64).sqrt().round() as usize;
    (side >= 2 && side * side == features).then_some(side)
}

/// The name of class `label` of a data kind, for captions.
pub(crate) fn class_name(data_kind: &str, label: i64) -> String {
    match (data_kind, usize::try_from(label)) {
        // Spaced around the plus, so that a pair's name wraps under its image.
        ("shapeset", Ok(l)) if l < vanishing_data::SHAPESET_CLASSES.len() => {
            vanishing_data::SHAPESET_CLASSES[l].replace('+', " + ")
        }
        ("digits", _) => format!("digit {label}"),
        _ => format!("class {label}"),
    }
}

/// One image as SVG: pixel values in `[0, 1]`, row-major, `side` pixels a row, drawn
/// `size` CSS pixels wide.
pub(crate) fn svg(pixels: &[f64], side: usize, size: usize) -> String {
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" width=\"{size}\" \
         height=\"{size}\" shape-rendering=\"crispEdges\" role=\"img\">"
    );
    for (y, row) in pixels.chunks(side).enumerate() {
        let mut x = 0;
        while x < row.len() {
            let level = grey(row[x]);
            let mut end = x + 1;
            while end < row.len() && grey(row[end]) == level {
                end += 1;
            }
            let _ = write!(
                out,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"1\" fill=\"#{level:02x}{level:02x}{level:02x}\"/>",
                end - x
            );
            x = end;
        }
    }
    out.push_str("</svg>");
    out
}

/// A pixel value in `[0, 1]` as an 8-bit grey (values outside are clamped).
fn grey(v: f64) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// A grid of the first [`GRID_IMAGES`] training images of `points` with their classes,
/// as HTML.
pub(crate) fn grid(data_kind: &str, side: usize, points: &[&PointRow]) -> String {
    let mut out = String::from("<div class=\"images\">");
    for p in points.iter().take(GRID_IMAGES) {
        let name = class_name(data_kind, p.label);
        let _ = write!(
            out,
            "<figure>{}<figcaption>{}</figcaption></figure>",
            svg(&p.features, side, 64),
            crate::page::escape(&name)
        );
    }
    out.push_str("</div>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_equal_pixels_become_one_rectangle() {
        // A 2x2 image: a black row, then a white pixel beside a mid grey one.
        let svg = svg(&[0.0, 0.0, 1.0, 0.5], 2, 20);
        assert_eq!(svg.matches("<rect").count(), 3, "{svg}");
        assert!(svg.contains("x=\"0\" y=\"0\" width=\"2\" height=\"1\" fill=\"#000000\""));
        assert!(svg.contains("x=\"0\" y=\"1\" width=\"1\" height=\"1\" fill=\"#ffffff\""));
        assert!(svg.contains("x=\"1\" y=\"1\" width=\"1\" height=\"1\" fill=\"#808080\""));
    }

    #[test]
    fn only_image_kinds_with_square_counts_are_images() {
        assert_eq!(image_side("shapeset", 1024), Some(32));
        assert_eq!(image_side("digits", 64), Some(8));
        assert_eq!(image_side("file", 64), None);
        assert_eq!(image_side("digits", 63), None);
        assert_eq!(image_side("circles", 2), None);
    }
}
