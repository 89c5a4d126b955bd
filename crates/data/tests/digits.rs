//! The embedded UCI digits against what scikit-learn's `load_digits` returns.

use sha2::{Digest, Sha256};
use vanishing_data::{DIGITS_SIDE, Digits};

#[test]
fn shape_and_class_counts_are_scikit_learns() {
    let data = Digits::load();
    assert_eq!(data.len(), 1_797);
    assert_eq!(Digits::N_SAMPLES, 1_797);
    assert_eq!(data.n_features, 64);
    assert_eq!(DIGITS_SIDE * DIGITS_SIDE, 64);
    assert_eq!(data.x.len(), 1_797 * 64);
    assert_eq!(
        data.class_counts(),
        [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
}

#[test]
fn the_first_image_is_the_files_first_zero() {
    // `load_digits().data[0]`, the first line of the file, a 0, row by row.
    let counts: [u8; 64] = [
        0, 0, 5, 13, 9, 1, 0, 0, //
        0, 0, 13, 15, 10, 15, 5, 0, //
        0, 3, 15, 2, 0, 11, 8, 0, //
        0, 4, 12, 0, 0, 8, 8, 0, //
        0, 5, 8, 0, 0, 9, 8, 0, //
        0, 4, 11, 0, 1, 12, 7, 0, //
        0, 2, 14, 5, 10, 12, 0, 0, //
        0, 0, 6, 13, 10, 0, 0, 0, //
    ];
    let data = Digits::load();
    assert_eq!(data.labels[0], 0);
    for (k, (&got, &count)) in data.row(0).iter().zip(&counts).enumerate() {
        assert_eq!(
            got.to_bits(),
            (f64::from(count) / 16.0).to_bits(),
            "pixel {k}"
        );
    }
    // The next rows are a 1, a 2 and a 3, and the last an 8: the file's order.
    assert_eq!(&data.labels[1..4], &[1, 2, 3]);
    assert_eq!(data.labels[1_796], 8);
}

#[test]
fn values_are_sixteenths_in_the_unit_interval() {
    let data = Digits::load();
    let mut seen = [false; 17];
    for &v in &data.x {
        let count = v * 16.0;
        assert!((0.0..=16.0).contains(&count), "{v}");
        assert_eq!(count.fract().to_bits(), 0.0_f64.to_bits(), "{v}");
        seen[count as usize] = true;
    }
    // Every count from 0 to 16 occurs.
    assert!(seen.iter().all(|&s| s), "{seen:?}");
}

#[test]
fn loading_twice_gives_the_same_data() {
    assert_eq!(Digits::load(), Digits::load());
}

#[test]
fn the_embedded_file_is_the_one_its_readme_names() {
    let file = include_bytes!("../data/digits.csv.gz");
    let digest: String = Sha256::digest(file)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        digest,
        "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
    );
    let readme = include_str!("../data/README.md");
    assert!(
        readme.contains(&digest),
        "data/README.md does not state {digest}"
    );
}
