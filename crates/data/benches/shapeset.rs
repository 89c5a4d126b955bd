//! How fast Shapeset-3x2 images are generated (`just bench`): 100,000 32x32 images from
//! one seed on the calling thread, the target being under 2 s on one core.
//! Every sample draws the same images (seed 0), so samples differ only by the machine.

use std::hint::black_box;

use vanishing_data::Shapeset;

fn main() {
    divan::main();
}

/// 100,000 images, labels and all, into one `Dataset`.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn images_100k() {
    let data = Shapeset { n_samples: 100_000 }
        .generate_seeded(black_box(0))
        .expect("100,000 images are a valid request");
    black_box(data);
}
