//! The UCI 8 x 8 handwritten digits, as scikit-learn's `load_digits` ships them.

use std::io::Read;
use std::sync::OnceLock;

use crate::Dataset;

/// The side of a digit image, in pixels.
pub const DIGITS_SIDE: usize = 8;

/// Number of features of a digit image: one per pixel.
const FEATURES: usize = DIGITS_SIDE * DIGITS_SIDE;

/// The file scikit-learn ships (`sklearn/datasets/data/digits.csv.gz`), unchanged;
/// `data/README.md` beside this crate's manifest gives its source, licence and hash.
static COMPRESSED: &[u8] = include_bytes!("../data/digits.csv.gz");

/// The UCI "Optical Recognition of Handwritten Digits" test set: 1,797 images of 8 x 8
/// pixels, digits 0 to 9 (Alpaydin & Kaynak, 1998; CC BY 4.0).
///
/// Each pixel counts the dark pixels of a 4 x 4 block of a 32 x 32 bitmap, an integer
/// from 0 to 16. A [`Dataset`] from [`Digits::load`] holds them as 64 features per
/// row, row-major (the pixel in row `r` and column `c` is feature `r * 8 + c`), each
/// the count divided by 16, so in `[0, 1]` and a multiple of 1/16 (exactly). The label
/// is the digit. The rows are in the file's order, which is neither shuffled nor sorted
/// by digit; the training code shuffles and splits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Digits;

impl Digits {
    /// Number of images in the set.
    pub const N_SAMPLES: usize = 1_797;

    /// The 1,797 images and their digits.
    ///
    /// The embedded file is decompressed and parsed on the first call and kept for the
    /// later ones (about 115 kB).
    ///
    /// # Panics
    /// Only if the file embedded at compile time is not the one this crate ships, which
    /// its tests rule out.
    pub fn load() -> Dataset {
        let table = TABLE.get_or_init(|| match decode(COMPRESSED) {
            Ok(table) => table,
            Err(why) => panic!("the embedded digits file is damaged: {why}"),
        });
        let mut data = Dataset {
            x: Vec::with_capacity(table.len() / (FEATURES + 1) * FEATURES),
            labels: Vec::with_capacity(table.len() / (FEATURES + 1)),
            n_features: FEATURES,
        };
        for row in table.chunks_exact(FEATURES + 1) {
            data.x
                .extend(row[..FEATURES].iter().map(|&count| f64::from(count) / 16.0));
            data.labels.push(u32::from(row[FEATURES]));
        }
        data
    }
}

/// The decoded file: per image its 64 counts and its digit.
static TABLE: OnceLock<Vec<u8>> = OnceLock::new();

/// Decompresses and parses the file into 65 bytes per image, checking every value.
fn decode(compressed: &[u8]) -> Result<Vec<u8>, String> {
    let mut text = Vec::with_capacity(300_000);
    flate2::read::GzDecoder::new(compressed)
        .read_to_end(&mut text)
        .map_err(|e| format!("gzip: {e}"))?;
    let mut table = Vec::with_capacity(Digits::N_SAMPLES * (FEATURES + 1));
    for (line_number, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let mut fields = 0;
        for (column, field) in line.split(|&b| b == b',').enumerate() {
            let max = if column < FEATURES { 16 } else { 9 };
            let value = std::str::from_utf8(field)
                .ok()
                .and_then(|f| f.parse::<u8>().ok())
                .filter(|&v| v <= max)
                .ok_or_else(|| format!("line {}, field {}", line_number + 1, column + 1))?;
            table.push(value);
            fields += 1;
        }
        if fields != FEATURES + 1 {
            return Err(format!("line {} has {fields} fields", line_number + 1));
        }
    }
    if table.len() != Digits::N_SAMPLES * (FEATURES + 1) {
        return Err(format!("{} values", table.len()));
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_text_is_refused() {
        let gzip = |text: &str| {
            use std::io::Write;
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(text.as_bytes()).unwrap();
            encoder.finish().unwrap()
        };
        let row = |values: &str| format!("{values}\n");
        let good: String = (0..64).map(|_| "0,").collect::<String>() + "3";
        assert_eq!(decode(&gzip(&row(&good))), Err("65 values".to_string()));
        let seventeen = good.replacen('0', "17", 1);
        assert_eq!(
            decode(&gzip(&row(&seventeen))),
            Err("line 1, field 1".to_string())
        );
        let label_ten = good.replace(",3", ",10");
        assert_eq!(
            decode(&gzip(&row(&label_ten))),
            Err("line 1, field 65".to_string())
        );
        assert_eq!(
            decode(&gzip("1,2\n")),
            Err("line 1 has 2 fields".to_string())
        );
        assert!(decode(b"not gzip").unwrap_err().starts_with("gzip"));
    }
}
