//! The sweep, drawn: accuracy and separation against latent size for the autoencoder and
//! PCA, and the library's 2-D signatures coloured by item with each item's centroid.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::{Encoder, Result, Row, Scatter, TuneError, TuneReport};

/// Compiled in, so labels render on a machine without fonts or fontconfig (see assets/).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans-subset.ttf");
const FAMILY: &str = "sans-serif";

fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a constant, checked by the tests: it cannot fail to parse.
        let _ = register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// Writes the plot as PNG or SVG, chosen by `path`'s extension.
pub fn write_plot(report: &TuneReport, path: &Path) -> Result<()> {
    register();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    let size = (1200, if report.scatter.is_empty() { 480 } else { 1000 });
    let fail = |reason: String| TuneError::Plot {
        path: path.to_path_buf(),
        reason,
    };
    match ext.as_deref() {
        Some("png") => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw(&root, report).map_err(|e| fail(e.to_string()))?;
            root.present().map_err(|e| fail(e.to_string()))
        }
        Some("svg") => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw(&root, report).map_err(|e| fail(e.to_string()))?;
            root.present().map_err(|e| fail(e.to_string()))
        }
        _ => Err(TuneError::PlotFormat {
            path: path.to_path_buf(),
        }),
    }
}

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, report: &TuneReport) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (_, h) = root.dim_in_pixel();
    let (top, bottom) = if report.scatter.is_empty() {
        (root.clone(), None)
    } else {
        let (t, b) = root.split_vertically(h / 2);
        (t, Some(b))
    };
    let panels = top.split_evenly((1, 2));
    accuracy(&panels[0], report)?;
    separation(&panels[1], report)?;
    if let Some(b) = bottom {
        let cells = b.split_evenly((1, report.scatter.len()));
        for (cell, sc) in cells.iter().zip(&report.scatter) {
            scatter(cell, sc)?;
        }
    }
    Ok(())
}

fn colour(e: Encoder) -> RGBColor {
    match e {
        Encoder::Ae => RGBColor(31, 119, 180),
        Encoder::Pca => RGBColor(214, 39, 40),
    }
}

/// Log-scaled latent-size axis covering the rows.
fn x_range(rows: &[Row]) -> (f64, f64, Vec<f64>) {
    let lo = rows.iter().map(|r| r.latent_dim).min().unwrap_or(2) as f64;
    let hi = rows.iter().map(|r| r.latent_dim).max().unwrap_or(2) as f64;
    let mut ticks: Vec<f64> = rows.iter().map(|r| r.latent_dim as f64).collect();
    ticks.dedup();
    (lo * 0.9, hi.max(lo + 1.0) * 1.1, ticks)
}

fn points(rows: &[Row], e: Encoder, f: impl Fn(&Row) -> Option<f32>) -> Vec<(f64, f64)> {
    rows.iter()
        .filter(|r| r.encoder == e)
        .filter_map(|r| f(r).map(|v| (r.latent_dim as f64, v as f64)))
        .collect()
}

fn accuracy<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    report: &TuneReport,
) -> DrawResult<DB> {
    let (lo, hi, ticks) = x_range(&report.rows);
    let mut chart = ChartBuilder::on(area)
        .caption(
            "Identification of distorted clips (5 s, pink noise 10 dB)",
            (FAMILY, 18),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((lo..hi).log_scale().with_key_points(ticks), 0f64..1.05f64)?;
    chart
        .configure_mesh()
        .x_desc("latent size")
        .y_desc("share of queries")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(BLACK.mix(0.03))
        .label_style((FAMILY, 13))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            vec![(lo, report.target as f64), (hi, report.target as f64)],
            BLACK.mix(0.4),
        ))?
        .label("target")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.4)));
    for e in [Encoder::Ae, Encoder::Pca] {
        let c = colour(e);
        let top1 = points(&report.rows, e, |r| Some(r.top1));
        chart
            .draw_series(LineSeries::new(top1.clone(), c.stroke_width(2)))?
            .label(format!("{} top-1", e.name()))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart.draw_series(top1.iter().map(|&p| Circle::new(p, 4, c.filled())))?;
        let fm = points(&report.rows, e, |r| r.false_match);
        chart
            .draw_series(LineSeries::new(fm.clone(), c.mix(0.5)))?
            .label(format!("{} false matches", e.name()))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.mix(0.5)));
        chart.draw_series(fm.iter().map(|&p| Cross::new(p, 4, c.mix(0.5))))?;
    }
    if let Some(d) = report.chosen {
        chart.draw_series(std::iter::once(TriangleMarker::new(
            (d as f64, report.target as f64),
            8,
            BLACK.filled(),
        )))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FAMILY, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}

fn separation<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    report: &TuneReport,
) -> DrawResult<DB> {
    let (lo, hi, ticks) = x_range(&report.rows);
    let max_ratio = report
        .rows
        .iter()
        .filter_map(|r| r.sig_ratio_median)
        .fold(1.0f32, f32::max) as f64
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption("Signature separation", (FAMILY, 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .right_y_label_area_size(50)
        .build_cartesian_2d(
            (lo..hi).log_scale().with_key_points(ticks.clone()),
            0f64..1.05f64,
        )?
        .set_secondary_coord((lo..hi).log_scale().with_key_points(ticks), 0f64..max_ratio);
    chart
        .configure_mesh()
        .x_desc("latent size")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(BLACK.mix(0.03))
        .y_desc("share: nearest stored signature is own (solid) / own item (triangles)")
        .label_style((FAMILY, 13))
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("median other-item / own distance (crosses)")
        .label_style((FAMILY, 13))
        .draw()?;
    for e in [Encoder::Ae, Encoder::Pca] {
        let c = colour(e);
        let nn = points(&report.rows, e, |r| r.sig_nn_own);
        chart
            .draw_series(LineSeries::new(nn.clone(), c.stroke_width(2)))?
            .label(format!("{} nearest is own", e.name()))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart.draw_series(nn.iter().map(|&p| Circle::new(p, 4, c.filled())))?;
        let item = points(&report.rows, e, |r| r.sig_nn_item);
        chart
            .draw_series(LineSeries::new(item.clone(), c.mix(0.8)))?
            .label(format!("{} nearest is own item", e.name()))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.mix(0.8)));
        chart.draw_series(
            item.iter()
                .map(|&p| TriangleMarker::new(p, 5, c.mix(0.8).filled())),
        )?;
        let ratio = points(&report.rows, e, |r| r.sig_ratio_median);
        chart
            .draw_secondary_series(LineSeries::new(ratio.clone(), c.mix(0.6)))?
            .label(format!("{} distance ratio", e.name()))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.mix(0.6)));
        chart.draw_secondary_series(ratio.iter().map(|&p| Cross::new(p, 4, c.mix(0.6))))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FAMILY, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}

fn scatter<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, sc: &Scatter) -> DrawResult<DB> {
    let all = sc.points.iter().chain(&sc.centroids);
    let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for p in all {
        x0 = x0.min(p[0]);
        x1 = x1.max(p[0]);
        y0 = y0.min(p[1]);
        y1 = y1.max(p[1]);
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (-1.0, 1.0, -1.0, 1.0);
    }
    let pad = |a: f32, b: f32| ((b - a) * 0.05).max(1e-3);
    let (px, py) = (pad(x0, x1), pad(y0, y1));
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "{} at latent size 2: {} items, {} signatures shown, x = centroid",
                sc.encoder.name(),
                sc.items.len(),
                sc.points.len()
            ),
            (FAMILY, 16),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(
            (x0 - px) as f64..(x1 + px) as f64,
            (y0 - py) as f64..(y1 + py) as f64,
        )?;
    chart
        .configure_mesh()
        .x_desc("signature[0]")
        .y_desc("signature[1]")
        .light_line_style(BLACK.mix(0.03))
        .label_style((FAMILY, 12))
        .draw()?;
    let n = sc.items.len().max(1);
    let hue = |k: usize| HSLColor(k as f64 / n as f64, 0.75, 0.45);
    chart.draw_series(
        sc.points
            .iter()
            .zip(&sc.item)
            .map(|(p, &k)| Circle::new((p[0] as f64, p[1] as f64), 2, hue(k).mix(0.55).filled())),
    )?;
    chart.draw_series(
        sc.centroids
            .iter()
            .enumerate()
            .map(|(k, c)| Cross::new((c[0] as f64, c[1] as f64), 7, hue(k).stroke_width(3))),
    )?;
    chart.draw_series(
        sc.centroids
            .iter()
            .map(|c| Cross::new((c[0] as f64, c[1] as f64), 8, BLACK.stroke_width(1))),
    )?;
    // Names only while they stay readable.
    if sc.items.len() <= 12 {
        chart.draw_series(sc.centroids.iter().zip(&sc.items).map(|(c, name)| {
            Text::new(
                name.clone(),
                (c[0] as f64, c[1] as f64),
                (FAMILY, 12).into_font().color(&BLACK),
            )
        }))?;
    }
    Ok(())
}
