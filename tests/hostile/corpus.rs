//! A bad-input corpus: every fixture format mutated the ways real libraries break files
//! (truncated downloads, flipped bits, swapped or lying headers, wrong extensions, absurd
//! sample rates and channel counts, decompression bombs). Deterministic for a seed.

use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One generated file: its name (the extension chosen too) and bytes.
pub struct Mutant {
    pub name: String,
    pub bytes: Vec<u8>,
}

struct Source {
    stem: String,
    ext: String,
    bytes: Vec<u8>,
}

fn read_sources(paths: &[PathBuf]) -> Vec<Source> {
    paths
        .iter()
        .map(|p| Source {
            stem: p.file_stem().unwrap().to_string_lossy().into_owned(),
            ext: p
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_default(),
            bytes: std::fs::read(p).unwrap(),
        })
        .collect()
}

/// About `per_source` mutants of each file in `paths`. Mutants are cut from the first
/// `head` bytes of a file (and a few from the whole file), so that a large corpus stays
/// quick to decode.
pub fn mutants(paths: &[PathBuf], per_source: usize, head: usize, seed: u64) -> Vec<Mutant> {
    let sources = read_sources(paths);
    let exts: Vec<String> = {
        let mut e: Vec<String> = sources.iter().map(|s| s.ext.clone()).collect();
        e.sort();
        e.dedup();
        e
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for (i, src) in sources.iter().enumerate() {
        let mut mine: Vec<(String, String, Vec<u8>)> = Vec::new();
        let base = &src.bytes[..src.bytes.len().min(head)];
        let full = &src.bytes[..];
        mine.push(("empty".into(), src.ext.clone(), Vec::new()));
        // Truncated in the header, then at evenly spread points of the file.
        for cut in [
            1usize, 2, 3, 4, 7, 8, 12, 16, 28, 36, 44, 64, 100, 256, 1000, 4096,
        ] {
            if cut < full.len() {
                mine.push((format!("cut{cut}"), src.ext.clone(), full[..cut].to_vec()));
            }
        }
        for j in 1..12 {
            let cut = full.len() * j / 12;
            mine.push((
                format!("cutat{j}of12"),
                src.ext.clone(),
                full[..cut].to_vec(),
            ));
        }
        // Wrong extensions: the same bytes named as every other format.
        for e in &exts {
            if *e != src.ext {
                mine.push((format!("as-{e}"), e.clone(), base.to_vec()));
            }
        }
        // Swapped headers: another format's first bytes on this file's body.
        let other = &sources[(i + 1) % sources.len()];
        for h in [4usize, 12, 64, 512] {
            if h < base.len() && h < other.bytes.len() {
                let mut b = other.bytes[..h].to_vec();
                b.extend_from_slice(&base[h..]);
                mine.push((format!("header-of-{}-{h}", other.stem), src.ext.clone(), b));
            }
        }
        // Lying sizes: header words (every 4-byte-aligned one in the first 64 bytes, and a
        // few unaligned) set to huge or zero values, both byte orders.
        for off in (0..64.min(base.len().saturating_sub(4)))
            .step_by(4)
            .chain([5, 6, 18, 22])
        {
            for (tag, word) in [("max", [0xFFu8; 4]), ("big", [0x7F, 0xFF, 0xFF, 0xFF])] {
                let mut b = base.to_vec();
                if off + 4 <= b.len() {
                    b[off..off + 4].copy_from_slice(&word);
                    mine.push((format!("{tag}{off}"), src.ext.clone(), b));
                }
            }
            let mut b = base.to_vec();
            if off + 4 <= b.len() {
                b[off..off + 4].copy_from_slice(&[0, 0, 0, 0]);
                mine.push((format!("zero{off}"), src.ext.clone(), b));
            }
        }
        // The rest: random damage, near the header more often than not.
        let mut k = 0;
        while mine.len() < per_source {
            k += 1;
            let mut b = if rng.random_bool(0.1) {
                full.to_vec()
            } else {
                base.to_vec()
            };
            if b.is_empty() {
                break;
            }
            let region = if rng.random_bool(0.6) {
                b.len().min(2048)
            } else {
                b.len()
            };
            let tag = match rng.random_range(0..5) {
                0 => {
                    for _ in 0..rng.random_range(1..=8) {
                        let at = rng.random_range(0..region);
                        b[at] ^= 1 << rng.random_range(0..8);
                    }
                    "flip"
                }
                1 => {
                    let at = rng.random_range(0..region);
                    let len = rng.random_range(1..=64).min(b.len() - at);
                    let v = if rng.random_bool(0.5) { 0 } else { 0xFF };
                    b[at..at + len].fill(v);
                    "fill"
                }
                2 => {
                    let at = rng.random_range(0..region);
                    let len = rng.random_range(1..=256).min(b.len() - at);
                    b.drain(at..at + len);
                    "hole"
                }
                3 => {
                    let at = rng.random_range(0..region);
                    let len = rng.random_range(1..=256).min(b.len() - at);
                    let piece = b[at..at + len].to_vec();
                    let to = rng.random_range(0..b.len());
                    b.splice(to..to, piece);
                    "repeat"
                }
                _ => {
                    for _ in 0..rng.random_range(1..=16) {
                        let at = rng.random_range(0..region);
                        b[at] = rng.random();
                    }
                    "bytes"
                }
            };
            mine.push((format!("{tag}{k}"), src.ext.clone(), b));
        }
        // The source's own extension is in the name: truncated.ogg and truncated.png both
        // give a "truncated-as-wav.wav" otherwise.
        out.extend(mine.into_iter().map(|(tag, ext, bytes)| Mutant {
            name: format!("{}-{}-{tag}.{ext}", src.stem, src.ext),
            bytes,
        }));
    }
    out
}

/// A WAV file with whatever header values it is given (`data_len` declared, `data` present).
pub fn wav(
    format: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    data_len: u32,
    data: &[u8],
) -> Vec<u8> {
    let block = (channels as u32 * bits as u32 / 8) as u16;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&format.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&rate.wrapping_mul(block as u32).to_le_bytes());
    b.extend_from_slice(&block.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    b.extend_from_slice(data);
    b
}

/// WAV files with absurd sample rates, channel counts, sample sizes, formats and declared
/// lengths, each carrying a little noise.
pub fn absurd_wavs(seed: u64) -> Vec<Mutant> {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise: Vec<u8> = (0..48_000).map(|_| rng.random()).collect();
    let mut out = Vec::new();
    let rates = [
        0u32,
        1,
        7,
        100,
        8_000,
        384_000,
        768_000,
        1_000_000_000,
        u32::MAX,
    ];
    let channels = [0u16, 1, 2, 9, 64, 255, u16::MAX];
    let bits = [0u16, 1, 8, 12, 16, 24, 32, 64, u16::MAX];
    for &r in &rates {
        for &c in &channels {
            out.push(Mutant {
                name: format!("absurd-rate{r}-ch{c}.wav"),
                bytes: wav(1, c, r, 16, noise.len() as u32, &noise),
            });
        }
        for &bb in &bits {
            out.push(Mutant {
                name: format!("absurd-rate{r}-bits{bb}.wav"),
                bytes: wav(1, 2, r, bb, noise.len() as u32, &noise),
            });
        }
    }
    for format in [0u16, 2, 3, 6, 7, 0x55, 0xFFFE, u16::MAX] {
        out.push(Mutant {
            name: format!("absurd-format{format}.wav"),
            bytes: wav(format, 2, 44_100, 16, noise.len() as u32, &noise),
        });
    }
    for declared in [0u32, 1, 3, u32::MAX / 2, u32::MAX] {
        out.push(Mutant {
            name: format!("absurd-declared{declared}.wav"),
            bytes: wav(1, 2, 44_100, 16, declared, &noise),
        });
    }
    out
}

/// Rewrites a PNG's IHDR width and height (and its CRC, so the lie is well formed).
fn png_with_size(png: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut b = png.to_vec();
    // Signature (8), length (4), "IHDR" (4), then width and height.
    b[16..20].copy_from_slice(&w.to_be_bytes());
    b[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32fast::hash(&b[12..29]);
    b[29..33].copy_from_slice(&crc.to_be_bytes());
    b
}

/// Pictures whose headers declare huge or zero sizes, and a real decompression bomb (a
/// 64-megapixel PNG of a few tens of kilobytes).
pub fn lying_images(fixtures: &Path) -> Vec<Mutant> {
    let mut out = Vec::new();
    let png = std::fs::read(fixtures.join("astronaut.png")).unwrap();
    for (w, h) in [
        (0, 0),
        (0, 512),
        (1, 1),
        (16_384, 16_384),
        (100_000, 100_000),
        (u32::MAX, u32::MAX),
        (1 << 31, 1),
        (1, 1 << 30),
    ] {
        out.push(Mutant {
            name: format!("astronaut-{w}x{h}.png"),
            bytes: png_with_size(&png, w, h),
        });
    }
    let bmp = std::fs::read(fixtures.join("rocket.bmp")).unwrap();
    for (w, h) in [
        (0i32, 0i32),
        (-1, -1),
        (i32::MAX, i32::MAX),
        (1, i32::MIN),
        (100_000, 3),
    ] {
        let mut b = bmp.clone();
        b[18..22].copy_from_slice(&w.to_le_bytes());
        b[22..26].copy_from_slice(&h.to_le_bytes());
        out.push(Mutant {
            name: format!("rocket-{w}x{h}.bmp"),
            bytes: b,
        });
    }
    let gif = std::fs::read(fixtures.join("hubble.gif")).unwrap();
    for (w, h) in [(0u16, 0u16), (u16::MAX, u16::MAX), (1, u16::MAX)] {
        let mut b = gif.clone();
        b[6..8].copy_from_slice(&w.to_le_bytes());
        b[8..10].copy_from_slice(&h.to_le_bytes());
        out.push(Mutant {
            name: format!("hubble-{w}x{h}.gif"),
            bytes: b,
        });
    }
    let jpg = std::fs::read(fixtures.join("coffee.jpg")).unwrap();
    if let Some(sof) = jpg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2])
    {
        for (w, h) in [(0u16, 0u16), (u16::MAX, u16::MAX), (1, u16::MAX)] {
            let mut b = jpg.clone();
            b[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
            b[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
            out.push(Mutant {
                name: format!("coffee-{w}x{h}.jpg"),
                bytes: b,
            });
        }
    }
    // A decompression bomb that is within the limits: it must decode, in bounded memory.
    let mut bomb = std::io::Cursor::new(Vec::new());
    image::GrayImage::new(8_000, 8_000)
        .write_to(&mut bomb, image::ImageFormat::Png)
        .unwrap();
    let bomb = bomb.into_inner();
    out.push(Mutant {
        name: "bomb-8000x8000.png".into(),
        bytes: bomb.clone(),
    });
    // The same bomb declaring itself larger than the limits allow.
    out.push(Mutant {
        name: "bomb-claims-16384x16384.png".into(),
        bytes: png_with_size(&bomb, 16_384, 16_384),
    });
    out
}

/// Writes `mutants` into `dir`, returning their paths.
pub fn write_all(dir: &Path, mutants: &[Mutant]) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    mutants
        .iter()
        .map(|m| {
            let p = dir.join(&m.name);
            std::fs::write(&p, &m.bytes).unwrap();
            p
        })
        .collect()
}
