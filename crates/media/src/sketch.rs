//! A picture's sketch and the likeness of two sketches: a check of the candidates a picture
//! query's signatures found, pixel against pixel.
//!
//! The sketch is the picture's luminance shrunk to [`SKETCH_SIDE`] x [`SKETCH_SIDE`] (its
//! whole, whatever its shape). Two sketches are alike when their gradients are: the likeness
//! is the correlation of their horizontal and vertical differences, taken with one sketch as
//! it is and mirrored (the better of the two), over the whole and over the whole but its most
//! different band of rows (a caption's). Brightness, contrast, a colour cast, greyscale,
//! re-compression, noise and blur leave a picture's gradients in place, so a copy's likeness
//! to its original stays near 1 where the encoder's distance may not; a different picture's,
//! even a look-alike's, falls well below (benches/RESULTS.md, "The likeness check"). A query
//! turned by a few degrees lines up again once its sketch is turned back, compared inside the
//! band its black corners fill ([`turned_sketches`]).

use image::imageops::{self, FilterType};
use image::DynamicImage;

use crate::augment::rotate;
use crate::image_io::fit_within;

/// Side of a sketch in pixels: 1 KiB per picture.
pub const SKETCH_SIDE: u32 = 32;

/// The picture's sketch: its luminance at [`SKETCH_SIDE`] x [`SKETCH_SIDE`], row by row.
pub fn sketch(img: &DynamicImage) -> Vec<u8> {
    // Averaged down to a few times the sketch's side first: a plain resize of a large picture
    // would sample its pixels rather than average them.
    let small = fit_within(img, SKETCH_SIDE * 4);
    imageops::resize(
        &small.to_luma8(),
        SKETCH_SIDE,
        SKETCH_SIDE,
        FilterType::Triangle,
    )
    .into_raw()
}

/// Side of a picture's tint grid: its colours in [`TINT_SIDE`] x [`TINT_SIDE`] cells, 48 bytes.
pub const TINT_SIDE: u32 = 4;

/// The picture's tint: the mean colour (red, green, blue) of each cell of a [`TINT_SIDE`] x
/// [`TINT_SIDE`] grid over its whole, row by row. What tells two pictures with the same sketch
/// apart when only their colours differ ([`tint_likeness`]).
pub fn tint(img: &DynamicImage) -> Vec<u8> {
    let small = fit_within(img, SKETCH_SIDE * 4);
    imageops::resize(&small.to_rgb8(), TINT_SIDE, TINT_SIDE, FilterType::Triangle).into_raw()
}

/// The picture's sketch and tint, from one shrinking of it (the same as [`sketch`] and [`tint`]
/// each: both average it down to the same side first, most of what either costs).
pub fn sketch_and_tint(img: &DynamicImage) -> (Vec<u8>, Vec<u8>) {
    let small = fit_within(img, SKETCH_SIDE * 4);
    (sketch(&small), tint(&small))
}

/// A tint with less colour than this (root mean square of its cells' chroma, in levels of
/// 255) is grey: a greyscale copy has no colour to compare.
const MIN_CHROMA: f32 = 1.0;

/// How alike two tints' colours are, -1..1: the cosine of their chroma (each cell's colour less
/// its grey), which brightness, contrast and a change of saturation leave in place, and a colour
/// cast does not. `None` when either is grey or not a tint.
pub fn tint_likeness(a: &[u8], b: &[u8]) -> Option<f32> {
    let (a, b) = (Chroma::of(a)?, Chroma::of(b)?);
    let dot: f32 = a.values.iter().zip(&b.values).map(|(x, y)| x * y).sum();
    Some(dot / (a.norm * b.norm))
}

/// A tint's cells less their grey.
struct Chroma {
    values: Vec<f32>,
    norm: f32,
}

impl Chroma {
    fn of(tint: &[u8]) -> Option<Self> {
        if tint.len() != (3 * TINT_SIDE * TINT_SIDE) as usize {
            return None;
        }
        let values: Vec<f32> = tint
            .chunks(3)
            .flat_map(|cell| {
                let grey = cell.iter().map(|&v| f32::from(v)).sum::<f32>() / 3.0;
                cell.iter().map(move |&v| f32::from(v) - grey)
            })
            .collect();
        let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
        (norm >= MIN_CHROMA * (values.len() as f32).sqrt()).then_some(Chroma { values, norm })
    }
}

/// A query picture's sketch, as it is or turned: compared with a stored sketch only inside
/// `margin` (columns, rows) of the border, the band a turn brings black corners into.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnedSketch {
    pub pixels: Vec<u8>,
    pub margin: (usize, usize),
    /// Its differences inside the margin, taken once for every stored sketch it meets.
    gradients: Option<Gradients>,
}

impl TurnedSketch {
    fn new(pixels: Vec<u8>, margin: (usize, usize)) -> Self {
        let gradients = Gradients::of(&pixels, false, margin);
        TurnedSketch {
            pixels,
            margin,
            gradients,
        }
    }

    /// How alike a stored sketch is to this one, inside the margin (as [`likeness`]).
    ///
    /// A sketch as it is (no margin) looks past a caption, as [`likeness`] does; a turned one
    /// does not: with its turns a stranger would have many more chances to look alike.
    pub fn likeness(&self, stored: &[u8]) -> Option<f32> {
        let band = if self.margin == (0, 0) {
            CAPTION_ROWS
        } else {
            0
        };
        self.gradients.as_ref()?.against(stored, self.margin, band)
    }
}

/// The picture's sketch as it is, then turned by each of `degrees` (the corners that come in
/// are black, as a turned copy's are, and left out of the comparison: [`turn_margin`]),
/// turned at a few times the sketch's side.
pub fn turned_sketches(img: &DynamicImage, degrees: &[f32]) -> Vec<TurnedSketch> {
    let small = fit_within(img, SKETCH_SIDE * 8);
    let mut out = vec![TurnedSketch::new(sketch(&small), (0, 0))];
    out.extend(degrees.iter().map(|&d| {
        TurnedSketch::new(
            sketch(&rotate(&small, d)),
            turn_margin(small.width(), small.height(), d),
        )
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

/// Rows of a sketch's differences a caption covers: a line of text a tenth of the picture's
/// height tall is 3.2 rows of a sketch, its outline and descenders most of a row more, and the
/// differences across its edges one more. A sketch as it is is also compared without its most
/// different band of this many rows. (Four rows, the text alone, left a captioned texture's
/// likeness at 0.48-0.74 where five lift it to 0.84-0.94: benches/RESULTS.md, "The caption's
/// band".)
const CAPTION_ROWS: usize = 5;

/// A band is looked past only where the query's sketch has at least this many times the edges
/// (sum of squared differences) of the stored one's same rows: a caption adds edges to a
/// picture, while a look-alike differs from it anywhere. Without it, the wider band lifted
/// look-alike pairs more than copies and the calibrated likeness with them (0.76 -> 0.83).
const CAPTION_EDGES: f64 = 2.0;

/// How alike two sketches are, -1..1 (1: the same gradients up to brightness and contrast),
/// the better of `b` as it is and mirrored, and of the whole and the whole but its most
/// different band of `CAPTION_ROWS` rows where `a` has at least twice `b`'s edges (a caption
/// or a watermark across the picture); `None` when either is not a sketch or is flat.
pub fn likeness(a: &[u8], b: &[u8]) -> Option<f32> {
    compare(a, b, (0, 0), CAPTION_ROWS)
}

/// The likeness of two sketches inside `margin` (columns, rows) of their border, the better of
/// `b` as it is and mirrored, looking past a band of `band` rows (0: none).
fn compare(a: &[u8], b: &[u8], margin: (usize, usize), band: usize) -> Option<f32> {
    Gradients::of(a, false, margin)?.against(b, margin, band)
}

/// A sketch's horizontal and vertical differences inside a margin, row by row.
#[derive(Debug, Clone, PartialEq)]
struct Gradients {
    across: Vec<f32>,
    down: Vec<f32>,
    columns: usize,
}

impl Gradients {
    /// `s`'s differences inside `margin` (columns, rows) of its border (`mirrored`: of its
    /// mirror image); `None` when `s` is not a sketch or the margin leaves too little.
    fn of(s: &[u8], mirrored: bool, (mx, my): (usize, usize)) -> Option<Self> {
        let n = SKETCH_SIDE as usize;
        if s.len() != n * n || 2 * mx + 2 > n || 2 * my + 2 > n {
            return None;
        }
        let at = |x: usize, y: usize| {
            let x = if mirrored { n - 1 - x } else { x };
            f32::from(s[y * n + x])
        };
        let (xs, ys) = (mx..n - mx - 1, my..n - my - 1);
        let cells = xs.len() * ys.len();
        let (mut across, mut down) = (Vec::with_capacity(cells), Vec::with_capacity(cells));
        for y in ys {
            for x in xs.clone() {
                across.push(at(x + 1, y) - at(x, y));
                down.push(at(x, y + 1) - at(x, y));
            }
        }
        Some(Gradients {
            across,
            down,
            columns: xs.len(),
        })
    }

    /// The likeness of stored sketch `b` to these differences (taken inside `margin`), the
    /// better of `b` as it is and mirrored, looking past a band of `band` rows (0: none).
    fn against(&self, b: &[u8], margin: (usize, usize), band: usize) -> Option<f32> {
        [false, true]
            .into_iter()
            .filter_map(|mirrored| self.likeness(&Gradients::of(b, mirrored, margin)?, band))
            .reduce(f32::max)
    }

    /// The correlation of two sketches' differences (the same margin), the best of all rows
    /// and of all rows but any `band` neighbouring ones where these have [`CAPTION_EDGES`]
    /// times `other`'s edges; `None` when either is flat.
    fn likeness(&self, other: &Gradients, band: usize) -> Option<f32> {
        let rows: Vec<Sums> = (0..self.across.len() / self.columns.max(1))
            .map(|r| {
                let row = r * self.columns..(r + 1) * self.columns;
                Sums::of(&self.across[row.clone()], &other.across[row.clone()])
                    .add(Sums::of(&self.down[row.clone()], &other.down[row]))
            })
            .collect();
        let all = rows.iter().fold(Sums::default(), |t, r| t.add(*r));
        let without_bands = (band > 0 && band < rows.len()).then(|| {
            rows.windows(band).filter_map(|w| {
                let cut = w.iter().fold(Sums::default(), |t, r| t.add(*r));
                (cut.aa >= CAPTION_EDGES * cut.bb)
                    .then(|| all.sub(cut).correlation())
                    .flatten()
            })
        });
        all.correlation()
            .into_iter()
            .chain(without_bands.into_iter().flatten())
            .reduce(f32::max)
    }
}

/// The sums a Pearson correlation needs, over some values of two sketches' differences: kept
/// per row, so that the correlation without a band of rows is a subtraction.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    n: f64,
    a: f64,
    b: f64,
    ab: f64,
    aa: f64,
    bb: f64,
}

impl Sums {
    fn of(a: &[f32], b: &[f32]) -> Self {
        a.iter().zip(b).fold(Sums::default(), |s, (&x, &y)| {
            let (x, y) = (f64::from(x), f64::from(y));
            Sums {
                n: s.n + 1.0,
                a: s.a + x,
                b: s.b + y,
                ab: s.ab + x * y,
                aa: s.aa + x * x,
                bb: s.bb + y * y,
            }
        })
    }

    fn add(self, o: Sums) -> Sums {
        Sums {
            n: self.n + o.n,
            a: self.a + o.a,
            b: self.b + o.b,
            ab: self.ab + o.ab,
            aa: self.aa + o.aa,
            bb: self.bb + o.bb,
        }
    }

    fn sub(self, o: Sums) -> Sums {
        self.add(Sums {
            n: -o.n,
            a: -o.a,
            b: -o.b,
            ab: -o.ab,
            aa: -o.aa,
            bb: -o.bb,
        })
    }

    /// Pearson correlation; `None` when either side is flat (or nothing is summed).
    fn correlation(&self) -> Option<f32> {
        let n = self.n;
        let cov = self.ab - self.a * self.b / n;
        let (va, vb) = (self.aa - self.a * self.a / n, self.bb - self.b * self.b / n);
        // A flat side's variance is 0 up to rounding: compare with the sums' own size.
        let flat = |v: f64, sq: f64| v <= sq * 1e-9;
        (n > 0.0 && !flat(va, self.aa) && !flat(vb, self.bb))
            .then(|| (cov / (va * vb).sqrt()) as f32)
    }
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
    fn a_captioned_copy_is_alike_past_its_caption() {
        let original = picture(400, 300, (0.3, 0.4));
        // A band of text-like strokes across a tenth of the height, white outlined in black.
        let mut captioned = original.to_rgb8();
        for (x, y, p) in captioned.enumerate_pixels_mut() {
            if (150..180).contains(&y) && x >= 40 {
                let stroke = (x / 6 + y / 10) % 3;
                *p = Rgb(if stroke == 0 {
                    [0, 0, 0]
                } else {
                    [255, 255, 255]
                });
            }
        }
        let stored = sketch(&original);
        let copy = sketch(&DynamicImage::ImageRgb8(captioned));
        let past = likeness(&copy, &stored).expect("structured");
        let whole = compare(&copy, &stored, (0, 0), 0).expect("structured");
        assert!(past > 0.9 && past > whole + 0.1, "{past} {whole}");
        // The other way round the band holds fewer edges in the query than in the stored
        // picture: that is no caption of the query's, and nothing is looked past.
        let reversed = likeness(&stored, &copy).expect("structured");
        let reversed_whole = compare(&stored, &copy, (0, 0), 0).expect("structured");
        assert!(reversed < past - 0.1, "{reversed} {past}");
        assert_eq!(reversed, reversed_whole);
        let other = sketch(&picture(400, 300, (0.75, 0.6)));
        let stranger = likeness(&copy, &other).expect("structured");
        assert!(stranger < 0.5, "{stranger}");
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

    #[test]
    fn a_colour_variant_keeps_its_sketch_and_is_told_apart_by_its_tint() {
        let warm = picture(96, 64, (0.3, 0.6));
        // The same picture coloured blue instead of orange: the same strokes.
        let cool = DynamicImage::ImageRgb8(ImageBuffer::from_fn(96, 64, |x, y| {
            let [r, g, b] = warm.to_rgb8().get_pixel(x, y).0;
            Rgb([b, g, r])
        }));
        let like = likeness(&sketch(&warm), &sketch(&cool)).expect("structured");
        assert!(like > 0.9, "colour variants' sketches {like}");
        // A copy of the warm one at half the saturation, and brightened: its tint is still the
        // warm one's, and unlike the cool one's.
        let copy = augment_copy(&warm);
        let own = tint_likeness(&tint(&copy), &tint(&warm)).expect("coloured");
        let other = tint_likeness(&tint(&copy), &tint(&cool)).expect("coloured");
        assert!(own > 0.9 && other < 0.0, "own {own}, other {other}");
        // A greyscale copy has no colour to compare.
        let grey = crate::augment::greyscale(&warm);
        assert_eq!(tint_likeness(&tint(&grey), &tint(&warm)), None);
        assert_eq!(tint_likeness(&[1, 2, 3], &tint(&warm)), None);
    }

    fn augment_copy(img: &DynamicImage) -> DynamicImage {
        let half = crate::augment::saturation(img, 0.5);
        crate::augment::brightness_contrast(&half, 0.1, 1.2)
    }

    #[test]
    fn the_sketch_and_tint_made_together_are_those_made_apart() {
        let big = picture(900, 600, (0.6, 0.4));
        assert_eq!(sketch_and_tint(&big), (sketch(&big), tint(&big)));
    }
}
