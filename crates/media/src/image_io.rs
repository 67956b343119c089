//! Image decoding (bounded, orientation applied) and the encoder's input tensor.

use std::io::Cursor;
use std::path::Path;

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits};

use crate::error::contain;
use crate::{ImageParams, MediaError, Result};

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
        img.apply_orientation(orientation);
        Ok(img)
    })
}

/// `3 x size x size` CHW floats: the whole picture resized (aspect not kept, so nothing is
/// cut off), each channel normalised to zero mean and unit variance (brightness and
/// contrast changes mostly cancel out).
pub fn image_tensor(img: &DynamicImage, p: &ImageParams) -> Vec<f32> {
    let s = p.size;
    let rgb = img.resize_exact(s, s, FilterType::Triangle).to_rgb8();
    let n = (s * s) as usize;
    let mut out = vec![0f32; 3 * n];
    for (i, px) in rgb.pixels().enumerate() {
        for c in 0..3 {
            out[c * n + i] = px[c] as f32 / 255.0;
        }
    }
    for c in 0..3 {
        let ch = &mut out[c * n..(c + 1) * n];
        let mean = ch.iter().sum::<f32>() / n as f32;
        let std = (ch.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n as f32)
            .sqrt()
            .max(0.02);
        ch.iter_mut().for_each(|x| *x = (*x - mean) / std);
    }
    out
}
