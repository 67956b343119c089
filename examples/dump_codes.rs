//! Research tool (not part of the product): writes an audio index's stored signatures and the
//! codes of the WAV clips in a folder (cut as `latentid query` cuts them) as raw little-endian
//! f32 files, so decision statistics can be studied offline in numpy (benches/eval/decide.py).
//! The evaluation's phone-band clips are MP3 and are left out.
//!
//! cargo run --release --example dump_codes -- INDEX OUT_DIR QUERY_DIR
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use latentid_index::Index;
use latentid_query::QueryConfig;
use latentid_store::SearchParams;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (index, out, queries) = match &args[1..] {
        [a, b, c] => (PathBuf::from(a), PathBuf::from(b), PathBuf::from(c)),
        _ => anyhow::bail!("usage: dump_codes INDEX OUT_DIR QUERY_DIR"),
    };
    let index = Index::open(&index, SearchParams::default())?;
    std::fs::create_dir_all(&out)?;
    let mut vec_f = std::io::BufWriter::new(std::fs::File::create(out.join("stored.f32"))?);
    let mut meta = std::io::BufWriter::new(std::fs::File::create(out.join("stored.csv"))?);
    writeln!(meta, "item,offset")?;
    let mut names = std::fs::File::create(out.join("items.csv"))?;
    writeln!(names, "item,name")?;
    for item in index.store().items()? {
        let (offsets, vectors) = index.store().signatures(item.id)?;
        for o in &offsets {
            writeln!(meta, "{},{}", item.id, o)?;
        }
        for v in &vectors {
            vec_f.write_all(&v.to_le_bytes())?;
        }
        writeln!(
            names,
            "{},{}",
            item.id,
            item.path
                .file_name()
                .map(|n| n.to_string_lossy().replace(',', "_"))
                .unwrap_or_default()
        )?;
    }
    // The query hop (frames between a clip's patches): latentid's unless DUMP_QUERY_HOP says.
    let hop = match std::env::var("DUMP_QUERY_HOP") {
        Ok(v) => v.parse().context("DUMP_QUERY_HOP")?,
        Err(_) => QueryConfig::default().hop_frames,
    };
    let mut qf = std::io::BufWriter::new(std::fs::File::create(out.join("queries.f32"))?);
    let mut qm = std::io::BufWriter::new(std::fs::File::create(out.join("queries.csv"))?);
    writeln!(qm, "query,frame")?;
    let mut files: Vec<_> = std::fs::read_dir(&queries)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
        .collect();
    files.sort();
    for f in files {
        let audio = index
            .decode_audio(&f)
            .with_context(|| f.display().to_string())?;
        let clip = index.encode_clip(&audio.samples, hop)?;
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
        for fr in &clip.frames {
            writeln!(qm, "{},{}", name.as_deref().unwrap_or(""), fr)?;
        }
        for v in &clip.codes {
            qf.write_all(&v.to_le_bytes())?;
        }
    }
    println!("hop {}", index.features().index_hop_frames);
    Ok(())
}
