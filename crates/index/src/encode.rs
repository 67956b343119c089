//! The one encode path: samples or pictures -> patches -> signatures, for indexing and
//! querying alike.

use std::path::Path;

use latentid_media::{
    contain, decode_audio, decode_audio_frames, image_views, load_image, sketch_and_tint, Audio,
    DynamicImage, MediaError, Patch, PatchCutter, Tags, View,
};
use latentid_model::{Encoded, Model, ModelError};
use latentid_store::{AddOutcome, ItemId, ItemKind, NewItem, Reconstruction, Sketch, StoreError};

use crate::reconstruction::summarise;
use crate::{FileError, Index, Result};

/// Patches cut and encoded at a time (a multiple of the model's batch).
const PATCH_CHUNK: usize = 2048;

/// The audible patches of a clip, encoded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Clip {
    /// Start frame of each encoded patch in the clip (analysis frames of the index).
    pub frames: Vec<u32>,
    /// `frames.len() * latent_dim` codes, row-major.
    pub codes: Vec<f32>,
    /// Per patch: how badly the model reconstructs it.
    pub recon_error: Vec<f32>,
}

impl Clip {
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// How well the model rebuilds the clip, summarised as an item's error is.
    pub fn reconstruction(&self) -> Option<Reconstruction> {
        summarise(&self.frames, &self.recon_error)
    }
}

/// A file turned into what the store keeps.
#[derive(Clone, Debug, PartialEq)]
pub struct EncodedFile {
    /// Where each signature was taken: frames for audio; for a picture, which of its stored
    /// views (0 the whole picture, then its parts: [`Index::stored_views`]).
    pub offsets: Vec<u32>,
    pub vectors: Vec<f32>,
    pub recon_error: Vec<f32>,
    /// Audio: seconds.
    pub duration_s: Option<f32>,
    /// Pictures: width and height.
    pub size: Option<(u32, u32)>,
    /// Audio: title, artist and album from the file's tags.
    pub tags: Tags,
    /// Pictures: the sketch a query's likeness check compares (`latentid_media::sketch`).
    pub sketch: Option<Vec<u8>>,
    /// Pictures: their colours (`latentid_media::tint`).
    pub tint: Option<Vec<u8>>,
}

impl EncodedFile {
    /// How well the model rebuilds the file: what the store keeps of `recon_error`.
    pub fn reconstruction(&self) -> Option<Reconstruction> {
        summarise(&self.offsets, &self.recon_error)
    }
}

impl Index {
    /// Decodes an audio file to mono at the index's analysis rate.
    pub fn decode_audio(&self, path: &Path) -> std::result::Result<Audio, MediaError> {
        decode_audio(path, self.features().audio.sample_rate)
    }

    /// Encodes the audible patches of `samples` (mono, at the analysis rate) taken every
    /// `hop_frames` frames. Silent patches (they would match every other silence) are left
    /// out; a clip with none gives an empty [`Clip`].
    pub fn encode_clip(&self, samples: &[f32], hop_frames: usize) -> Result<Clip> {
        Ok(self.clip_with(self.model()?, samples, hop_frames)?)
    }

    fn clip_with(
        &self,
        model: &Model,
        samples: &[f32],
        hop_frames: usize,
    ) -> std::result::Result<Clip, ModelError> {
        let mut cutter = PatchCutter::new(&self.features().audio, hop_frames);
        cutter.push(&self.mel.compute(samples).data);
        let mut clip = Clip::default();
        self.encode_ready(model, &mut cutter, 0, &mut clip)?;
        Ok(clip)
    }

    /// Encodes the audible patches `cutter` has ready into `clip`, [`PATCH_CHUNK`] at a time,
    /// leaving up to `leave` of them (fewer than a chunk) for when more frames arrive.
    fn encode_ready(
        &self,
        model: &Model,
        cutter: &mut PatchCutter,
        leave: usize,
        clip: &mut Clip,
    ) -> std::result::Result<(), ModelError> {
        while cutter.ready() > leave {
            let patches: Vec<Patch> = cutter
                .cut(PATCH_CHUNK)
                .into_iter()
                .filter(|q| !q.silent)
                .collect();
            if patches.is_empty() {
                continue;
            }
            let inputs: Vec<f32> = patches
                .iter()
                .flat_map(|q| q.data.iter().copied())
                .collect();
            let enc = model.encode(&inputs)?;
            clip.recon_error.extend(relative_errors(&enc));
            clip.frames.extend(patches.iter().map(|q| q.frame as u32));
            clip.codes.extend(enc.codes);
        }
        Ok(())
    }

    /// Decodes an audio file and encodes its patches as its spectrogram's frames arrive:
    /// neither the samples nor the spectrogram are held whole, so memory grows with the
    /// signatures only (a three-hour recording is indexed in about the memory of a song).
    fn encode_audio_file(
        &self,
        model: &Model,
        path: &Path,
    ) -> std::result::Result<EncodedFile, FileError> {
        let hop_frames = self.features().index_hop_frames;
        let mut cutter = PatchCutter::new(&self.features().audio, hop_frames);
        let mut clip = Clip::default();
        let mut failed = None;
        let info = decode_audio_frames(path, &self.mel, &mut |frames| {
            cutter.push(frames);
            if failed.is_none() && cutter.ready() >= PATCH_CHUNK {
                failed = self
                    .encode_ready(model, &mut cutter, PATCH_CHUNK - 1, &mut clip)
                    .err();
            }
        })?;
        let model_err = |source| FileError::Model {
            path: path.to_path_buf(),
            source,
        };
        if let Some(e) = failed {
            return Err(model_err(e));
        }
        self.encode_ready(model, &mut cutter, 0, &mut clip)
            .map_err(model_err)?;
        if clip.is_empty() {
            let p = &self.features().audio;
            if info.samples < p.patch_samples() {
                return Err(FileError::Media(MediaError::TooShort {
                    path: path.to_path_buf(),
                    seconds: info.duration_s(),
                    needed: p.patch_seconds(),
                }));
            }
            return Err(FileError::Silent {
                path: path.to_path_buf(),
            });
        }
        Ok(EncodedFile {
            offsets: clip.frames,
            vectors: clip.codes,
            recon_error: clip.recon_error,
            duration_s: Some(info.duration_s()),
            size: None,
            tags: info.tags,
            sketch: None,
            tint: None,
        })
    }

    /// Encodes a decoded picture: its code and reconstruction error.
    pub fn encode_image(&self, img: &DynamicImage) -> Result<(Vec<f32>, f32)> {
        let enc = self.encode_views(img, &[View::WHOLE])?;
        Ok((enc.codes, enc.recon_error.first().copied().unwrap_or(0.0)))
    }

    /// Encodes views of a decoded picture (parts of it, mirrored or not) in one pass: one
    /// code and reconstruction error per view, in order.
    pub fn encode_views(&self, img: &DynamicImage, views: &[View]) -> Result<Encoded> {
        Ok(self.views_with(self.model()?, img, views)?)
    }

    /// The views of a picture the index stores (see [`latentid_media::ImageParams::views`]):
    /// the whole picture first, then its parts; then all of them again standardised robustly
    /// when the index stores views twice ([`latentid_media::ImageParams::robust_views`]). A
    /// stored signature's offset is its view's index here.
    pub fn stored_views(&self) -> Vec<View> {
        let image = &self.features().image;
        image.standardised(&unmirrored(image.views()))
    }

    /// The views a picture query is cut into (as they are; a query adds their mirror
    /// images): the first of [`Index::stored_views`], without the stored-only parts.
    pub fn query_views(&self) -> Vec<View> {
        unmirrored(self.features().image.query_views())
    }

    fn views_with(
        &self,
        model: &Model,
        img: &DynamicImage,
        views: &[View],
    ) -> std::result::Result<Encoded, ModelError> {
        let mut enc = model.encode(&image_views(img, &self.features().image, views))?;
        enc.recon_error = relative_errors(&enc);
        Ok(enc)
    }

    /// Decodes and encodes one library file as the index stores it (audio: a signature
    /// every `index_hop_frames`). A panic anywhere inside is contained to this file.
    pub fn encode_file(&self, path: &Path) -> std::result::Result<EncodedFile, FileError> {
        let Ok(model) = self.model() else {
            return Err(FileError::NoModel {
                path: path.to_path_buf(),
                index: self.location().to_path_buf(),
            });
        };
        self.encode_file_with(model, path)
    }

    /// [`Index::encode_file`] with another model of this index's kind and features (a model
    /// trained without the file, to measure how unlike the rest of the library it is).
    pub fn encode_file_with(
        &self,
        model: &Model,
        path: &Path,
    ) -> std::result::Result<EncodedFile, FileError> {
        let model_err = |source| FileError::Model {
            path: path.to_path_buf(),
            source,
        };
        contain(path, || match self.kind() {
            ItemKind::Audio => self.encode_audio_file(model, path),
            ItemKind::Image => {
                let img = load_image(path)?;
                let views = self.stored_views();
                let enc = self.views_with(model, &img, &views).map_err(model_err)?;
                let (sketch, tint) = sketch_and_tint(&img);
                Ok(EncodedFile {
                    offsets: (0..views.len() as u32).collect(),
                    vectors: enc.codes,
                    // A picture's error is its whole view's, as a query's is.
                    recon_error: enc.recon_error.into_iter().take(1).collect(),
                    duration_s: None,
                    size: Some((img.width(), img.height())),
                    tags: Tags::default(),
                    sketch: Some(sketch),
                    tint: Some(tint),
                })
            }
        })
    }

    /// Stores a newly encoded file as an item, named "Artist – Title" (or the title) where
    /// its tags say so, after the file otherwise.
    pub fn add_file(
        &self,
        path: &Path,
        content_hash: &str,
        enc: &EncodedFile,
    ) -> std::result::Result<AddOutcome, FileError> {
        let name = enc.tags.display_name().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string())
        });
        let item = NewItem {
            path: path.to_path_buf(),
            name,
            content_hash: content_hash.to_string(),
            kind: self.kind(),
            duration_s: enc.duration_s,
            width: enc.size.map(|s| s.0),
            height: enc.size.map(|s| s.1),
            title: enc.tags.title.clone(),
            artist: enc.tags.artist.clone(),
            album: enc.tags.album.clone(),
            sketch: enc.sketch.clone().map(Sketch),
            tint: enc.tint.clone().map(Sketch),
        };
        let outcome = self
            .store()
            .add_item(item, &enc.offsets, &enc.vectors)
            .map_err(store_err(path))?;
        if let AddOutcome::Added(id) = outcome {
            self.store_reconstruction(id, path, enc)?;
        }
        Ok(outcome)
    }

    /// Replaces a stored item's signatures with a new encoding of its file.
    pub fn replace_file(
        &self,
        id: ItemId,
        path: &Path,
        enc: &EncodedFile,
    ) -> std::result::Result<(), FileError> {
        self.store()
            .replace_signatures(id, &enc.offsets, &enc.vectors)
            .map_err(store_err(path))?;
        self.store_reconstruction(id, path, enc)
    }

    /// Stores how well the model rebuilds a stored item's file (`latentid outliers` ranks
    /// by it): after [`Index::add_file`] and [`Index::replace_file`], and for items stored
    /// before it was kept.
    pub fn store_reconstruction(
        &self,
        id: ItemId,
        path: &Path,
        enc: &EncodedFile,
    ) -> std::result::Result<(), FileError> {
        self.store()
            .set_reconstruction(id, enc.reconstruction())
            .map_err(store_err(path))
    }
}

/// The variance below which a target is taken as flat: its error is not amplified further.
const FLAT_VAR: f32 = 1e-3;

/// Each input's reconstruction error as a share of its target's variance (1 − R²): what is
/// unlike the library is the structure the model cannot rebuild, not how much structure
/// there is. A flat spectrum (noise) or a flat picture has little to rebuild, so its raw
/// error is small although the model rebuilds none of it.
fn relative_errors(enc: &latentid_model::Encoded) -> Vec<f32> {
    enc.recon_error
        .iter()
        .zip(&enc.target_var)
        .map(|(e, v)| e / v.max(FLAT_VAR))
        .collect()
}

fn store_err(path: &Path) -> impl Fn(StoreError) -> FileError + '_ {
    move |source| FileError::Store {
        path: path.to_path_buf(),
        source,
    }
}

fn unmirrored(rects: Vec<[f32; 4]>) -> Vec<View> {
    rects
        .into_iter()
        .map(|rect| View {
            rect,
            mirrored: false,
            robust: false,
        })
        .collect()
}
