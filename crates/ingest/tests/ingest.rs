//! Ingest stages on the fixture library, against an index held in memory (no sled).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use latentid_index::{FileError, Index, NewIndex};
use latentid_ingest::{ingest_into, IngestConfig, IngestError, NoProgress};
use latentid_media::{FeatureParams, MediaError};
use latentid_model::TrainConfig;
use latentid_store::ItemKind;

fn fixtures(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(dir)
}

fn memory_index(kind: ItemKind) -> Index {
    Index::in_memory(&NewIndex {
        kind,
        latent_dim: 8,
        features: FeatureParams::default(),
    })
    .unwrap()
}

/// A few seconds of training: these tests check what ingest does, not how well it learns.
fn tiny() -> IngestConfig {
    IngestConfig {
        train: TrainConfig::tiny(),
        ..IngestConfig::default()
    }
}

#[test]
fn a_first_ingest_trains_the_encoder_and_stores_every_track() {
    let mut index = memory_index(ItemKind::Audio);
    assert!(!index.has_model());
    let r = ingest_into(&mut index, &[fixtures("audio")], &tiny(), &NoProgress).unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.added.len(), 6);
    let trained = r.trained.as_ref().expect("the first ingest trains");
    assert!(trained.epochs >= 1 && trained.examples > 0);
    assert!(index.has_model());
    assert_eq!(index.latent_dim(), 8);
    // 20 s excerpts, a signature every 8 frames of 32 ms: about 75 per track.
    for item in index.store().items().unwrap() {
        assert!((60..=80).contains(&item.signatures), "{item:?}");
        assert!((item.duration_s.unwrap() - 20.0).abs() < 0.1, "{item:?}");
    }
    assert!((r.audio_seconds - 120.0).abs() < 1.0);
    // A model and new signatures: the old (absent) calibration no longer holds.
    assert!(index.needs_calibration());
    // Measured now (any thresholds do here): it holds, stamped with today's vote rule; one
    // measured under an older rule would not (see `Calibration::rule`).
    index
        .set_calibration(latentid_index::Calibration::default())
        .unwrap();
    assert!(!index.needs_calibration());
    assert_eq!(index.calibration().rule, latentid_index::VOTE_RULE);
}

#[test]
fn a_second_ingest_reuses_the_model_and_skips_what_is_stored() {
    let mut index = memory_index(ItemKind::Audio);
    let lib = fixtures("audio");
    let one = lib.join("battle.ogg");
    ingest_into(&mut index, std::slice::from_ref(&one), &tiny(), &NoProgress).unwrap();
    let model = index.store().manifest().model_hash;
    let r = ingest_into(&mut index, &[lib], &tiny(), &NoProgress).unwrap();
    assert!(r.trained.is_none(), "the model is reused");
    assert_eq!(index.store().manifest().model_hash, model);
    assert_eq!(r.added.len(), 5);
    assert_eq!(r.duplicates.len(), 1);
    assert_eq!(r.duplicates[0].existing, Some(0));
}

#[test]
fn retrain_re_encodes_every_stored_item() {
    let mut index = memory_index(ItemKind::Audio);
    let lib = fixtures("audio");
    ingest_into(&mut index, std::slice::from_ref(&lib), &tiny(), &NoProgress).unwrap();
    let before = index.store().manifest().model_hash;
    let cfg = IngestConfig {
        retrain: true,
        latent_dim: Some(4),
        train: TrainConfig {
            seed: 9,
            ..TrainConfig::tiny()
        },
        ..IngestConfig::default()
    };
    let r = ingest_into(&mut index, &[lib], &cfg, &NoProgress).unwrap();
    assert_eq!(r.reencoded, 6);
    assert!(r.added.is_empty());
    assert_ne!(index.store().manifest().model_hash, before);
    assert_eq!(index.latent_dim(), 4);
    let (offsets, vectors) = index.store().signatures(0).unwrap();
    assert_eq!(vectors.len(), offsets.len() * 4);
}

#[test]
fn every_broken_file_fails_alone_with_its_own_reason() {
    let mut index = memory_index(ItemKind::Audio);
    let paths = [fixtures("broken"), fixtures("audio").join("knolls.flac")];
    let r = ingest_into(&mut index, &paths, &tiny(), &NoProgress).unwrap();
    assert_eq!(r.added.len(), 1, "the good file is indexed");
    let reason = |name: &str| -> &FileError {
        &r.failed
            .iter()
            .find(|f| f.path.ends_with(name))
            .unwrap_or_else(|| panic!("{name} not reported: {:?}", r.failed))
            .error
    };
    assert!(matches!(
        reason("empty.mp3"),
        FileError::Media(MediaError::Empty { .. })
    ));
    assert!(matches!(
        reason("notes.mp3"),
        FileError::Media(MediaError::NotMedia { .. })
    ));
    assert!(matches!(
        reason("silence.wav"),
        FileError::Media(MediaError::Silent { .. })
    ));
    assert!(matches!(
        reason("too-short.wav"),
        FileError::Media(MediaError::TooShort { .. })
    ));
    assert!(matches!(
        reason("unsupported-opus.ogg"),
        FileError::Media(MediaError::UnsupportedCodec { .. })
    ));
    assert!(matches!(reason("truncated.ogg"), FileError::Media(_)));
    for f in &r.failed {
        assert!(f.to_string().contains(&*f.path.to_string_lossy()), "{f}");
    }
    // Pictures in an audio index are skipped, not failures.
    assert_eq!(r.skipped.len(), 2);
}

#[test]
fn an_index_holds_one_kind() {
    let mut index = memory_index(ItemKind::Image);
    let r = ingest_into(&mut index, &[fixtures("audio")], &tiny(), &NoProgress).unwrap();
    assert!(r.added.is_empty());
    assert_eq!(
        r.skipped.len(),
        6,
        "audio files are skipped by an image index"
    );
    assert!(!index.has_model(), "nothing to learn from, nothing trained");
    let missing = ingest_into(
        &mut index,
        &[fixtures("no-such-folder")],
        &tiny(),
        &NoProgress,
    );
    assert!(matches!(missing, Err(IngestError::Missing { .. })));
}
