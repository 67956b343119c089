//! A picture's sketch and the likeness of two sketches: a check of the candidates a picture
//! query's signatures found, pixel against pixel.
//!
//! The sketch is the picture's luminance shrunk to [`SKETCH_SIDE`] x [`SKETCH_SIDE`] (its
//! whole, whatever its shape). Two sketches are alike when their gradients are: the likeness
//! is the correlation of their horizontal and vertical differences, taken with one sketch as
//! it is and mirrored (the better of the two). Brightness, contrast, a colour cast, greyscale,
//! re-compression, noise and blur leave a picture's gradients in place, so a copy's likeness
//! to its original stays near 1 where the encoder's distance may not; a different picture's,
//! even a look-alike's, falls well below (benches/RESULTS.md, "The likeness check").

use image::imageops::{self, FilterType};
use image::DynamicImage;

use crate::augment::rotate;

/// Side of a sketch in pixels: 1 KiB per picture.
pub const SKETCH_SIDE: u32 = 32;

/// The picture's sketch: its luminance at [`SKETCH_SIDE`] x [`SKETCH_SIDE`], row by row.
pub fn sketch(img: &DynamicImage) -> Vec<u8> {
    match shrunk(img) {
        Some(small) => sketch_small(&small),
        None => sketch_small(img),
    }
}

/// A query picture's sketch, as it is or turned: compared with a stored sketch only inside
/// `margin` (columns, rows) of the border, the band a turn brings black corners into.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnedSketch {
    pub pixels: Vec<u8>,
    pub margin: (usize, usize),
}

impl TurnedSketch {
    /// How alike a stored sketch is to this one, inside the margin (as [`likeness`]).
    pub fn likeness(&self, stored: &[u8]) -> Option<f32> {
        likeness_inside(&self.pixels, stored, self.margin)
    }
}

/// The picture's sketch as it is, then turned by each of `degrees` (the corners that come in
/// are black, as a turned copy's are, and left out of the comparison: [`turn_margin`]),
/// turned at a few times the sketch's side.
pub fn turned_sketches(img: &DynamicImage, degrees: &[f32]) -> Vec<TurnedSketch> {
    let side = SKETCH_SIDE * 8;
    let thumbnail;
    let small = if img.width() > side || img.height() > side {
        thumbnail = img.thumbnail(side, side);
        &thumbnail
    } else {
        img
    };
    let mut out = vec![TurnedSketch {
        pixels: sketch(small),
        margin: (0, 0),
    }];
    out.extend(degrees.iter().map(|&d| TurnedSketch {
        pixels: sketch(&rotate(small, d)),
        margin: turn_margin(small.width(), small.height(), d),
    }));
    out
}

/// The band (columns, rows of a sketch) along the border that turning a `width` x `height`
/// picture by `degrees` blanks, rounded up: a corner swings in by half the other side times
/// the sine. At most a quarter of the sketch's side, so that half of it is always compared.
pub fn turn_margin(width: u32, height: u32, degrees: f32) -> (usize, usize) {
    let side = SKETCH_SIDE as f32;
    let sin = degrees.to_radians().sin().abs();
    let (w, h) = (width.max(1) as f32, height.max(1) as f32);
    let band = |across: f32, along: f32| {
        ((side * across / along / 2.0 * sin).ceil() as usize).min(SKETCH_SIDE as usize / 4)
    };
    (band(h, w), band(w, h))
}

/// The picture averaged down to a few times the sketch's side (a plain resize of a large
/// picture would sample its pixels rather than average them); `None` for one that small.
fn shrunk(img: &DynamicImage) -> Option<DynamicImage> {
    let side = SKETCH_SIDE * 4;
    (img.width() > side || img.height() > side).then(|| img.thumbnail(side, side))
}

/// The sketch of a picture [`shrunk`] already.
fn sketch_small(small: &DynamicImage) -> Vec<u8> {
    imageops::resize(
        &small.to_luma8(),
        SKETCH_SIDE,
        SKETCH_SIDE,
        FilterType::Triangle,
    )
    .into_raw()
}

/// How alike two sketches are, -1..1 (1: the same gradients up to brightness and contrast),
/// the better of `b` as it is and mirrored; `None` when either is not a sketch or is flat.
pub fn likeness(a: &[u8], b: &[u8]) -> Option<f32> {
    likeness_inside(a, b, (0, 0))
}

/// [`likeness`] of the two sketches inside `margin` (columns, rows) of their border.
fn likeness_inside(a: &[u8], b: &[u8], margin: (usize, usize)) -> Option<f32> {
    let ga = gradients(a, false, margin)?;
    let plain = correlation(&ga, &gradients(b, false, margin)?);
    let mirrored = correlation(&ga, &gradients(b, true, margin)?);
    match (plain, mirrored) {
        (Some(p), Some(m)) => Some(p.max(m)),
        (p, m) => p.or(m),
    }
}

/// A sketch's horizontal then vertical differences inside `margin` (columns, rows) of its
/// border (`mirrored`: of its mirror image).
fn gradients(s: &[u8], mirrored: bool, (mx, my): (usize, usize)) -> Option<Vec<f32>> {
    let n = SKETCH_SIDE as usize;
    if s.len() != n * n || 2 * mx + 2 > n || 2 * my + 2 > n {
        return None;
    }
    let at = |x: usize, y: usize| {
        let x = if mirrored { n - 1 - x } else { x };
        f32::from(s[y * n + x])
    };
    let (xs, ys) = (mx..n - mx - 1, my..n - my - 1);
    let mut g = Vec::with_capacity(2 * xs.len() * ys.len());
    for y in ys.clone() {
        for x in xs.clone() {
            g.push(at(x + 1, y) - at(x, y));
        }
    }
    for y in ys {
        for x in xs.clone() {
            g.push(at(x, y + 1) - at(x, y));
        }
    }
    Some(g)
}

/// Pearson correlation; `None` when either side is flat.
fn correlation(a: &[f32], b: &[f32]) -> Option<f32> {
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len().max(1) as f32;
    let (ma, mb) = (mean(a), mean(b));
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x - ma, y - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    (aa > 0.0 && bb > 0.0).then(|| ab / (aa * bb).sqrt())
}

#[cfg(test)]
mod tests {
    use image::{ImageBuffer, Rgb};

    use super::*;

    /// A picture with structure: a diagonal ramp and a bright disc off centre.
    fn picture(w: u32, h: u32, disc: (f32, f32)) -> DynamicImage {
        DynamicImage::ImageRgb8(ImageBuffer::from_fn(w, h, |x, y| {
            let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
            let d = ((u - disc.0).powi(2) + (v - disc.1).powi(2)).sqrt();
            let base = 60.0 + 80.0 * (u + v) / 2.0 + if d < 0.2 { 90.0 } else { 0.0 };
            Rgb([base as u8, (base * 0.8) as u8, (base * 0.6) as u8])
        }))
    }

    #[test]
    fn a_recoloured_resized_or_mirrored_copy_is_alike_and_another_picture_is_not() {
        let original = sketch(&picture(400, 300, (0.3, 0.4)));
        assert_eq!(original.len(), (SKETCH_SIDE * SKETCH_SIDE) as usize);
        // Darker, lower in contrast and greyscale, at a quarter of the size.
        let copy = picture(100, 75, (0.3, 0.4))
            .brighten(-40)
            .adjust_contrast(-30.0);
        let copy = sketch(&DynamicImage::ImageLuma8(copy.to_luma8()));
        let mirrored = sketch(&picture(400, 300, (0.3, 0.4)).fliph());
        let other = sketch(&picture(400, 300, (0.75, 0.6)));
        let l = |s: &[u8]| likeness(s, &original).expect("structured sketches");
        assert!(l(&copy) > 0.9, "{}", l(&copy));
        assert!(l(&mirrored) > 0.99, "{}", l(&mirrored));
        assert!(l(&other) < 0.5, "{}", l(&other));
    }

    #[test]
    fn a_turned_copy_is_alike_once_turned_back_inside_its_black_corners() {
        let original = picture(400, 300, (0.3, 0.4));
        let stored = sketch(&original);
        let copy = rotate(&original, 7.0);
        let sketches = turned_sketches(&copy, &[-7.0, 7.0]);
        assert_eq!(sketches.len(), 3);
        assert_eq!(sketches[0].margin, (0, 0));
        let as_is = sketches[0].likeness(&stored).expect("structured");
        let back = sketches[1].likeness(&stored).expect("structured");
        // Without the margin the black corners' edges weigh against the copy.
        let back_whole = likeness(&sketches[1].pixels, &stored).expect("structured");
        assert!(
            back > 0.95 && back > as_is && back > back_whole,
            "{back} {as_is} {back_whole}"
        );
    }

    #[test]
    fn a_turn_blanks_a_band_deeper_along_the_longer_side() {
        // A 3:2 picture turned 5°: the corners swing in by 3/4 · sin 5° of its height.
        assert_eq!(turn_margin(300, 200, 5.0), (1, 3));
        assert_eq!(turn_margin(300, 200, -5.0), (1, 3));
        assert_eq!(turn_margin(300, 200, 0.0), (0, 0));
        // Never more than a quarter of the sketch.
        assert_eq!(turn_margin(3000, 100, 10.0), (1, 8));
    }

    #[test]
    fn a_flat_picture_or_a_damaged_sketch_has_no_likeness() {
        let flat = sketch(&DynamicImage::ImageRgb8(ImageBuffer::from_pixel(
            50,
            50,
            Rgb([90, 90, 90]),
        )));
        let some = sketch(&picture(64, 64, (0.5, 0.5)));
        assert_eq!(likeness(&flat, &some), None);
        assert_eq!(likeness(&some[..10], &some), None);
    }
}
