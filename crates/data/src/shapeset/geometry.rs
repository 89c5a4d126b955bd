//! Where an object's vertices go: the original's `Polygongen._corners`, with its
//! overlap rejection (`polygongen.py`, lines 135-247).

use std::f64::consts::{LN_2, PI};

use rand::{Rng, RngExt};

use super::fill::MAX_VERTICES;

/// Number of vertices of each shape type: triangle, square (a parallelogram once
/// stretched) and the 20-gon that stands in for an ellipse (`n_vert_list`).
pub(super) const N_VERTICES: [usize; 3] = [3, 4, 20];
/// Number of equally spaced rotation angles in a turn (`rotation_resolution`).
const ROTATION_RESOLUTION: u32 = 255;
/// The side of the image in pixels, as the scale and translation factor.
const SIDE: f64 = 32.0;
/// Bounds of the scales, as fractions of the image's side (`scale_min`, `scale_max`).
const SCALE_MIN: f64 = 0.2;
const SCALE_MAX: f64 = 0.8;
/// Bounds of the translation, as fractions of the image's side (`pos_min`, `pos_max`).
const POS_MIN: f64 = 0.0;
const POS_MAX: f64 = 1.0;
/// The largest estimated share of an earlier object a new one may cover (`overlap_max`).
const OVERLAP_MAX: f64 = 0.5;
/// After this many rejections in an image the object being placed is dropped
/// (`rejectionmax`).
pub(super) const REJECTION_MAX: u32 = 50;

/// What the generator computes once: the rotation matrices, the regular polygons and
/// their area ratios (`Polygongen.__init__`).
pub(super) struct Tables {
    /// `rot_step * k` for every rotation step `k`, `rot_step = 2 pi / 255`.
    angles: [f64; ROTATION_RESOLUTION as usize],
    /// Cosine and sine of each of those angles.
    rotations: [[f64; 2]; ROTATION_RESOLUTION as usize],
    /// The vertices of each shape type (`n_sided`), the first `N_VERTICES[type]` used.
    shapes: [[[f64; 2]; MAX_VERTICES]; 3],
    /// Area of each regular polygon over that of its circle (`arearatio`).
    area_ratios: [f64; 3],
}

impl Tables {
    pub(super) fn new() -> Self {
        let step = 2.0 * PI / f64::from(ROTATION_RESOLUTION);
        let mut angles = [0.0; ROTATION_RESOLUTION as usize];
        let mut rotations = [[1.0, 0.0]; ROTATION_RESOLUTION as usize];
        for (k, (angle, rotation)) in angles.iter_mut().zip(&mut rotations).enumerate() {
            *angle = k as f64 * step;
            *rotation = [libm::cos(*angle), libm::sin(*angle)];
        }
        let mut shapes = [[[0.0; 2]; MAX_VERTICES]; 3];
        let mut area_ratios = [0.0; 3];
        for (shape, &n) in N_VERTICES.iter().enumerate() {
            let nf = n as f64;
            // n points on the circle of radius 0.5, the first at a quarter turn plus
            // half a step, so that the polygon's lowest edge (on screen, where y grows
            // downward) is horizontal.
            for (t, point) in shapes[shape][..n].iter_mut().enumerate() {
                let turn = t as f64 / nf + 1.0 / (2.0 * nf) + 1.0 / 4.0;
                let angle = turn * PI * 2.0;
                *point = [0.5 * libm::cos(angle), 0.5 * libm::sin(angle)];
            }
            area_ratios[shape] = nf * libm::sin(2.0 * PI / nf) / (2.0 * PI);
        }
        Self {
            angles,
            rotations,
            shapes,
            area_ratios,
        }
    }
}

/// An object placed in an image.
#[derive(Clone, Copy, Default)]
pub(super) struct Placed {
    /// Shape type: 0 triangle, 1 square, 2 ellipse.
    pub(super) shape: usize,
    /// Its vertices in pixels, the first `N_VERTICES[shape]` used.
    pub(super) points: [[f64; 2]; MAX_VERTICES],
    /// Its two scales in pixels, the larger first.
    scale: [f64; 2],
    /// Its translation in pixels.
    translation: [f64; 2],
    /// Its translation truncated to integers, as the original stores it (`rval_pos` is
    /// an `int32` array) and the overlap tests of later objects read it.
    position: [f64; 2],
}

impl Placed {
    pub(super) fn vertices(&self) -> &[[f64; 2]] {
        &self.points[..N_VERTICES[self.shape]]
    }
}

/// `p` (a row vector) times the rotation matrix `[[c, s], [-s, c]]` of `gen_rot`.
fn rotate(p: [f64; 2], [c, s]: [f64; 2]) -> [f64; 2] {
    [p[0] * c + p[1] * -s, p[0] * s + p[1] * c]
}

/// numpy's `uniform(low, high)`: `low + (high - low) * u` for `u` uniform in `[0, 1)`.
fn uniform<R: Rng + ?Sized>(rng: &mut R, low: f64, high: f64) -> f64 {
    let u: f64 = rng.random();
    low + (high - low) * u
}

/// Places an object of type `shape` in an image that already holds `earlier`, drawing
/// from `rng` in the original's order: the pre-rotation step, the rotation step, then
/// for every attempt the two scales and the two coordinates of the translation.
///
/// `rejections` counts the image's rejections so far and is updated. As in the
/// original, a placement is rejected only while the count is at most
/// [`REJECTION_MAX`], so once it passes that the next attempt is kept whatever its
/// overlap; the caller drops the object if the count has reached `REJECTION_MAX`.
pub(super) fn place<R: Rng + ?Sized>(
    rng: &mut R,
    tables: &Tables,
    shape: usize,
    earlier: &[Placed],
    rejections: &mut u32,
) -> Placed {
    let n = N_VERTICES[shape] as u32;
    let pre = pre_rotation(rng.random_range(0..ROTATION_RESOLUTION / n), n);
    // The rotation proper: `randint(rotmin, rotmax)` with rotmin = int(0 * 254) = 0 and
    // rotmax = int(1 * 254) = 254, numpy's upper bound excluded: steps 0 to 253, never
    // the 255th.
    let turn = rng.random_range(0..ROTATION_RESOLUTION - 1);
    loop {
        let mut scale = [
            uniform(rng, SCALE_MIN, SCALE_MAX) * SIDE,
            uniform(rng, SCALE_MIN, SCALE_MAX) * SIDE,
        ];
        // The larger stretch goes along the base, which stays horizontal.
        if scale[1] > scale[0] {
            scale.swap(0, 1);
        }
        let mut points = outline(tables, shape, pre, scale, turn);
        let vertices = &mut points[..n as usize];
        // A translation that keeps every vertex at least one pixel inside the image.
        let mut t = [0.0; 2];
        for (axis, t) in t.iter_mut().enumerate() {
            let low = vertices
                .iter()
                .map(|p| p[axis])
                .fold(f64::INFINITY, f64::min);
            let high = vertices
                .iter()
                .map(|p| p[axis])
                .fold(f64::NEG_INFINITY, f64::max);
            let max_pts = (high + 1.0) / SIDE;
            let min_pts = (low - 1.0) / SIDE;
            *t = uniform(rng, POS_MIN.max(-min_pts), POS_MAX.min(1.0 - max_pts)) * SIDE;
        }
        for point in vertices.iter_mut() {
            *point = [point[0] + t[0], point[1] + t[1]];
        }
        let placed = Placed {
            shape,
            points,
            scale,
            translation: t,
            position: [f64::from(t[0] as i32), f64::from(t[1] as i32)],
        };
        let rejected = *rejections <= REJECTION_MAX
            && earlier
                .iter()
                .any(|old| overlaps_too_much(tables, old, &placed));
        if rejected {
            *rejections += 1;
            continue;
        }
        return placed;
    }
}

/// The pre-rotation step for a draw `k` from `0..255 / n` (lines 157-159): a few steps
/// either way, so that the stretch makes a general triangle or parallelogram rather
/// than a symmetric one. The upper part of the draws, `k > 254 / (2 n)`, is mapped to
/// negative turns by `min(255 - 254 / n + k, 254)`, in integer arithmetic.
fn pre_rotation(k: u32, n: u32) -> u32 {
    let resolution = ROTATION_RESOLUTION;
    if k > (resolution - 1) / (2 * n) {
        (resolution - (resolution - 1) / n + k).min(resolution - 1)
    } else {
        k
    }
}

/// The vertices of a shape centred on the origin (line 200): each regular vertex `p`
/// becomes `((p R1) * scale) R2 R3`, with `R1` the pre-rotation by step `pre`, `R2`
/// the counter-rotation that levels the stretched base again, and `R3` the rotation by
/// step `turn`.
fn outline(
    tables: &Tables,
    shape: usize,
    pre: u32,
    scale: [f64; 2],
    turn: u32,
) -> [[f64; 2]; MAX_VERTICES] {
    let r1 = tables.rotations[pre as usize];
    let r3 = tables.rotations[turn as usize];
    // The base's direction (cos a, sin a) becomes (s0 cos a, s1 sin a) when stretched,
    // at the angle atan(s1 / s0 tan a); the original computes the exact opposite rather
    // than the nearest of its steps. Without a pre-rotation there is nothing to undo,
    // and equal scales keep the angle, undone by the opposite step.
    // The original compares the scales exactly.
    #[allow(clippy::float_cmp)]
    let equal_scales = scale[0] == scale[1];
    let r2 = if pre == 0 {
        tables.rotations[0]
    } else if equal_scales {
        tables.rotations[(ROTATION_RESOLUTION - pre) as usize]
    } else {
        let angle = -libm::atan(scale[1] / scale[0] * libm::tan(tables.angles[pre as usize]));
        [libm::cos(angle), libm::sin(angle)]
    };
    let mut points = [[0.0; 2]; MAX_VERTICES];
    for (point, &corner) in points
        .iter_mut()
        .zip(&tables.shapes[shape][..N_VERTICES[shape]])
    {
        let p = rotate(corner, r1);
        let p = [p[0] * scale[0], p[1] * scale[1]];
        *point = rotate(rotate(p, r2), r3);
    }
    points
}

/// The original's overlap heuristic (`polygongen.py`, lines 213-241): whether the new
/// object would hide too much of the earlier object `old`.
///
/// Along the line from the old object's stored (truncated) centre to the new one's, it
/// adds how far each object reaches towards the other. If that sum falls short of the
/// distance between the centres they cannot touch. Otherwise the overlap is estimated
/// as `1 - 2^(-excess / distance)` of the new object's area (its two scales times its
/// type's area ratio), and the placement is rejected if that exceeds half the old
/// object's area.
fn overlaps_too_much(tables: &Tables, old: &Placed, new: &Placed) -> bool {
    let t = new.translation;
    let v = [t[0] - old.position[0], t[1] - old.position[1]];
    let distance = (v[0] * v[0] + v[1] * v[1]).sqrt();
    // Centres that coincide make the original divide zero by zero: its projections are
    // NaN, every comparison false, and the placement is kept.
    if distance <= 0.0 {
        return false;
    }
    let reach_old = old
        .vertices()
        .iter()
        .map(|p| ((p[0] - old.position[0]) * v[0] + (p[1] - old.position[1]) * v[1]) / distance)
        .fold(f64::NEG_INFINITY, f64::max);
    let reach_new = new
        .vertices()
        .iter()
        .map(|p| ((p[0] - t[0]) * -v[0] + (p[1] - t[1]) * -v[1]) / distance)
        .fold(f64::NEG_INFINITY, f64::max);
    let reach = reach_old + reach_new;
    if reach < distance {
        return false;
    }
    let covered = 1.0 - libm::exp(-(reach - distance) / (distance / LN_2));
    let new_area = new.scale[0] * new.scale[1] * tables.area_ratios[new.shape];
    let old_area = old.scale[0] * old.scale[1] * tables.area_ratios[old.shape];
    new_area * covered / old_area > OVERLAP_MAX
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::SeededRng;

    #[test]
    fn pre_rotation_maps_the_upper_draws_to_negative_steps() {
        // Triangle: draws 0 to 84; 0 to 42 stay, 43 to 84 become 214 to 254, where 83
        // and 84 both land (255 - 84 + 84 = 255 is capped at 254).
        assert_eq!(ROTATION_RESOLUTION / 3, 85);
        assert_eq!(pre_rotation(42, 3), 42);
        assert_eq!(pre_rotation(43, 3), 214);
        assert_eq!(pre_rotation(82, 3), 253);
        assert_eq!(pre_rotation(83, 3), 254);
        assert_eq!(pre_rotation(84, 3), 254);
        // Square: draws 0 to 62; 0 to 31 stay, 32 to 62 become 224 to 254.
        assert_eq!(ROTATION_RESOLUTION / 4, 63);
        assert_eq!(pre_rotation(31, 4), 31);
        assert_eq!(pre_rotation(32, 4), 224);
        assert_eq!(pre_rotation(62, 4), 254);
        // 20-gon: draws 0 to 11; 0 to 6 stay, 7 to 11 become 250 to 254.
        assert_eq!(ROTATION_RESOLUTION / 20, 12);
        assert_eq!(pre_rotation(6, 20), 6);
        assert_eq!(pre_rotation(7, 20), 250);
        assert_eq!(pre_rotation(11, 20), 254);
    }

    #[test]
    fn regular_polygons_have_a_horizontal_lowest_edge() {
        let tables = Tables::new();
        for (shape, &n) in N_VERTICES.iter().enumerate() {
            let points = &tables.shapes[shape][..n];
            for p in points {
                assert!((p[0].hypot(p[1]) - 0.5).abs() < 1e-15);
            }
            // Screen y grows downward: the lowest edge has the greatest y, shared by the
            // first and last vertices.
            let lowest = points
                .iter()
                .map(|p| p[1])
                .fold(f64::NEG_INFINITY, f64::max);
            assert!((points[0][1] - lowest).abs() < 1e-15, "{shape}");
            assert!((points[n - 1][1] - lowest).abs() < 1e-15, "{shape}");
        }
        // The area ratios of a triangle (3 sqrt(3) / (4 pi)), a square (2 / pi) and a
        // 20-gon (10 sin(pi / 10) / pi) to their circle.
        let expected = [
            0.413_496_671_566_344,
            std::f64::consts::FRAC_2_PI,
            0.983_631_643_083_573,
        ];
        for (got, want) in tables.area_ratios.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn the_counter_rotation_levels_the_stretched_base() {
        let tables = Tables::new();
        let mut rng = SeededRng::seed_from_u64(4);
        for (shape, &n) in N_VERTICES.iter().enumerate() {
            for k in 0..ROTATION_RESOLUTION / n as u32 {
                let pre = pre_rotation(k, n as u32);
                let mut scale = [uniform(&mut rng, 6.4, 25.6), uniform(&mut rng, 6.4, 25.6)];
                if scale[1] > scale[0] {
                    scale.swap(0, 1);
                }
                // Without the final rotation, the base (from the last vertex to the
                // first) is level again, whatever the pre-rotation and stretch.
                let points = outline(&tables, shape, pre, scale, 0);
                let base = [points[n - 1], points[0]];
                assert!(
                    (base[0][1] - base[1][1]).abs() < 1e-9,
                    "shape {shape}, step {pre}: {base:?}"
                );
                // And it is the lowest edge: a level edge that is not the lowest would
                // mean the counter-rotation turned the shape upside down.
                let lowest = points[..n]
                    .iter()
                    .map(|p| p[1])
                    .fold(f64::NEG_INFINITY, f64::max);
                assert!(
                    (base[0][1] - lowest).abs() < 1e-9,
                    "shape {shape}, step {pre}"
                );
            }
        }
    }

    #[test]
    fn every_vertex_lies_a_pixel_inside_the_image() {
        let tables = Tables::new();
        let mut rng = SeededRng::seed_from_u64(5);
        for _ in 0..3_000 {
            let shape = rng.random_range(0..3);
            let mut rejections = 0;
            let placed = place(&mut rng, &tables, shape, &[], &mut rejections);
            assert_eq!(rejections, 0, "a first object has nothing to overlap");
            for p in placed.vertices() {
                for v in p {
                    assert!((1.0..31.0).contains(v), "{p:?}");
                }
            }
        }
    }

    #[test]
    fn a_placement_past_the_rejection_limit_is_kept_at_once() {
        let tables = Tables::new();
        // A small earlier ellipse in the middle of the image, of which most larger second
        // objects would hide too much.
        let mut rng = SeededRng::seed_from_u64(6);
        let mut old = place(&mut rng, &tables, 2, &[], &mut 0);
        let centre = outline(&tables, 2, 0, [8.0, 8.0], 0);
        for (point, c) in old.points.iter_mut().zip(centre) {
            *point = [c[0] + 16.0, c[1] + 16.0];
        }
        old.scale = [8.0, 8.0];
        old.translation = [16.0, 16.0];
        old.position = [16.0, 16.0];

        // Below the limit, the accepted placement does not overlap too much.
        let mut rejected = 0;
        for _ in 0..200 {
            let mut rejections = 0;
            let new = place(&mut rng, &tables, 2, &[old], &mut rejections);
            rejected += rejections;
            if rejections < REJECTION_MAX {
                assert!(!overlaps_too_much(&tables, &old, &new));
            }
        }
        assert!(
            rejected > 400,
            "only {rejected} rejections: the test object is too small"
        );

        // Past the limit, the first attempt is kept: exactly the two steps and four
        // uniforms of one attempt are drawn.
        let mut twin = rng.clone();
        let mut rejections = REJECTION_MAX + 1;
        place(&mut rng, &tables, 2, &[old], &mut rejections);
        assert_eq!(rejections, REJECTION_MAX + 1);
        let _ = twin.random_range(0..ROTATION_RESOLUTION / 20);
        let _ = twin.random_range(0..ROTATION_RESOLUTION - 1);
        for _ in 0..4 {
            let _: f64 = twin.random();
        }
        assert_eq!(rng.random::<u64>(), twin.random::<u64>());
    }
}
