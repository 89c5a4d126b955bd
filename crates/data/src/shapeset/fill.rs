//! pygame's integer polygon fill, on a grey-level canvas.
//!
//! This is `draw_fillpoly` of pygame's `src/draw.c` as pygame 1.8.1, which the original
//! generator required, shipped it (the 2008 code, unchanged until 2016): what
//! `pygame.draw.polygon` with width 0 calls. Its clipping (`drawhorzlineclip`) is
//! reduced to the canvas' bounds. The rules:
//!
//! 1. The vertices are integers: `pygame.draw.polygon` truncates each coordinate toward
//!    zero (the float is cast to `int`). The caller does this.
//! 2. Each row `y` from the least vertex row `miny` to the greatest `maxy`, both
//!    included, is scanned. Every edge that is not horizontal, taken from its upper end
//!    `(x1, y1)` to its lower end `(x2, y2)`, crosses the row if `y1 <= y < y2` (the
//!    lower end excluded), or, on the last row only (`y == maxy`), if its lower end lies
//!    on that row. Horizontal edges are skipped.
//! 3. The crossing is `(y - y1) * (x2 - x1) / (y2 - y1) + x1` in `int` arithmetic: the
//!    quotient is truncated toward zero before `x1` is added, so a crossing to the left
//!    of `x1` is rounded up (toward `x1`) and one to the right rounded down.
//! 4. The crossings of a row are sorted and each pair `(x[0], x[1])`, `(x[2], x[3])`,
//!    ... is filled, both ends included.
//!
//! A polygon whose vertices all lie on one row has only horizontal edges and draws
//! nothing.
//!
//! Later pygames changed three of these rules: 1.9.3 (2016) draws a polygon one row
//! high as a line; 1.9.5 (2018) also fills every horizontal edge strictly between
//! `miny` and `maxy`, which the scan misses when it is the lower border of a part of
//! the polygon; and 2.6 (2024, `src_c/draw.c`) computes the crossing in `double`,
//! truncating the sum rather than the quotient, so that a crossing to the left of `x1`
//! is rounded down. The tests keep pygame 2.6's fill beside this one to show and
//! measure the difference: on Shapeset images it moves a pixel on about half the rows
//! of an object's left or right border.

/// The most vertices a polygon may have here (the 20-gon that stands in for an ellipse).
pub(super) const MAX_VERTICES: usize = 20;

/// A grey-level image of `width` x `height` bytes, row-major (`y * width + x`).
pub(super) struct Canvas<'a> {
    pub(super) pixels: &'a mut [u8],
    pub(super) width: usize,
    pub(super) height: usize,
}

impl Canvas<'_> {
    /// Fills the polygon with the integer vertices `(xs[i], ys[i])` with `grey`, by
    /// pygame 1.8.1's rules (the module's documentation).
    ///
    /// At most [`MAX_VERTICES`] vertices are used; the callers never pass more.
    pub(super) fn fill_polygon(&mut self, xs: &[i32], ys: &[i32], grey: u8) {
        let n = xs.len().min(ys.len()).min(MAX_VERTICES);
        let (xs, ys) = (&xs[..n], &ys[..n]);
        let (Some(&miny), Some(&maxy)) = (ys.iter().min(), ys.iter().max()) else {
            return;
        };
        let mut crossings = [0_i32; MAX_VERTICES];
        for y in miny..=maxy {
            let mut count = 0;
            for (x1, y1, x2, y2) in edges(xs, ys) {
                if (y >= y1 && y < y2) || (y == maxy && y > y1 && y <= y2) {
                    crossings[count] = crossing_int(y, x1, y1, x2, y2);
                    count += 1;
                }
            }
            self.fill_pairs(&mut crossings[..count], y, grey);
        }
    }

    /// Sorts a row's crossings and fills between each pair, both ends included.
    fn fill_pairs(&mut self, crossings: &mut [i32], y: i32, grey: u8) {
        crossings.sort_unstable();
        // A closed polygon crosses every row an even number of times; pygame reads past
        // its list if not, so an unpaired last crossing is ignored here.
        for pair in crossings.chunks_exact(2) {
            self.horizontal_line(pair[0], y, pair[1], grey);
        }
    }

    /// Fills row `y` from `x1` to `x2`, both included and in either order, clipped to
    /// the canvas (pygame's `drawhorzlineclip`).
    fn horizontal_line(&mut self, x1: i32, y: i32, x2: i32, grey: u8) {
        let Ok(row) = usize::try_from(y) else {
            return;
        };
        if row >= self.height {
            return;
        }
        let (low, high) = if x2 < x1 { (x2, x1) } else { (x1, x2) };
        let last = i64::try_from(self.width).unwrap_or(i64::MAX) - 1;
        let (low, high) = (i64::from(low).max(0), i64::from(high).min(last));
        if high < low {
            return;
        }
        // Both ends now lie in 0..width, so the conversions are exact.
        let (low, high) = (low as usize, high as usize);
        let start = row * self.width;
        self.pixels[start + low..=start + high].fill(grey);
    }
}

/// The polygon's edges that are not horizontal, each as `(x1, y1, x2, y2)` from its
/// upper end (`y1 < y2`) to its lower one, in pygame's order: the edge ending at vertex
/// `i` for `i = 0, 1, ...`, the first one closing the polygon from the last vertex.
fn edges<'a>(xs: &'a [i32], ys: &'a [i32]) -> impl Iterator<Item = (i32, i32, i32, i32)> + 'a {
    let n = xs.len();
    (0..n).filter_map(move |i| {
        let previous = if i == 0 { n - 1 } else { i - 1 };
        match ys[previous].cmp(&ys[i]) {
            std::cmp::Ordering::Less => Some((xs[previous], ys[previous], xs[i], ys[i])),
            std::cmp::Ordering::Greater => Some((xs[i], ys[i], xs[previous], ys[previous])),
            std::cmp::Ordering::Equal => None,
        }
    })
}

/// Where the edge from `(x1, y1)` down to `(x2, y2)` crosses row `y`, as pygame 1.8.1
/// computes it in `int`: `(y - y1) * (x2 - x1) / (y2 - y1) + x1`, the division
/// truncating toward zero (as C's and Rust's do). The product is formed in 64 bits, so
/// that coordinates far outside any image cannot overflow it (the overflow pygame 2.6
/// fixed); within `int`'s range the
/// result is pygame's.
fn crossing_int(y: i32, x1: i32, y1: i32, x2: i32, y2: i32) -> i32 {
    let (y, x1, y1, x2, y2) = (
        i64::from(y),
        i64::from(x1),
        i64::from(y1),
        i64::from(x2),
        i64::from(y2),
    );
    let quotient = (y - y1) * (x2 - x1) / (y2 - y1);
    // Between 0 and x2 - x1, so x1 plus it lies between x1 and x2.
    (quotient + x1) as i32
}

/// pygame 2.6's `draw_fillpoly` (`src_c/draw.c`), for the tests to compare with: the
/// crossing truncated after `x1` is added, a polygon one row high drawn as a line, and
/// the horizontal edges strictly between the least and greatest rows filled.
#[cfg(test)]
pub(super) fn fill_polygon_pygame_2_6(canvas: &mut Canvas<'_>, xs: &[i32], ys: &[i32], grey: u8) {
    let (Some(&miny), Some(&maxy)) = (ys.iter().min(), ys.iter().max()) else {
        return;
    };
    if miny == maxy {
        let minx = *xs.iter().min().unwrap_or(&0);
        let maxx = *xs.iter().max().unwrap_or(&0);
        canvas.horizontal_line(minx, miny, maxx, grey);
        return;
    }
    let mut crossings = [0_i32; MAX_VERTICES];
    for y in miny..=maxy {
        let mut count = 0;
        for (x1, y1, x2, y2) in edges(xs, ys) {
            if (y >= y1 && y < y2) || (y == maxy && y2 == maxy) {
                crossings[count] = crossing_double(y, x1, y1, x2, y2);
                count += 1;
            }
        }
        canvas.fill_pairs(&mut crossings[..count], y, grey);
    }
    let n = xs.len();
    for i in 0..n {
        let previous = if i == 0 { n - 1 } else { i - 1 };
        let y = ys[i];
        if miny < y && ys[previous] == y && y < maxy {
            canvas.horizontal_line(xs[i], y, xs[previous], grey);
        }
    }
}

/// pygame 2.6's crossing, `(int)((y - y1) * (x2 - x1) / (y2 - y1) + x1)` in `double`.
#[cfg(test)]
fn crossing_double(y: i32, x1: i32, y1: i32, x2: i32, y2: i32) -> i32 {
    (f64::from(y - y1) * f64::from(x2 - x1) / f64::from(y2 - y1) + f64::from(x1)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: usize = 8;
    const H: usize = 8;

    /// Fills the polygon on an 8 x 8 canvas of zeros with 1, by the given rules, and
    /// returns it as rows of `#` and `.`.
    fn fill_by(points: &[(i32, i32)], pygame_2_6: bool) -> Vec<String> {
        let mut pixels = [0_u8; W * H];
        let xs: Vec<i32> = points.iter().map(|p| p.0).collect();
        let ys: Vec<i32> = points.iter().map(|p| p.1).collect();
        let mut canvas = Canvas {
            pixels: &mut pixels,
            width: W,
            height: H,
        };
        if pygame_2_6 {
            fill_polygon_pygame_2_6(&mut canvas, &xs, &ys, 1);
        } else {
            canvas.fill_polygon(&xs, &ys, 1);
        }
        pixels
            .chunks(W)
            .map(|row| {
                row.iter()
                    .map(|&p| if p == 1 { '#' } else { '.' })
                    .collect()
            })
            .collect()
    }

    #[track_caller]
    fn check(points: &[(i32, i32)], expected: [&str; H]) {
        let got = fill_by(points, false);
        assert_eq!(got, expected, "\n{}", got.join("\n"));
    }

    #[track_caller]
    fn check_pygame_2_6(points: &[(i32, i32)], expected: [&str; H]) {
        let got = fill_by(points, true);
        assert_eq!(got, expected, "\n{}", got.join("\n"));
    }

    const EMPTY: [&str; H] = ["........"; H];

    #[test]
    fn rectangle_includes_both_ends_of_every_row_and_the_last_row() {
        // Rows 1 to 3 (the last through the rule for the last row), columns 1 to 4.
        let expected = [
            "........", ".####...", ".####...", ".####...", "........", "........", "........",
            "........",
        ];
        check(&[(1, 1), (4, 1), (4, 3), (1, 3)], expected);
        check_pygame_2_6(&[(1, 1), (4, 1), (4, 3), (1, 3)], expected);
    }

    #[test]
    fn right_triangle_narrows_by_one_column_a_row() {
        // The hypotenuse from (4, 0) to (0, 4) crosses row y at x = 4 - y exactly.
        check(
            &[(0, 0), (4, 0), (0, 4)],
            [
                "#####...", "####....", "###.....", "##......", "#.......", "........", "........",
                "........",
            ],
        );
    }

    #[test]
    fn a_crossing_left_of_its_upper_end_is_rounded_toward_it() {
        // The edge from (3, 0) to (0, 2) crosses row 1 at 1 * (-3) / 2 + 3 = 1.5: the
        // quotient -1.5 is truncated to -1, and the crossing is 2.
        check(
            &[(0, 0), (3, 0), (0, 2)],
            [
                "####....", "###.....", "#.......", "........", "........", "........", "........",
                "........",
            ],
        );
        // pygame 2.6 truncates the sum 1.5 to 1.
        check_pygame_2_6(
            &[(0, 0), (3, 0), (0, 2)],
            [
                "####....", "##......", "#.......", "........", "........", "........", "........",
                "........",
            ],
        );
        // To the right of its upper end both round down: the edge from (0, 0) to
        // (3, 2) crosses row 1 at 1.5, drawn to column 1.
        check(
            &[(0, 0), (3, 2), (0, 2)],
            [
                "#.......", "##......", "####....", "........", "........", "........", "........",
                "........",
            ],
        );
    }

    #[test]
    fn a_lower_horizontal_border_inside_the_polygon_is_left_out() {
        // An upside-down L. Row 2 crosses only the left edge and the inner vertical edge
        // (the right arm's edge ends at row 2, excluded), so only columns 0 to 2 are
        // filled there: the arm's lower border from (4, 2) to (2, 2) is missing.
        let l = [(0, 0), (4, 0), (4, 2), (2, 2), (2, 4), (0, 4)];
        check(
            &l,
            [
                "#####...", "#####...", "###.....", "###.....", "###.....", "........", "........",
                "........",
            ],
        );
        // pygame 1.9.5 and later add it.
        check_pygame_2_6(
            &l,
            [
                "#####...", "#####...", "#####...", "###.....", "###.....", "........", "........",
                "........",
            ],
        );
    }

    #[test]
    fn a_polygon_one_row_high_draws_nothing() {
        check(&[(5, 2), (1, 2), (3, 2)], EMPTY);
        // pygame 1.9.3 and later draw it as a line from the least x to the greatest.
        check_pygame_2_6(
            &[(5, 2), (1, 2), (3, 2)],
            [
                "........", "........", ".#####..", "........", "........", "........", "........",
                "........",
            ],
        );
    }

    #[test]
    fn a_lone_bottom_vertex_is_filled_on_the_last_row() {
        // A triangle pointing down: the last row holds only its apex, reached through
        // the rule for the last row (both edges end there).
        check(
            &[(1, 1), (5, 1), (3, 3)],
            [
                "........", ".#####..", "..###...", "...#....", "........", "........", "........",
                "........",
            ],
        );
    }

    #[test]
    fn parts_outside_the_canvas_are_clipped() {
        check(
            &[(-3, -2), (10, -2), (10, 1), (-3, 1)],
            [
                "########", "########", "........", "........", "........", "........", "........",
                "........",
            ],
        );
        // Entirely outside: nothing is drawn, nothing panics.
        check(&[(20, 20), (30, 20), (30, 30)], EMPTY);
        check(&[(-9, -9), (-1, -9), (-1, -1)], EMPTY);
    }

    #[test]
    fn crossings_by_hand() {
        // (y - y1) * (x2 - x1) / (y2 - y1) + x1 with the quotient truncated toward zero.
        assert_eq!(crossing_int(1, 3, 0, 0, 2), 2); // -3 / 2 = -1, + 3
        assert_eq!(crossing_int(1, 0, 0, 3, 2), 1); // 3 / 2 = 1
        assert_eq!(crossing_int(2, 10, 0, 3, 3), 6); // -14 / 3 = -4, + 10
        assert_eq!(crossing_int(3, 10, 0, 3, 3), 3); // the lower end itself
        assert_eq!(crossing_int(5, -4, 1, -9, 8), -6); // -20 / 7 = -2, - 4
        // Far outside any image the 64-bit product does not overflow.
        assert_eq!(crossing_int(i32::MAX, 0, 0, i32::MAX, i32::MAX), i32::MAX);
        // pygame 2.6 truncates the sum: 1.5 -> 1, 5.33 -> 5, -6.86 -> -6.
        assert_eq!(crossing_double(1, 3, 0, 0, 2), 1);
        assert_eq!(crossing_double(2, 10, 0, 3, 3), 5);
        assert_eq!(crossing_double(5, -4, 1, -9, 8), -6);
    }
}
