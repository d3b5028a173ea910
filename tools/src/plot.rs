//! Figures for papers: PNG (for a quick look) and SVG (for editing), same content. Text uses
//! DejaVu Sans compiled into the binary, so no system fonts are needed.
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

/// A set of points drawn as a line or markers, optionally with y error bars and a shaded band.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Legend text; empty: not in the legend.
    pub label: String,
    /// (x, y) in data units.
    pub points: Vec<(f64, f64)>,
    /// Draw a filled circle at each point.
    pub markers: bool,
    /// Join the points with a line.
    pub line: bool,
    /// One-sigma y errors, one per point.
    pub y_err: Option<Vec<f64>>,
    /// Shaded band (x, low, high).
    pub band: Option<Vec<(f64, f64, f64)>>,
    /// Palette index.
    pub color: usize,
    /// Drawn thin and pale (raw data under its average, say), in the series' own colour.
    pub faint: bool,
}

/// One plot: axes, series and annotations; [`Figure::save`] writes it.
#[derive(Clone, Debug, Default)]
pub struct Figure {
    /// Caption above the plot.
    pub title: String,
    /// x axis label, units included.
    pub x_label: String,
    /// y axis label, units included.
    pub y_label: String,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// The data, drawn in order.
    pub series: Vec<Series>,
    /// Vertical shaded bands (x low, x high, label), e.g. T_C +- half-width.
    pub x_bands: Vec<(f64, f64, String)>,
    /// Labelled vertical lines that replace the numeric x axis (band-structure paths).
    pub x_ticks: Vec<(f64, String)>,
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(100, 100, 100),
];

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            include_bytes!("../assets/fonts/DejaVuSans.ttf"),
        );
    });
}

fn range(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && (!log || *v > 0.0))
        .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
    if lo > hi {
        return (if log { 1.0 } else { 0.0 }, if log { 10.0 } else { 1.0 });
    }
    if log {
        (lo / 1.3, hi * 1.3)
    } else {
        // a single value (one temperature, say) gets 5 % of itself around it, not a sliver
        // whose ticks would need six decimals
        let pad = if hi - lo <= hi.abs() * 1e-9 {
            if hi == 0.0 {
                1.0
            } else {
                hi.abs() * 0.05
            }
        } else {
            ((hi - lo) * 0.06).max(hi.abs().max(1e-300) * 1e-6)
        };
        (lo - pad, hi + pad)
    }
}

/// Decimals a tick label needs on a linear axis over `lo..hi` (about ten ticks, steps of 1, 2 or
/// 5 times a power of ten): 7.20 and 7.25 keep two, 200 and 250 none.
fn tick_decimals(lo: f64, hi: f64) -> usize {
    let rough = (hi - lo).abs() / 10.0;
    if !(rough > 0.0 && rough.is_finite()) {
        return 2;
    }
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * power);
    (-step.log10()).ceil().max(0.0) as usize
}

/// A tick label: `decimals` fixed on a linear axis; on a log axis plain numbers between 0.001
/// and 10^4 and powers of ten beyond.
fn tick_label(v: f64, decimals: usize, log: bool) -> String {
    if log {
        let a = v.abs();
        if (1e-3..1e4).contains(&a) {
            let d = (-a.log10().floor()).max(0.0) as usize;
            return format!("{v:.d$}");
        }
        return format!("{v:.0e}");
    }
    // no "-0.00"
    let text = format!("{v:.decimals$}");
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_string()
    } else {
        text
    }
}

impl Figure {
    /// The corner of the plot whose quarter holds the fewest points, for the legend.
    fn legend_corner(&self, x0: f64, x1: f64, y0: f64, y1: f64) -> SeriesLabelPosition {
        let (xm, ym) = (0.5 * (x0 + x1), 0.5 * (y0 + y1));
        let count = |left: bool, upper: bool| {
            self.series
                .iter()
                .flat_map(|s| &s.points)
                .filter(|p| (p.0 < xm) == left && (p.1 > ym) == upper)
                .count()
        };
        [
            (SeriesLabelPosition::UpperLeft, count(true, true)),
            (SeriesLabelPosition::UpperRight, count(false, true)),
            (SeriesLabelPosition::LowerLeft, count(true, false)),
            (SeriesLabelPosition::LowerRight, count(false, false)),
        ]
        .into_iter()
        .min_by_key(|c| c.1)
        .map(|c| c.0)
        .unwrap()
    }

    fn x_range(&self) -> (f64, f64) {
        let xs = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .chain(self.x_bands.iter().flat_map(|b| [b.0, b.1]));
        range(xs, self.log_x)
    }

    fn y_range(&self) -> (f64, f64) {
        let ys = self.series.iter().flat_map(|s| {
            let err = s.y_err.clone().unwrap_or_default();
            let pts: Vec<f64> = s
                .points
                .iter()
                .enumerate()
                .flat_map(|(i, p)| {
                    let e = err.get(i).copied().unwrap_or(0.0);
                    [p.1 - e, p.1 + e]
                })
                .collect();
            let band: Vec<f64> = s.band.iter().flatten().flat_map(|b| [b.1, b.2]).collect();
            pts.into_iter().chain(band)
        });
        range(ys, self.log_y)
    }

    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
        root.fill(&WHITE).map_err(e)?;
        let (x0, x1) = self.x_range();
        let (y0, y1) = self.y_range();
        let (dx, dy) = (tick_decimals(x0, x1), tick_decimals(y0, y1));
        let x_fmt = |v: &f64| tick_label(*v, dx, self.log_x);
        let y_fmt = |v: &f64| tick_label(*v, dy, self.log_y);
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(&self.title, ("sans-serif", 22))
            .margin(18)
            .x_label_area_size(48)
            .y_label_area_size(78);
        // the chart's type differs with the axes' scales: the mesh is configured per type
        macro_rules! body {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_labels(if self.x_ticks.is_empty() { 10 } else { 0 })
                    .x_label_formatter(&x_fmt)
                    .y_label_formatter(&y_fmt)
                    .x_desc(&self.x_label)
                    .y_desc(&self.y_label)
                    .label_style(("sans-serif", 15))
                    .axis_desc_style(("sans-serif", 17))
                    .light_line_style(WHITE.mix(0.0))
                    .draw()
                    .map_err(e)?;
                self.draw_content(&mut chart, (x0, x1), (y0, y1))?;
            }};
        }
        match (self.log_x, self.log_y) {
            (false, false) => body!(builder.build_cartesian_2d(x0..x1, y0..y1).map_err(e)?),
            (true, false) => body!(builder
                .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                .map_err(e)?),
            (false, true) => body!(builder
                .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                .map_err(e)?),
            (true, true) => body!(builder
                .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                .map_err(e)?),
        }
        root.present().map_err(e)?;
        Ok(())
    }

    /// Draws the bands, path ticks, series and legend into a chart whose mesh is drawn; the
    /// axes span `x0..x1` and `y0..y1`.
    fn draw_content<'c, DB, CT>(
        &self,
        chart: &mut ChartContext<'c, DB, CT>,
        (x0, x1): (f64, f64),
        (y0, y1): (f64, f64),
    ) -> Result<(), String>
    where
        DB: DrawingBackend + 'c,
        DB::ErrorType: 'static,
        CT: CoordTranslate<From = (f64, f64)>,
    {
        let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
        for (lo, hi, label) in &self.x_bands {
            let c = PALETTE[5].mix(0.08);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(*lo, y0), (*hi, y1)],
                    c.filled(),
                )))
                .map_err(e)?
                .label(label.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], c.filled()));
        }
        for (x, label) in &self.x_ticks {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(*x, y0), (*x, y1)],
                    BLACK.mix(0.4).stroke_width(1),
                )))
                .map_err(e)?;
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((*x, y0))
                        + Text::new(label.clone(), (3, -20), ("sans-serif", 15)),
                ))
                .map_err(e)?;
        }
        for s in &self.series {
            draw_series(chart, s)?;
        }
        let labelled = !self.x_bands.is_empty() || self.series.iter().any(|s| !s.label.is_empty());
        if labelled {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.3))
                .label_font(("sans-serif", 14))
                .position(self.legend_corner(x0, x1, y0, y1))
                .draw()
                .map_err(e)?;
        }
        Ok(())
    }

    /// Writes PREFIX.png and PREFIX.svg (through temporary files and renames). The prefix is
    /// kept whole: `run.600K` gives `run.600K.png`, not `run.png`.
    pub fn save(&self, prefix: &Path) -> Result<(), PlotError> {
        register_font();
        let size = (900, 620);
        for ext in ["png", "svg"] {
            let path = with_suffix(prefix, ext);
            // the PNG encoder picks the format from the extension: keep it last
            let name = prefix
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let tmp = path.with_file_name(format!(".{name}.tmp{}.{ext}", std::process::id()));
            let result = if ext == "png" {
                self.draw(BitMapBackend::new(&tmp, size).into_drawing_area())
            } else {
                self.draw(SVGBackend::new(&tmp, size).into_drawing_area())
            };
            result.map_err(|what| {
                let _ = std::fs::remove_file(&tmp);
                PlotError::Draw {
                    path: path.clone(),
                    what,
                }
            })?;
            std::fs::rename(&tmp, &path).map_err(|source| PlotError::Write {
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

/// Draws one series: its band, error bars, line and markers, with its legend entry.
fn draw_series<'c, DB, CT>(chart: &mut ChartContext<'c, DB, CT>, s: &Series) -> Result<(), String>
where
    DB: DrawingBackend + 'c,
    DB::ErrorType: 'static,
    CT: CoordTranslate<From = (f64, f64)>,
{
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    let color = PALETTE[s.color % PALETTE.len()];
    if let Some(band) = &s.band {
        let upper: Vec<(f64, f64)> = band.iter().map(|b| (b.0, b.2)).collect();
        let lower: Vec<(f64, f64)> = band.iter().rev().map(|b| (b.0, b.1)).collect();
        let poly: Vec<(f64, f64)> = upper.into_iter().chain(lower).collect();
        chart
            .draw_series(std::iter::once(Polygon::new(poly, color.mix(0.2).filled())))
            .map_err(e)?;
    }
    if let Some(err) = &s.y_err {
        chart
            .draw_series(s.points.iter().zip(err).map(|(p, d)| {
                ErrorBar::new_vertical(p.0, p.1 - d, p.1, p.1 + d, color.stroke_width(1), 6)
            }))
            .map_err(e)?;
    }
    let mut legend_done = false;
    if s.line {
        let style = if s.faint {
            color.mix(0.3).stroke_width(1)
        } else {
            color.stroke_width(2)
        };
        let anno = chart
            .draw_series(LineSeries::new(s.points.iter().copied(), style))
            .map_err(e)?;
        if !s.label.is_empty() {
            anno.label(s.label.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
            legend_done = true;
        }
    }
    if s.markers {
        let anno = chart
            .draw_series(s.points.iter().map(|p| Circle::new(*p, 4, color.filled())))
            .map_err(e)?;
        if !s.label.is_empty() && !legend_done {
            anno.label(s.label.clone())
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
        }
    }
    Ok(())
}

/// A figure that could not be drawn (the plotting backend's message) or written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The backend failed to draw.
    #[error("cannot draw {path}: {what}")]
    Draw {
        /// The figure file.
        path: std::path::PathBuf,
        /// The backend's message.
        what: String,
    },
    /// The drawn figure could not be moved into place.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The figure file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// PREFIX.ext, with PREFIX's own dots kept (Path::with_extension would replace `.600K`).
pub fn with_suffix(prefix: &Path, ext: &str) -> std::path::PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    name.into()
}

/// PREFIX_what: the file prefix of one of a tool's several figures (`run.600K` + `band` gives
/// `run.600K_band`).
pub fn sub_prefix(prefix: &Path, what: &str) -> std::path::PathBuf {
    let name = prefix.file_name().unwrap_or_default().to_string_lossy();
    prefix.with_file_name(format!("{name}_{what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels carry the decimals their step needs, all alike: 7.20 next to 7.25, 200 not 200.0.
    #[test]
    fn tick_labels_without_spurious_decimals() {
        let d = tick_decimals(7.15, 7.40);
        assert_eq!(tick_label(7.2, d, false), "7.20");
        let d = tick_decimals(150.0, 650.0);
        assert_eq!(tick_label(200.0, d, false), "200");
        let d = tick_decimals(0.0, 0.15);
        assert_eq!(tick_label(0.14, d, false), "0.14");
        assert_eq!(tick_label(-0.0001, d, false), "0.00");
        assert_eq!(tick_label(1e-7, 0, true), "1e-7");
        assert_eq!(tick_label(0.02, 0, true), "0.02");
    }

    /// One point alone gets a range that its ticks can label plainly (700 K: 665 to 735).
    #[test]
    fn a_single_value_gets_a_plain_range() {
        let (lo, hi) = range([700.0].into_iter(), false);
        assert!(
            (lo - 665.0).abs() < 1e-9 && (hi - 735.0).abs() < 1e-9,
            "{lo} {hi}"
        );
        assert_eq!(tick_decimals(lo, hi), 0);
        assert_eq!(range([0.0].into_iter(), false), (-1.0, 1.0));
    }

    /// The legend goes to the emptiest quarter: here data fill the upper left.
    #[test]
    fn legend_avoids_the_data() {
        let fig = Figure {
            series: vec![Series {
                points: vec![(0.1, 0.9), (0.2, 0.8), (0.3, 0.95), (0.9, 0.1), (0.6, 0.7)],
                ..Series::default()
            }],
            ..Figure::default()
        };
        let corner = fig.legend_corner(0.0, 1.0, 0.0, 1.0);
        assert!(
            matches!(corner, SeriesLabelPosition::LowerLeft),
            "{corner:?}"
        );
    }
}
