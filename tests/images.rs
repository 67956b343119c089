//! Photo libraries: an altered copy finds its original; a stranger gets "no match".

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use latentid_media::{augment, load_image, DynamicImage};

use crate::util::*;

const IMAGE_TRAINING: &[&str] = &["--epochs", "6", "--train-examples", "300", "--seed", "1"];

/// fixtures/images without hubble.gif (kept out as the unrelated picture), indexed once.
fn image_index() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let lib = tmp.path().join("photos");
        std::fs::create_dir_all(&lib).unwrap();
        for f in fixture_files("images") {
            if !f.ends_with("hubble.gif") {
                std::fs::copy(&f, lib.join(f.file_name().unwrap())).unwrap();
            }
        }
        let index = tmp.path().join("index");
        let mut args = vec!["index", s(&lib), "--json"];
        args.extend_from_slice(IMAGE_TRAINING);
        let run = latentid(&index, &args);
        assert_eq!(run.code, 0, "{run}");
        let r = run.json();
        assert_eq!(r["kind"], "image", "{r:#}");
        assert_eq!(
            r["added"].as_array().unwrap().len(),
            fixture_files("images").len() - 1
        );
        (tmp, index, lib)
    })
}

fn own_copy(tmp: &Path) -> PathBuf {
    let dst = tmp.join("index");
    copy_dir(&image_index().1, &dst);
    dst
}

#[test]
fn an_altered_copy_finds_its_original() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_copy(tmp.path());
    let copy = fixtures().join("images-dup").join("astronaut-copy.jpg");
    let r = latentid(&index, &["query", s(&copy), "--json"]).json();
    let m = &r["match"];
    assert!(!m.is_null(), "no match for an altered copy\n{r:#}");
    assert!(
        m["path"].as_str().unwrap().ends_with("astronaut.png"),
        "{r:#}"
    );
    // Named by one of the calibrated rules: it is the nearest picture to the whole query,
    // within the calibrated distance or the calibrated share of the distance to the picture
    // ranked third (then no view is cut, and the answer carries no vote), or its views agree
    // on it (the view vote), or neither named one and its sketch is the likest of the first
    // candidates' and alike enough (the likeness check).
    let calib = latentid(&index, &["stats", "--json"]).json()["calibration"].clone();
    let limit = calib["distance"].as_f64().unwrap();
    let ratio = calib["distance_ratio"].as_f64().unwrap();
    let min_votes = calib["view_votes"].as_f64().unwrap();
    assert!(min_votes > 0.0, "{calib:#}");
    let votes = m["agreement"].as_f64();
    let d = m["distance"].as_f64().unwrap();
    let mut distances: Vec<f64> = r["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["distance"].as_f64())
        .collect();
    distances.sort_by(f64::total_cmp);
    assert_eq!(d, distances[0], "the original is not the nearest\n{r:#}");
    let by_distance = d <= limit || d <= ratio * distances[2];
    let min_likeness = calib["likeness"].as_f64().unwrap();
    assert!((0.5..1.0).contains(&min_likeness), "{calib:#}");
    let likeness = m["likeness"].as_f64();
    let named_by = match votes {
        None => by_distance,
        Some(v) => v >= min_votes || by_distance || likeness.is_some_and(|l| l >= min_likeness),
    };
    assert!(
        named_by,
        "votes {votes:?} under the calibrated {min_votes}, distance {d} beyond the calibrated \
         {limit} and {ratio} x {}, likeness {likeness:?} under {min_likeness}\n{r:#}",
        distances[2]
    );
    assert!(m.get("offset_s").is_none(), "images have no offset\n{r:#}");
}

/// Queries `copy` (saved as PNG in `tmp`) and checks it is named as `original`.
fn named_as(tmp: &Path, index: &Path, what: &str, copy: &DynamicImage, original: &str) {
    let path = tmp.join(format!("{what}.png"));
    copy.save(&path).unwrap();
    let r = latentid(index, &["query", s(&path), "--json"]).json();
    let m = &r["match"];
    assert!(
        !m.is_null(),
        "no match for a {what} copy of {original}\n{r:#}"
    );
    assert!(
        m["path"].as_str().unwrap().ends_with(original),
        "a {what} copy of {original} named as another picture\n{r:#}"
    );
}

#[test]
fn greyscale_mirrored_cropped_and_turned_copies_are_named_as_their_original() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_copy(tmp.path());
    let original = "astronaut.png";
    let img = load_image(&fixtures().join("images").join(original)).unwrap();
    named_as(
        tmp.path(),
        &index,
        "greyscale",
        &augment::greyscale(&img),
        original,
    );
    named_as(
        tmp.path(),
        &index,
        "mirrored",
        &augment::flip(&img),
        original,
    );
    // 85% of each side, centred: as far as a crop of that size gets from the stored parts
    // (85% windows in the corners); and 70%, off centre: its own windows find the stored
    // parts of 60% and 50%.
    let (w, h) = (img.width(), img.height());
    let cropped = img.crop_imm(w * 3 / 40, h * 3 / 40, w * 17 / 20, h * 17 / 20);
    named_as(tmp.path(), &index, "cropped", &cropped, original);
    let cropped = img.crop_imm(w / 5, h / 10, w * 7 / 10, h * 7 / 10);
    named_as(tmp.path(), &index, "cropped-70", &cropped, original);
    // Turned, with black corners: every part moves, but the parts still agree on where the
    // copy lies in the original (the view vote); turned 10°, the query turned back finds it.
    for degrees in [5.0, -10.0] {
        let turned = augment::rotate(&img, degrees);
        named_as(
            tmp.path(),
            &index,
            &format!("turned {degrees}"),
            &turned,
            original,
        );
    }
    // Darkened by a quarter of the range at 60% of the contrast (the dark parts clip to
    // black): the likeness check carries what the signatures leave short.
    named_as(
        tmp.path(),
        &index,
        "darkened",
        &augment::brightness_contrast(&img, -0.25, 0.6),
        original,
    );
    // A colourful picture too: greyscale moves it further than the grey-blue astronaut.
    let chelsea = load_image(&fixtures().join("images").join("chelsea.webp")).unwrap();
    named_as(
        tmp.path(),
        &index,
        "greyscale-chelsea",
        &augment::greyscale(&chelsea),
        "chelsea.webp",
    );
}

#[test]
fn a_picture_stored_four_times_over_is_named_for_its_copies() {
    // One photo saved again losslessly in other files (as an export or an edit of its
    // metadata does: the same pixels, other bytes). Their views lie on top of each other and
    // must count as one picture: sharing the view vote rather than cancelling it (each as near
    // as the other), and not the crowd the ratio test measures the nearest against.
    let tmp = tempfile::tempdir().unwrap();
    let index = own_copy(tmp.path());
    let original = "chelsea.webp";
    let img = load_image(&fixtures().join("images").join(original)).unwrap();
    let again = tmp.path().join("again");
    std::fs::create_dir_all(&again).unwrap();
    for name in [
        "chelsea-export.bmp",
        "chelsea-export.tiff",
        "chelsea-export.png",
    ] {
        img.to_rgb8().save(again.join(name)).unwrap();
    }
    let add = latentid(&index, &["index", s(&again), "--json"]);
    assert_eq!(add.code, 0, "{add}");
    assert_eq!(add.json()["added"].as_array().unwrap().len(), 3, "{add}");
    let (w, h) = (img.width(), img.height());
    for (what, copy) in [
        ("itself", img.clone()),
        (
            "cropped-70",
            img.crop_imm(w / 5, h / 10, w * 7 / 10, h * 7 / 10),
        ),
        ("turned 5", augment::rotate(&img, 5.0)),
        ("turned -10", augment::rotate(&img, -10.0)),
    ] {
        let path = tmp.path().join(format!("{what}.png"));
        copy.save(&path).unwrap();
        let r = latentid(&index, &["query", s(&path), "--json"]).json();
        let name = r["match"]["name"].as_str().unwrap_or("no match");
        assert!(
            name.starts_with("chelsea"),
            "a {what} copy of a picture stored four times named {name}\n{r:#}"
        );
    }
}

#[test]
fn colour_variants_of_one_picture_are_told_apart_by_their_colours() {
    // One photo printed warm and cool (as two paper textures in one colour each): the same
    // strokes, so the same sketch and signatures hardly apart. A copy of each, its colours
    // faded or blurred, is named as the one it was made from.
    let tmp = tempfile::tempdir().unwrap();
    let index = own_copy(tmp.path());
    let grey =
        augment::greyscale(&load_image(&fixtures().join("images").join("coffee.jpg")).unwrap());
    let prints = tmp.path().join("prints");
    std::fs::create_dir_all(&prints).unwrap();
    let warm = augment::colour_cast(&grey, [1.12, 1.0, 0.82]);
    let cool = augment::colour_cast(&grey, [0.82, 1.0, 1.12]);
    warm.to_rgb8().save(prints.join("coffee-warm.png")).unwrap();
    cool.to_rgb8().save(prints.join("coffee-cool.png")).unwrap();
    let add = latentid(&index, &["index", s(&prints), "--json"]);
    assert_eq!(add.code, 0, "{add}");
    for (print, name) in [(&warm, "coffee-warm.png"), (&cool, "coffee-cool.png")] {
        named_as(
            tmp.path(),
            &index,
            "faded",
            &augment::saturation(print, 0.5),
            name,
        );
        named_as(
            tmp.path(),
            &index,
            "blurred",
            &augment::blur(print, 1.5),
            name,
        );
    }
}

#[test]
fn an_unrelated_picture_gets_no_match() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_copy(tmp.path());
    let stranger = fixtures().join("images").join("hubble.gif");
    let r = latentid(&index, &["query", s(&stranger), "--json"]).json();
    assert!(
        r["match"].is_null(),
        "named a picture that is not in the library\n{r:#}"
    );
    assert!(
        !r["candidates"].as_array().unwrap().is_empty(),
        "candidates are still listed"
    );
}

#[test]
fn list_shows_each_picture_and_its_size_but_not_its_sketch() {
    let (_tmp, index, _lib) = image_index();
    let listed = latentid(index, &["list", "--json"]).json_lines();
    assert_eq!(listed.len(), fixture_files("images").len() - 1);
    for item in &listed {
        assert_eq!(item["kind"], "image", "{item:#}");
        assert!(item["width"].as_u64().unwrap() > 0, "{item:#}");
        // The sketch is the query's business: 2 KiB of hex per picture would drown the list.
        assert!(item.get("sketch").is_none(), "{item:#}");
        assert!(item.get("tint").is_none(), "{item:#}");
    }
}

#[test]
fn similar_lists_other_items_nearest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_copy(tmp.path());
    let lib = &image_index().2;
    let astronaut = std::fs::canonicalize(lib.join("astronaut.png")).unwrap();
    let run = latentid(&index, &["similar", s(&astronaut), "--top", "3", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let rows = run.json_lines();
    assert_eq!(rows.len(), 3, "{run}");
    let d: Vec<f64> = rows
        .iter()
        .map(|r| r["distance"].as_f64().unwrap())
        .collect();
    assert!(
        d.windows(2).all(|w| w[0] <= w[1]),
        "not nearest first: {d:?}"
    );
    assert!(rows
        .iter()
        .all(|r| r["path"].as_str().unwrap() != astronaut.to_str().unwrap()));
}

#[test]
fn duplicates_groups_exactly_the_planted_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_copy(tmp.path());
    // No near-duplicates in the fixture library itself.
    let run = latentid(&index, &["duplicates", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.json_lines().is_empty(),
        "groups in a library without duplicates\n{run}"
    );

    // Plant a cropped, re-compressed copy of astronaut (added with the index's own model).
    let copy = fixtures().join("images-dup").join("astronaut-copy.jpg");
    let add = latentid(&index, &["index", s(&copy)]);
    assert_eq!(add.code, 0, "{add}");
    let run = latentid(&index, &["duplicates", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let groups = run.json_lines();
    assert_eq!(groups.len(), 1, "exactly one group expected\n{run}");
    let mut names: Vec<&str> = groups[0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert!(m["id"].is_u64(), "{m}");
            m["name"].as_str().unwrap()
        })
        .collect();
    names.sort();
    assert_eq!(names, ["astronaut", "astronaut-copy"], "{run}");
    // Two members: their distance is the one link, within the calibrated distance.
    let limit = latentid(&index, &["stats", "--json"]).json()["calibration"]["distance"]
        .as_f64()
        .unwrap();
    let spread = groups[0]["max_distance"].as_f64().unwrap();
    assert!(
        spread > 0.0 && spread <= limit,
        "{spread} vs {limit}\n{run}"
    );
    assert_eq!(groups[0]["links"].as_array().unwrap().len(), 1, "{run}");

    let human = latentid(&index, &["duplicates"]);
    assert_eq!(human.code, 0, "{human}");
    assert!(human.stdout.contains("group 1: 2 items"), "{human}");
    assert!(human.stdout.contains("astronaut-copy.jpg"), "{human}");

    // The threshold decides: nothing is a duplicate at distance 0, everything at a huge one.
    let none = latentid(&index, &["duplicates", "--threshold", "0", "--json"]);
    assert!(none.json_lines().is_empty(), "{none}");
    let all = latentid(&index, &["duplicates", "--threshold", "1e9", "--json"]);
    let groups = all.json_lines();
    assert_eq!(groups.len(), 1, "{all}");
    assert_eq!(
        groups[0]["members"].as_array().unwrap().len(),
        fixture_files("images").len(),
        "every picture (hubble left out, the copy added) in one group\n{all}"
    );
}

/// A chart with a caption: white page, lines of glyph-like marks, axes and flat bars.
fn write_diagram(out: &Path) {
    let (w, h) = (320u32, 240u32);
    let mut img = latentid_media::DynamicImage::new_rgb8(w, h);
    let buf = img.as_mut_rgb8().unwrap();
    let mut set = |x: u32, y: u32, c: [u8; 3]| {
        if x < w && y < h {
            buf.get_pixel_mut(x, y).0 = c;
        }
    };
    let mut seed = 12345u32;
    let mut next = move || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        seed >> 16
    };
    for y in 0..h {
        for x in 0..w {
            set(x, y, [255, 255, 255]);
        }
    }
    // Text: rows of 5x9 glyphs.
    for line in 0..7 {
        let y0 = 8 + line * 15;
        for g in 0..45 {
            let x0 = 8 + g * 6 + (g / 6) * 4;
            for dy in 0..9 {
                for dx in 0..5 {
                    if next() % 100 < 45 {
                        set(x0 + dx, y0 + dy, [0, 0, 0]);
                    }
                }
            }
        }
    }
    // Axes and bars.
    for y in 120..230 {
        set(20, y, [0, 0, 0]);
        set(21, y, [0, 0, 0]);
    }
    for x in 20..310 {
        set(x, 229, [0, 0, 0]);
    }
    let colours = [[220, 40, 40], [40, 90, 220], [40, 170, 60], [240, 170, 0]];
    for b in 0..8u32 {
        let height = 20 + next() % 80;
        for x in 35 + b * 33..49 + b * 33 {
            for y in 229 - height..229 {
                set(x, y, colours[b as usize % 4]);
            }
        }
    }
    img.save(out).unwrap();
}

#[test]
fn a_planted_diagram_ranks_first_among_pictures() {
    let tmp = tempfile::tempdir().unwrap();
    let index = own_copy(tmp.path());
    let chart = tmp.path().join("chart.png");
    write_diagram(&chart);
    let add = latentid(&index, &["index", s(&chart)]);
    assert_eq!(add.code, 0, "{add}");
    let run = latentid(&index, &crate::outliers::outliers_args(&["--json"]));
    assert_eq!(run.code, 0, "{run}");
    let ranked = run.json_lines();
    assert_eq!(ranked.len(), fixture_files("images").len(), "{run}");
    assert_eq!(ranked[0]["name"], "chart", "{run}");
    assert!(ranked[0].get("worst_at_s").is_none(), "{run}");
    let human = latentid(&index, &crate::outliers::outliers_args(&["--top", "1"]));
    assert!(human.stdout.contains("chart"), "{human}");
    assert!(!human.stdout.contains("worst at"), "{human}");
}
