//! Image decoding (bounded, orientation applied) and the encoder's input tensor.

use std::borrow::Cow;
use std::io::Cursor;
use std::path::Path;

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits};

use crate::error::contain;
use crate::params::CHROMA_WEIGHT;
use crate::{ImageInput, ImageParams, MediaError, Result};

/// Images larger than this per side, or needing more memory, are refused (decompression bombs).
const MAX_SIDE: u32 = 16_384;
const MAX_ALLOC: u64 = 512 << 20;

pub fn load_image(path: &Path) -> Result<DynamicImage> {
    let bytes = std::fs::read(path).map_err(|source| MediaError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_image_bytes(&bytes, path)
}

/// Decodes an image held in memory; `path` is for error messages.
pub fn load_image_bytes(bytes: &[u8], path: &Path) -> Result<DynamicImage> {
    if bytes.is_empty() {
        return Err(MediaError::Empty {
            path: path.to_path_buf(),
        });
    }
    contain(path, || {
        let map = |e: ImageError| match e {
            ImageError::Limits(l) => MediaError::ImageLimits {
                path: path.to_path_buf(),
                reason: l.to_string(),
            },
            ImageError::Unsupported(u) => MediaError::NotMedia {
                path: path.to_path_buf(),
                reason: u.to_string(),
            },
            other => MediaError::Decode {
                path: path.to_path_buf(),
                reason: other.to_string(),
            },
        };
        let mut reader = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|source| MediaError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if reader.format().is_none() {
            return Err(MediaError::NotMedia {
                path: path.to_path_buf(),
                reason: "unknown image format".into(),
            });
        }
        let mut limits = Limits::default();
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
        limits.max_alloc = Some(MAX_ALLOC);
        reader.limits(limits);
        let mut decoder = reader.into_decoder().map_err(map)?;
        let orientation = decoder.orientation().map_err(map)?;
        let mut img = DynamicImage::from_decoder(decoder).map_err(map)?;
        if img.width() == 0 || img.height() == 0 {
            return Err(MediaError::Decode {
                path: path.to_path_buf(),
                reason: format!(
                    "the picture has no pixels ({} x {})",
                    img.width(),
                    img.height()
                ),
            });
        }
        img.apply_orientation(orientation);
        Ok(img)
    })
}

/// A part of a picture the encoder looks at: `rect` is `(x, y, w, h)` in fractions of its
/// sides (see [`ImageParams::views`]), `mirrored` flips it left to right first, `robust`
/// standardises its luminance by median and MAD instead of mean and deviation
/// ([`ImageParams::robust_views`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct View {
    pub rect: [f32; 4],
    pub mirrored: bool,
    pub robust: bool,
}

impl View {
    /// The whole picture, as it is.
    pub const WHOLE: View = View {
        rect: [0.0, 0.0, 1.0, 1.0],
        mirrored: false,
        robust: false,
    };

    /// The whole picture, mirrored.
    pub const MIRRORED: View = View {
        rect: [0.0, 0.0, 1.0, 1.0],
        mirrored: true,
        robust: false,
    };

    /// The same part, standardised by median and MAD.
    pub fn robust(self) -> View {
        View {
            robust: true,
            ..self
        }
    }
}

/// The encoder's input for the whole picture: see [`image_views`].
pub fn image_tensor(img: &DynamicImage, p: &ImageParams) -> Vec<f32> {
    image_views(img, p, &[View::WHOLE])
}

/// The picture within `side` x `side` (shrunk with its aspect kept, its pixels averaged) when
/// it is larger; as it is otherwise.
pub fn fit_within(img: &DynamicImage, side: u32) -> Cow<'_, DynamicImage> {
    if img.width() > side || img.height() > side {
        Cow::Owned(img.thumbnail(side, side))
    } else {
        Cow::Borrowed(img)
    }
}

/// The picture views are cut from: scaled down to a square of four times the input size
/// when it is larger (aspect not kept), as it is otherwise. [`image_views`] of the result
/// are those of the picture; a caller cutting views more than once scales it once with this.
pub fn view_source<'a>(img: &'a DynamicImage, p: &ImageParams) -> Cow<'a, DynamicImage> {
    let side = 4 * p.size.max(1);
    if img.width() > side || img.height() > side {
        Cow::Owned(img.resize_exact(side, side, FilterType::Triangle))
    } else {
        Cow::Borrowed(img)
    }
}

/// `channels x size x size` CHW floats per view, concatenated: each view resized to a
/// square (aspect not kept, so nothing is cut off) and made into the input
/// [`ImageParams::input`] names. The picture is scaled down once ([`view_source`]), and
/// every view is cut from that.
pub fn image_views(img: &DynamicImage, p: &ImageParams, views: &[View]) -> Vec<f32> {
    let s = p.size.max(1);
    if img.width() == 0 || img.height() == 0 {
        // Nothing to see ([`load_image`] refuses such pictures): flat inputs, not a panic.
        return vec![0.0; views.len() * p.input_len()];
    }
    let base = view_source(img, p).to_rgb8();
    // Made only when a mirrored view has no partner window to be flipped from.
    let mut mirrored: Option<image::RgbImage> = None;
    let (bw, bh) = (base.width() as f32, base.height() as f32);
    let len = p.input_len();
    let mut out = Vec::with_capacity(views.len() * len);
    // Each part cut and resized so far, kept when some view is standardised robustly: the same
    // part standardised the other way is not cut and resized again.
    let reuse = views.iter().any(|v| v.robust);
    let mut parts: Vec<(View, image::RgbImage)> = Vec::new();
    for (i, v) in views.iter().enumerate() {
        // A mirrored view whose mirror-image window was already cut is that window's input
        // flipped: no second resize.
        let partner = [1.0 - v.rect[0] - v.rect[2], v.rect[1], v.rect[2], v.rect[3]];
        let done = v.mirrored.then(|| {
            views[..i]
                .iter()
                .position(|u| !u.mirrored && u.robust == v.robust && same_rect(&u.rect, &partner))
        });
        if let Some(Some(j)) = done {
            let start = out.len();
            out.extend_from_within(j * len..(j + 1) * len);
            out[start..]
                .chunks_exact_mut(s as usize)
                .for_each(|row| row.reverse());
            continue;
        }
        let same_part = |u: &View| u.mirrored == v.mirrored && same_rect(&u.rect, &v.rect);
        if let Some((_, small)) = parts.iter().find(|(u, _)| same_part(u)) {
            planes(small, p.input, v.robust, &mut out);
            continue;
        }
        let src = if v.mirrored {
            &*mirrored.get_or_insert_with(|| image::imageops::flip_horizontal(&base))
        } else {
            &base
        };
        let [fx, fy, fw, fh] = v.rect;
        let w = ((fw * bw).round() as u32).clamp(1, base.width());
        let h = ((fh * bh).round() as u32).clamp(1, base.height());
        // A mirrored view is cut where its mirror-image window is, mirrored: the same pixels
        // whichever way it is made (above).
        let x = if v.mirrored {
            base.width()
                - w
                - ((((1.0 - fx - fw) * bw).round().max(0.0)) as u32).min(base.width() - w)
        } else {
            ((fx * bw).round() as u32).min(base.width() - w)
        };
        let y = ((fy * bh).round() as u32).min(base.height() - h);
        let part = image::imageops::crop_imm(src, x, y, w, h).to_image();
        let small = image::imageops::resize(&part, s, s, FilterType::Triangle);
        planes(&small, p.input, v.robust, &mut out);
        if reuse {
            parts.push((*v, small));
        }
    }
    out
}

/// Two view rectangles that are the same (within 1e-4 of a side: a fortieth of a pixel of the
/// 256 px picture views are cut from).
fn same_rect(a: &[f32; 4], b: &[f32; 4]) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4)
}

/// Appends the input planes of a `size x size` picture; `robust`: the luminance standardised
/// by [`robust_spread`] instead of [`spread`].
fn planes(rgb: &image::RgbImage, input: ImageInput, robust: bool, out: &mut Vec<f32>) {
    let n = (rgb.width() * rgb.height()) as usize;
    let px = |c: usize| rgb.pixels().map(move |p| p[c] as f32 / 255.0);
    let luma: Vec<f32> = rgb
        .pixels()
        .map(|p| (0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32) / 255.0)
        .collect();
    match input {
        ImageInput::Rgb => {
            for c in 0..3 {
                let mut ch: Vec<f32> = px(c).collect();
                let (mean, std) = spread(&ch);
                ch.iter_mut().for_each(|x| *x = (*x - mean) / std);
                out.extend(ch);
            }
        }
        ImageInput::Luma | ImageInput::LumaChroma => {
            let (mean, std) = spread(&luma);
            if robust {
                let (median, mad) = robust_spread(&luma);
                out.extend(
                    luma.iter()
                        .map(|y| ((y - median) / mad).clamp(-ROBUST_LIMIT, ROBUST_LIMIT)),
                );
            } else {
                out.extend(luma.iter().map(|y| (y - mean) / std));
            }
            if input == ImageInput::LumaChroma {
                for c in [2, 0] {
                    let mut d: Vec<f32> = px(c).zip(&luma).map(|(v, y)| v - y).collect();
                    let m = d.iter().sum::<f32>() / n as f32;
                    d.iter_mut()
                        .for_each(|x| *x = (*x - m) / std * CHROMA_WEIGHT);
                    out.extend(d);
                }
            }
        }
    }
}

/// Mean and standard deviation (at least 0.02, so a flat picture stays finite).
fn spread(v: &[f32]) -> (f32, f32) {
    let n = v.len().max(1) as f32;
    let mean = v.iter().sum::<f32>() / n;
    let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n)
        .sqrt()
        .max(0.02);
    (mean, std)
}

/// Where a robustly standardised value is clipped: a caption's white or a turned copy's black
/// corners lie many MADs out and would otherwise outweigh the picture.
const ROBUST_LIMIT: f32 = 4.0;

/// Median and 1.4826 x the median absolute deviation (at least 0.01): a bright caption over a
/// dark picture, which sets the deviation of [`spread`], moves neither.
fn robust_spread(v: &[f32]) -> (f32, f32) {
    let median_of = |mut x: Vec<f32>| {
        if x.is_empty() {
            return 0.0;
        }
        let mid = x.len() / 2;
        *x.select_nth_unstable_by(mid, f32::total_cmp).1
    };
    let median = median_of(v.to_vec());
    let mad = median_of(v.iter().map(|x| (x - median).abs()).collect());
    (median, (1.4826 * mad).max(0.01))
}
