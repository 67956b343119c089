//! Distortions a real query goes through, used to train the encoder (corrupted input ->
//! clean target), to make evaluation clips and in tests. Deterministic under a seeded rng.

use image::{DynamicImage, GenericImageView, ImageBuffer, Rgb};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use realfft::RealFftPlanner;

// ---------- audio ----------

fn power(x: &[f32]) -> f32 {
    x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32
}

/// Gaussian white noise, unit variance.
pub fn white_noise(n: usize, rng: &mut impl Rng) -> Vec<f32> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

/// Pink (1/f) noise from white noise through Paul Kellet's refined filter.
pub fn pink_noise(n: usize, rng: &mut impl Rng) -> Vec<f32> {
    let mut b = [0f32; 7];
    (0..n)
        .map(|_| {
            let w: f32 = StandardNormal.sample(rng);
            b[0] = 0.99886 * b[0] + w * 0.0555179;
            b[1] = 0.99332 * b[1] + w * 0.0750759;
            b[2] = 0.96900 * b[2] + w * 0.153_852;
            b[3] = 0.86650 * b[3] + w * 0.3104856;
            b[4] = 0.55000 * b[4] + w * 0.5329522;
            b[5] = -0.7616 * b[5] - w * 0.0168980;
            let out = b.iter().sum::<f32>() + w * 0.5362;
            b[6] = w * 0.115926;
            out * 0.11
        })
        .collect()
}

/// Adds `noise` (looped or cut to length) scaled so that the result has exactly `snr_db`.
/// Silent signal or noise: nothing is added.
pub fn mix_at_snr(signal: &mut [f32], noise: &[f32], snr_db: f32) {
    if signal.is_empty() || noise.is_empty() {
        return;
    }
    let ps = power(signal);
    let pn = if noise.len() >= signal.len() {
        power(&noise[..signal.len()])
    } else {
        (0..signal.len())
            .map(|i| noise[i % noise.len()].powi(2))
            .sum::<f32>()
            / signal.len() as f32
    };
    if ps <= 0.0 || pn <= 0.0 {
        return;
    }
    let scale = (ps / (pn * 10f32.powf(snr_db / 10.0))).sqrt();
    for (i, s) in signal.iter_mut().enumerate() {
        *s += scale * noise[i % noise.len()];
    }
}

/// 10 log10(P_clean / P_(noisy - clean)).
pub fn snr_db(clean: &[f32], noisy: &[f32]) -> f32 {
    let n = clean.len().min(noisy.len());
    let pc = power(&clean[..n]);
    let pe = clean[..n]
        .iter()
        .zip(&noisy[..n])
        .map(|(c, x)| (x - c).powi(2))
        .sum::<f32>()
        / n.max(1) as f32;
    10.0 * (pc / pe.max(f32::MIN_POSITIVE)).log10()
}

pub fn gain_db(signal: &mut [f32], db: f32) {
    let g = 10f32.powf(db / 20.0);
    signal.iter_mut().for_each(|x| *x *= g);
}

/// Same length; a positive shift delays the signal (zeros come in at the start).
pub fn time_shift(signal: &[f32], shift: isize) -> Vec<f32> {
    let n = signal.len();
    let mut out = vec![0.0; n];
    for (i, o) in out.iter_mut().enumerate() {
        let j = i as isize - shift;
        if j >= 0 && (j as usize) < n {
            *o = signal[j as usize];
        }
    }
    out
}

/// Plays `signal` `factor` times as fast (pitch moves with it, as a turntable or a radio
/// station's speed-up does), same length, about its middle: sample `i` of the output is the
/// input at `mid + (i - mid) * factor`, linearly interpolated; zeros where that falls outside.
pub fn change_speed(signal: &[f32], factor: f32) -> Vec<f32> {
    let n = signal.len();
    let mid = n as f64 / 2.0;
    (0..n)
        .map(|i| {
            let t = mid + (i as f64 - mid) * factor as f64;
            if t < 0.0 || t > (n - 1) as f64 {
                return 0.0;
            }
            let j = t.floor() as usize;
            let frac = (t - j as f64) as f32;
            let next = signal.get(j + 1).copied().unwrap_or(signal[j]);
            signal[j] * (1.0 - frac) + next * frac
        })
        .collect()
}

/// RBJ biquad, direct form I.
struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
}

impl Biquad {
    fn new(kind_high: bool, sample_rate: u32, f0: f32) -> Self {
        let w0 = 2.0 * std::f32::consts::PI * f0 / sample_rate as f32;
        let alpha = w0.sin() / (2.0 * std::f32::consts::FRAC_1_SQRT_2);
        let cos = w0.cos();
        let a0 = 1.0 + alpha;
        let (b0, b1) = if kind_high {
            ((1.0 + cos) / 2.0, -(1.0 + cos))
        } else {
            ((1.0 - cos) / 2.0, 1.0 - cos)
        };
        Self {
            b: [b0 / a0, b1 / a0, b0 / a0],
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
        }
    }

    fn run(&self, x: &mut [f32]) {
        let (mut x1, mut x2, mut y1, mut y2) = (0f32, 0f32, 0f32, 0f32);
        for v in x.iter_mut() {
            let y =
                self.b[0] * *v + self.b[1] * x1 + self.b[2] * x2 - self.a[0] * y1 - self.a[1] * y2;
            x2 = x1;
            x1 = *v;
            y2 = y1;
            y1 = y;
            *v = y;
        }
    }
}

/// Keeps `low_hz..high_hz`: two cascaded 2nd-order high-passes and low-passes (24 dB/oct),
/// like a telephone line for 300..3400.
pub fn band_limit(signal: &mut [f32], sample_rate: u32, low_hz: f32, high_hz: f32) {
    let nyquist = sample_rate as f32 / 2.0;
    for _ in 0..2 {
        if low_hz > 0.0 && low_hz < nyquist {
            Biquad::new(true, sample_rate, low_hz).run(signal);
        }
        if high_hz > 0.0 && high_hz < nyquist * 0.98 {
            Biquad::new(false, sample_rate, high_hz).run(signal);
        }
    }
}

/// A simple room: the signal convolved (by FFT) with exponentially decaying noise of the
/// given RT60, mixed `wet` (0..1) with the dry signal at equal loudness. Same length.
pub fn reverb(
    signal: &[f32],
    sample_rate: u32,
    rt60_s: f32,
    wet: f32,
    rng: &mut impl Rng,
) -> Vec<f32> {
    let n = signal.len();
    let len = ((rt60_s.clamp(0.05, 2.0)) * sample_rate as f32) as usize;
    if n == 0 || len == 0 {
        return signal.to_vec();
    }
    let decay = 6.91 / (rt60_s * sample_rate as f32); // -60 dB at rt60
    let ir: Vec<f32> = (0..len)
        .map(|i| {
            let g: f32 = StandardNormal.sample(rng);
            g * (-decay * i as f32).exp()
        })
        .collect();
    let size = (n + len).next_power_of_two();
    let mut planner = RealFftPlanner::<f32>::new();
    let fwd = planner.plan_fft_forward(size);
    let inv = planner.plan_fft_inverse(size);
    let mut a = vec![0f32; size];
    a[..n].copy_from_slice(signal);
    let mut b = vec![0f32; size];
    b[..len].copy_from_slice(&ir);
    let mut fa = fwd.make_output_vec();
    let mut fb = fwd.make_output_vec();
    if fwd.process(&mut a, &mut fa).is_err() || fwd.process(&mut b, &mut fb).is_err() {
        return signal.to_vec();
    }
    for (x, y) in fa.iter_mut().zip(&fb) {
        *x *= y;
    }
    let mut out = vec![0f32; size];
    if inv.process(&mut fa, &mut out).is_err() {
        return signal.to_vec();
    }
    let wet_sig = &out[..n];
    let scale = (power(signal) / power(wet_sig).max(f32::MIN_POSITIVE)).sqrt();
    let wet = wet.clamp(0.0, 1.0);
    signal
        .iter()
        .zip(wet_sig)
        .map(|(d, w)| (1.0 - wet) * d + wet * w * scale)
        .collect()
}

/// Random corruption at random strength, as used for training: a random subset of speed
/// change, time shift, reverb, band limiting, additive noise (white, pink or other audio) and
/// gain.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioAugment {
    pub snr_min: f32,
    pub snr_max: f32,
    /// Largest shift in samples, either way.
    pub max_shift: usize,
    /// Largest speed change, either way (0.03 = 3%).
    pub max_speed: f32,
    pub p_speed: f32,
    pub p_noise: f32,
    /// Of the noisy examples, the share whose noise is other audio (when `others` is given);
    /// the rest get white or pink noise evenly.
    pub p_music: f32,
    pub p_reverb: f32,
    pub p_band: f32,
    pub p_gain: f32,
}

impl Default for AudioAugment {
    fn default() -> Self {
        Self {
            snr_min: 0.0,
            snr_max: 15.0,
            // A stored signature every 8 frames (2048 samples) leaves a query patch at most
            // 1024 samples off one: that is the shift the encoder must absorb.
            max_shift: 1024,
            max_speed: 0.03,
            p_speed: 0.5,
            p_noise: 0.85,
            // Other music is what users' clips are hardest on; 0.6 rather than a third gained
            // 0.8-0.9 points named on corpus A at two seeds and -0.2 / +0.9 on corpus B
            // (benches/RESULTS.md, "Training on more music interference").
            p_music: 0.6,
            p_reverb: 0.3,
            p_band: 0.3,
            p_gain: 0.5,
        }
    }
}

impl AudioAugment {
    /// `others`: unrelated audio to use as a noise source (music, voices), if any.
    pub fn apply(
        &self,
        clean: &[f32],
        sample_rate: u32,
        others: Option<&[f32]>,
        rng: &mut impl Rng,
    ) -> Vec<f32> {
        let mut x = if self.max_speed > 0.0 && rng.random::<f32>() < self.p_speed {
            change_speed(
                clean,
                1.0 + rng.random_range(-self.max_speed..=self.max_speed),
            )
        } else {
            clean.to_vec()
        };
        if self.max_shift > 0 {
            let m = self.max_shift as i64;
            x = time_shift(&x, rng.random_range(-m..=m) as isize);
        }
        if rng.random::<f32>() < self.p_reverb {
            let rt60 = rng.random_range(0.2..0.9);
            let wet = rng.random_range(0.2..0.7);
            x = reverb(&x, sample_rate, rt60, wet, rng);
        }
        if rng.random::<f32>() < self.p_band {
            let low = rng.random_range(150.0..500.0);
            let high = rng.random_range(2800.0..3600.0);
            band_limit(&mut x, sample_rate, low, high);
        }
        if rng.random::<f32>() < self.p_noise {
            let snr = rng.random_range(self.snr_min..=self.snr_max);
            let noise = match others {
                Some(o) if rng.random::<f32>() < self.p_music => o.to_vec(),
                _ if rng.random::<bool>() => pink_noise(x.len(), rng),
                _ => white_noise(x.len(), rng),
            };
            mix_at_snr(&mut x, &noise, snr);
        }
        if rng.random::<f32>() < self.p_gain {
            gain_db(&mut x, rng.random_range(-20.0..6.0));
        }
        x
    }
}

// ---------- images ----------

/// Keeps `frac` of each side, at a random position.
pub fn crop(img: &DynamicImage, frac: f32, rng: &mut impl Rng) -> DynamicImage {
    let (w, h) = img.dimensions();
    let frac = frac.clamp(0.05, 1.0);
    let (cw, ch) = (
        ((w as f32 * frac) as u32).max(1),
        ((h as f32 * frac) as u32).max(1),
    );
    let x = rng.random_range(0..=w - cw);
    let y = rng.random_range(0..=h - ch);
    img.crop_imm(x, y, cw, ch)
}

/// Resizes by `factor` (both sides).
pub fn rescale(img: &DynamicImage, factor: f32) -> DynamicImage {
    let (w, h) = img.dimensions();
    let nw = ((w as f32 * factor).round() as u32).max(1);
    let nh = ((h as f32 * factor).round() as u32).max(1);
    img.resize_exact(nw, nh, image::imageops::FilterType::Triangle)
}

/// Re-compresses as JPEG at `quality` (1..100) and decodes again.
pub fn jpeg(img: &DynamicImage, quality: u8) -> image::ImageResult<DynamicImage> {
    let rgb = img.to_rgb8();
    let mut bytes = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality.clamp(1, 100));
    rgb.write_with_encoder(enc)?;
    image::load_from_memory(&bytes)
}

/// `p' = (p - 0.5) * contrast + 0.5 + brightness`, in 0..1 units.
pub fn brightness_contrast(img: &DynamicImage, brightness: f32, contrast: f32) -> DynamicImage {
    map_rgb(img, |v| (v - 0.5) * contrast + 0.5 + brightness)
}

/// Adds Gaussian noise of standard deviation `sigma` (0..1 units).
pub fn image_noise(img: &DynamicImage, sigma: f32, rng: &mut impl Rng) -> DynamicImage {
    map_rgb(img, |v| {
        let g: f32 = StandardNormal.sample(&mut *rng);
        v + sigma * g
    })
}

fn map_rgb(img: &DynamicImage, mut f: impl FnMut(f32) -> f32) -> DynamicImage {
    let rgb = img.to_rgb8();
    let out = ImageBuffer::<Rgb<u8>, _>::from_fn(rgb.width(), rgb.height(), |x, y| {
        let p = rgb.get_pixel(x, y);
        Rgb([0, 1, 2].map(|c| (f(p[c] as f32 / 255.0) * 255.0).round().clamp(0.0, 255.0) as u8))
    });
    DynamicImage::ImageRgb8(out)
}

/// A greyscale copy (ITU-R 601 luminance in every channel).
pub fn greyscale(img: &DynamicImage) -> DynamicImage {
    DynamicImage::ImageRgb8(DynamicImage::ImageLuma8(img.to_luma8()).to_rgb8())
}

/// Saturation times `factor` (0: greyscale, 1: unchanged, above 1: more vivid).
pub fn saturation(img: &DynamicImage, factor: f32) -> DynamicImage {
    let rgb = img.to_rgb8();
    let out = ImageBuffer::<Rgb<u8>, _>::from_fn(rgb.width(), rgb.height(), |x, y| {
        let p = rgb.get_pixel(x, y);
        let l = 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
        Rgb([0, 1, 2].map(|c| (l + (p[c] as f32 - l) * factor).round().clamp(0.0, 255.0) as u8))
    });
    DynamicImage::ImageRgb8(out)
}

/// A colour cast: each channel times its gain (a warm filter: red up, blue down).
pub fn colour_cast(img: &DynamicImage, gains: [f32; 3]) -> DynamicImage {
    let rgb = img.to_rgb8();
    let out = ImageBuffer::<Rgb<u8>, _>::from_fn(rgb.width(), rgb.height(), |x, y| {
        let p = rgb.get_pixel(x, y);
        Rgb([0, 1, 2].map(|c| (p[c] as f32 * gains[c]).round().clamp(0.0, 255.0) as u8))
    });
    DynamicImage::ImageRgb8(out)
}

/// Mirrored left to right.
pub fn flip(img: &DynamicImage) -> DynamicImage {
    img.fliph()
}

/// Rotated by `degrees` (counter-clockwise) about the centre, bilinear, on a canvas of the
/// same size: the corners that come in are black (as most tools do without cropping).
pub fn rotate(img: &DynamicImage, degrees: f32) -> DynamicImage {
    let rgb = img.to_rgb8();
    let (w, h) = rgb.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let out = ImageBuffer::<Rgb<u8>, _>::from_fn(w, h, |x, y| {
        // The source of an output pixel: the inverse rotation of its centre.
        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
        let sx = cos * dx - sin * dy + cx - 0.5;
        let sy = sin * dx + cos * dy + cy - 0.5;
        if sx < -0.5 || sy < -0.5 || sx > w as f32 - 0.5 || sy > h as f32 - 0.5 {
            return Rgb([0, 0, 0]);
        }
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let at = |xi: f32, yi: f32| {
            let xi = xi.clamp(0.0, w as f32 - 1.0) as u32;
            let yi = yi.clamp(0.0, h as f32 - 1.0) as u32;
            *rgb.get_pixel(xi, yi)
        };
        let (a, b, c, d) = (
            at(x0, y0),
            at(x0 + 1.0, y0),
            at(x0, y0 + 1.0),
            at(x0 + 1.0, y0 + 1.0),
        );
        Rgb([0, 1, 2].map(|k| {
            let top = a[k] as f32 * (1.0 - fx) + b[k] as f32 * fx;
            let bottom = c[k] as f32 * (1.0 - fx) + d[k] as f32 * fx;
            (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8
        }))
    });
    DynamicImage::ImageRgb8(out)
}

/// Gaussian blur of standard deviation `sigma` pixels.
pub fn blur(img: &DynamicImage, sigma: f32) -> DynamicImage {
    img.blur(sigma.max(0.01))
}

/// Something drawn over the picture, as a watermark, a caption or a meme's text is: one to
/// three lines of glyph-like marks (each letter a few stems and bars) in white or black, at
/// `opacity`, from a thin line (a thirtieth of the height) to a big caption (an eighth), half
/// the time with an outline in the other colour, from somewhere in the left third onwards.
pub fn overlay(img: &DynamicImage, opacity: f32, rng: &mut impl Rng) -> DynamicImage {
    let mut rgb = img.to_rgb8();
    let (w, h) = rgb.dimensions();
    let line_h = ((h as f32 * rng.random_range(1.0 / 30.0..=1.0 / 8.0)) as u32).max(3);
    let lines = rng.random_range(1..=3u32);
    let band_h = lines * line_h * 3 / 2;
    let y0 = rng.random_range(0..=h.saturating_sub(band_h));
    let x0 = rng.random_range(0..=w / 3);
    let x1 = rng.random_range((2 * w / 3).max(x0 + 1)..=w);
    let stroke = (line_h / 7).max(1);
    let outline = if rng.random::<bool>() {
        (line_h / 14).max(1)
    } else {
        0
    };
    // 0: untouched, 1: outline, 2: ink.
    let mut mask = vec![0u8; (w * h) as usize];
    let mut mark = |x: i64, y: i64, bw: i64, bh: i64, pad: i64, v: u8| {
        for yy in (y - pad).max(0)..(y + bh + pad).min(h as i64) {
            for xx in (x - pad).max(0)..(x + bw + pad).min(x1 as i64) {
                let m = &mut mask[(yy as u32 * w + xx as u32) as usize];
                *m = (*m).max(v);
            }
        }
    };
    let (s, o) = (stroke as i64, outline as i64);
    let letter_w = (line_h * 3 / 5).max(2) as i64;
    let mut strokes = Vec::new();
    for l in 0..lines {
        let top = (y0 + l * line_h * 3 / 2) as i64;
        let mut x = x0 as i64;
        while x < x1 as i64 {
            // A word of 2-8 letters, some of them short (x-height).
            for _ in 0..rng.random_range(2..=8) {
                let lh = if rng.random::<bool>() {
                    line_h as i64
                } else {
                    (line_h as i64 * 2 / 3).max(2)
                };
                let ty = top + line_h as i64 - lh;
                let mut any = false;
                for (p, r) in [
                    (0.6, (x, ty, s, lh)),
                    (0.5, (x + letter_w - s, ty, s, lh)),
                    (0.2, (x + letter_w / 2 - s / 2, ty, s, lh)),
                    (0.4, (x, ty, letter_w, s)),
                    (0.4, (x, ty + lh / 2 - s / 2, letter_w, s)),
                    (0.4, (x, ty + lh - s, letter_w, s)),
                ] {
                    if rng.random::<f64>() < p {
                        strokes.push(r);
                        any = true;
                    }
                }
                if !any {
                    strokes.push((x, ty, s, lh));
                }
                x += letter_w + s.max(letter_w / 4);
            }
            x += letter_w;
        }
    }
    if o > 0 {
        for &(x, y, bw, bh) in &strokes {
            mark(x, y, bw, bh, o, 1);
        }
    }
    for &(x, y, bw, bh) in &strokes {
        mark(x, y, bw, bh, 0, 2);
    }
    let white = rng.random::<bool>();
    let (ink, edge) = if white { (255.0, 0.0) } else { (0.0, 255.0) };
    let a = opacity.clamp(0.0, 1.0);
    for (i, &m) in mask.iter().enumerate() {
        if m == 0 {
            continue;
        }
        let c = if m == 2 { ink } else { edge };
        let p = rgb.get_pixel_mut(i as u32 % w, i as u32 / w);
        for ch in 0..3 {
            p[ch] = (p[ch] as f32 * (1.0 - a) + c * a).round() as u8;
        }
    }
    DynamicImage::ImageRgb8(rgb)
}

/// Random alterations at random strength, as used for training.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageAugment {
    /// Smallest kept fraction of each side when cropping.
    pub crop_min: f32,
    pub scale_min: f32,
    pub jpeg_min: u8,
    pub brightness: f32,
    pub contrast: f32,
    pub noise_max: f32,
    pub p_crop: f32,
    pub p_scale: f32,
    pub p_jpeg: f32,
    pub p_color: f32,
    pub p_noise: f32,
    /// Greyscale, or saturation scaled anywhere in 0..2.
    pub p_grey: f32,
    pub p_saturation: f32,
    /// A colour cast: channel gains within 1 ± this.
    pub cast: f32,
    pub p_cast: f32,
    /// Rotation, degrees either way.
    pub rotate_max: f32,
    pub p_rotate: f32,
    /// Gaussian blur, sigma in pixels of a 256 px picture.
    pub blur_max: f32,
    pub p_blur: f32,
    pub p_overlay: f32,
    /// Mirrored (calibration's probes: queries also look at the mirror image; training
    /// leaves it at 0, so a picture and its mirror image stay two signatures).
    pub p_flip: f32,
}

impl Default for ImageAugment {
    /// For training: wider than what copies usually go through, so that hard copies (a
    /// third cropped away, a fifth of the size, JPEG quality 10, strong colour changes,
    /// heavy noise) still land near their original.
    fn default() -> Self {
        Self {
            crop_min: 0.6,
            scale_min: 0.15,
            jpeg_min: 8,
            brightness: 0.3,
            contrast: 0.5,
            noise_max: 0.12,
            p_crop: 0.7,
            p_scale: 0.5,
            p_jpeg: 0.5,
            p_color: 0.5,
            p_noise: 0.4,
            p_grey: 0.2,
            p_saturation: 0.3,
            cast: 0.25,
            p_cast: 0.3,
            rotate_max: 12.0,
            p_rotate: 0.4,
            blur_max: 2.5,
            p_blur: 0.2,
            p_overlay: 0.2,
            p_flip: 0.0,
        }
    }
}

impl ImageAugment {
    /// The alterations a copy usually goes through (calibration's positives): the "no
    /// match" distance is set by these, not by the hardest copies training reaches for.
    pub fn everyday() -> Self {
        Self {
            crop_min: 0.75,
            scale_min: 0.4,
            jpeg_min: 20,
            brightness: 0.2,
            contrast: 0.3,
            noise_max: 0.06,
            p_crop: 0.5,
            p_scale: 0.5,
            p_jpeg: 0.5,
            p_color: 0.5,
            p_noise: 0.4,
            p_grey: 0.15,
            p_saturation: 0.2,
            cast: 0.15,
            p_cast: 0.2,
            rotate_max: 5.0,
            p_rotate: 0.3,
            blur_max: 1.5,
            p_blur: 0.2,
            p_overlay: 0.15,
            p_flip: 0.2,
        }
    }

    pub fn apply(&self, img: &DynamicImage, rng: &mut impl Rng) -> DynamicImage {
        let mut x = img.clone();
        if rng.random::<f32>() < self.p_flip {
            x = flip(&x);
        }
        if rng.random::<f32>() < self.p_rotate {
            x = rotate(&x, rng.random_range(-self.rotate_max..=self.rotate_max));
        }
        if rng.random::<f32>() < self.p_crop {
            let f = rng.random_range(self.crop_min..=1.0);
            x = crop(&x, f, rng);
        }
        if rng.random::<f32>() < self.p_scale {
            let f = rng.random_range(self.scale_min..=1.0);
            x = rescale(&x, f);
        }
        if rng.random::<f32>() < self.p_color {
            let b = rng.random_range(-self.brightness..=self.brightness);
            let c = rng.random_range(1.0 - self.contrast..=1.0 + self.contrast);
            x = brightness_contrast(&x, b, c);
        }
        if rng.random::<f32>() < self.p_grey {
            x = greyscale(&x);
        } else if rng.random::<f32>() < self.p_saturation {
            x = saturation(&x, rng.random_range(0.0..=2.0));
        }
        if rng.random::<f32>() < self.p_cast {
            let gains = [0, 1, 2].map(|_| rng.random_range(1.0 - self.cast..=1.0 + self.cast));
            x = colour_cast(&x, gains);
        }
        if rng.random::<f32>() < self.p_overlay {
            x = overlay(&x, rng.random_range(0.4..=1.0), rng);
        }
        if rng.random::<f32>() < self.p_blur {
            let side = x.width().max(x.height()).max(1) as f32;
            x = blur(&x, rng.random_range(0.3..=self.blur_max) * side / 256.0);
        }
        if rng.random::<f32>() < self.p_noise {
            let s = rng.random_range(0.0..=self.noise_max);
            x = image_noise(&x, s, rng);
        }
        if rng.random::<f32>() < self.p_jpeg {
            let q = rng.random_range(self.jpeg_min..=95);
            // Encoding an in-memory RGB picture does not fail in practice; if it ever does,
            // the example goes without this alteration, and the log says why.
            match jpeg(&x, q) {
                Ok(j) => x = j,
                Err(e) => tracing::warn!("JPEG alteration skipped: {e}"),
            }
        }
        x
    }
}
