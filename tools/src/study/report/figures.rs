//! The report's figures: lattice parameters, T_C against x, the variants, Arrhenius and
//! anisotropy plots, the Haven ratio, the distribution of the dihedral means.
use super::*;

pub(super) fn lattice_figure(s: &LatticeSection) -> Option<Figure> {
    let r = s.result.as_ref()?;
    Some(lattice::figure(r, Some(&s.composition.label())))
}

pub(super) fn figures(r: &StudyReport, study: &Study, out: &Path) -> Result<()> {
    for s in &r.lattice {
        if let Some(f) = lattice_figure(s) {
            f.save(&out.join(format!("lattice_{}", s.composition.label())))?;
        }
    }
    tc_figure(r, out)?;
    variants_figure(r, study, out)?;
    for d in &r.diffusion {
        arrhenius_figure(d, out)?;
        anisotropy_figure(d, out)?;
    }
    haven_figure(r, out)
}

/// T_C against x (W with vacancies; pristine at x = 0).
fn tc_figure(r: &StudyReport, out: &Path) -> Result<()> {
    let tc: Vec<(f64, f64, f64)> = r
        .lattice
        .iter()
        .filter(|s| matches!(s.composition.variant, Variant::Pristine | Variant::WVac))
        .filter_map(|s| {
            let t = s.result.as_ref()?.T_C.as_ref()?;
            Some((s.composition.x, t.value, t.halfwidth))
        })
        .collect();
    if !tc.is_empty() {
        Figure {
            title: "T_C against W content (one Na vacancy per W)".into(),
            x_label: "x in Na(3-x)W(x)Sb(1-x)S4".into(),
            y_label: "T_C (K)".into(),
            series: vec![Series {
                label: "T_C +- half the tetragonal-to-cubic gap".into(),
                points: tc.iter().map(|p| (p.0, p.1)).collect(),
                y_err: Some(tc.iter().map(|p| p.2).collect()),
                markers: true,
                line: true,
                ..Series::default()
            }],
            ..Figure::default()
        }
        .save(&out.join("tc_vs_x"))?;
    }
    Ok(())
}

/// The four variants: c/a against T.
fn variants_figure(r: &StudyReport, study: &Study, out: &Path) -> Result<()> {
    let variant_series: Vec<Series> = r
        .lattice
        .iter()
        .filter(|s| {
            s.composition.variant != Variant::WVac
                || study
                    .scan
                    .compositions
                    .iter()
                    .any(|c| c.variant == Variant::Vac && c.x == s.composition.x)
        })
        .filter_map(|s| {
            let res = s.result.as_ref()?;
            Some(Series {
                label: s.composition.label(),
                points: res
                    .runs
                    .iter()
                    .map(|x| (x.temperature_K.value, x.c_over_a))
                    .collect(),
                markers: true,
                line: true,
                color: match s.composition.variant {
                    Variant::Pristine => 0,
                    Variant::WVac => 1,
                    Variant::Vac => 2,
                    Variant::W => 3,
                },
                ..Series::default()
            })
        })
        .collect();
    if variant_series.len() > 1 {
        Figure {
            title: "composition variants: c/a against T".into(),
            x_label: "T (K)".into(),
            y_label: "c/a".into(),
            series: variant_series,
            ..Figure::default()
        }
        .save(&out.join("variants"))?;
    }
    Ok(())
}

/// log10 D against 1000 / T per lattice scale, the band between the extreme scales' fits, and
/// the fit at the averaged cell.
fn arrhenius_figure(d: &DiffusionSection, out: &Path) -> Result<()> {
    let label = d.composition.label();
    let mut series = Vec::new();
    for (k, (scale, _)) in d.arrhenius.iter().enumerate() {
        let pts: Vec<&DiffusionPoint> = d
            .points
            .iter()
            .filter(|p| p.lattice_scale == *scale && p.analysis.d.significant)
            .collect();
        if pts.is_empty() {
            continue;
        }
        series.push(Series {
            label: if *scale == 1.0 {
                "D (averaged cell)".into()
            } else {
                format!("D, lattice x {scale}")
            },
            points: pts
                .iter()
                .map(|p| (1000.0 / p.temperature_K, p.analysis.d.value.log10()))
                .collect(),
            y_err: Some(
                pts.iter()
                    .map(|p| p.analysis.d.std / p.analysis.d.value / std::f64::consts::LN_10)
                    .collect(),
            ),
            markers: true,
            color: k,
            ..Series::default()
        });
    }
    // the +-1.5 % band: the fits at the extreme scales
    let fits: Vec<&ArrheniusFit> = d.arrhenius.iter().filter_map(|(_, f)| f.as_ref()).collect();
    if fits.len() > 1 {
        let xs: Vec<f64> = d.points.iter().map(|p| 1000.0 / p.temperature_K).collect();
        let (lo, hi) = xs
            .iter()
            .fold((f64::MAX, f64::MIN), |a, &x| (a.0.min(x), a.1.max(x)));
        let line = |f: &ArrheniusFit, x: f64| f.line(x).0 / std::f64::consts::LN_10;
        let band = (0..=20)
            .map(|k| {
                let x = lo + (hi - lo) * k as f64 / 20.0;
                let v: Vec<f64> = fits.iter().map(|f| line(f, x)).collect();
                (
                    x,
                    v.iter().cloned().fold(f64::MAX, f64::min),
                    v.iter().cloned().fold(f64::MIN, f64::max),
                )
            })
            .collect();
        series.push(Series {
            label: "lattice-parameter band".into(),
            band: Some(band),
            color: 5,
            ..Series::default()
        });
    }
    if let Some((_, Some(f))) = d.arrhenius.iter().find(|(s, _)| *s == 1.0) {
        let xs: Vec<f64> = f.points.iter().map(|p| 1000.0 / p.temperature_K).collect();
        series.push(Series {
            label: format!("fit: E_a = {:.3} +- {:.3} eV", f.Ea_eV.value, f.Ea_eV.std),
            points: xs
                .iter()
                .map(|&x| (x, f.line(x).0 / std::f64::consts::LN_10))
                .collect(),
            line: true,
            color: 1,
            ..Series::default()
        });
    }
    if !series.is_empty() {
        Figure {
            title: format!("{label}: tracer diffusion"),
            x_label: "1000 / T (1/K)".into(),
            y_label: "log10 D (cm^2/s)".into(),
            series,
            ..Figure::default()
        }
        .save(&out.join(format!("arrhenius_{label}")))?;
    }
    Ok(())
}

/// D along c and in the ab plane against T.
fn anisotropy_figure(d: &DiffusionSection, out: &Path) -> Result<()> {
    let label = d.composition.label();
    let dir_series: Vec<Series> = ["c", "ab"]
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let pts: Vec<(f64, f64, f64)> = along(&d.points, name)
                .map(|(p, x)| (p.temperature_K, x.d.value, x.d.std))
                .collect();
            Series {
                label: format!("D along {name}"),
                points: pts.iter().map(|p| (p.0, p.1)).collect(),
                y_err: Some(pts.iter().map(|p| p.2).collect()),
                markers: true,
                color: k,
                ..Series::default()
            }
        })
        .collect();
    if dir_series.iter().any(|s| !s.points.is_empty()) {
        Figure {
            title: format!("{label}: D along c and in the ab plane"),
            x_label: "T (K)".into(),
            y_label: "D (cm^2/s)".into(),
            series: dir_series,
            ..Figure::default()
        }
        .save(&out.join(format!("anisotropy_{label}")))?;
    }
    Ok(())
}

/// The Haven ratio against T.
fn haven_figure(r: &StudyReport, out: &Path) -> Result<()> {
    let hr: Vec<&HavenPoint> = r
        .haven
        .iter()
        .filter(|h| h.analysis.haven_ratio.significant)
        .collect();
    if !hr.is_empty() {
        Figure {
            title: "Haven ratio (runs of each temperature pooled)".into(),
            x_label: "T (K)".into(),
            y_label: "H_R = D / D_sigma".into(),
            series: vec![Series {
                label: "H_R".into(),
                points: hr
                    .iter()
                    .map(|h| (h.temperature_K, h.analysis.haven_ratio.value))
                    .collect(),
                y_err: Some(hr.iter().map(|h| h.analysis.haven_ratio.std).collect()),
                markers: true,
                ..Series::default()
            }],
            ..Figure::default()
        }
        .save(&out.join("haven"))?;
    }
    Ok(())
}

/// The points at the averaged cell (lattice scale 1) with their results along direction `name`.
pub(super) fn along<'a>(
    points: &'a [DiffusionPoint],
    name: &'a str,
) -> impl Iterator<Item = (&'a DiffusionPoint, &'a diffusion::Directional)> {
    points
        .iter()
        .filter(|p| p.lattice_scale == 1.0)
        .filter_map(move |p| {
            p.analysis
                .directions
                .iter()
                .find(|d| d.direction == name)
                .map(|d| (p, d))
        })
}

/// The distribution of the pairs' long-time dihedral means of every dihedral run, one line
/// each (the paper's Fig. 4b): centred on 0 in the cubic phase, split into the tetragonal
/// pattern's values below T_C.
pub(super) fn dihedral_histogram(sections: &[DihedralSection]) -> Figure {
    let series = sections
        .iter()
        .filter(|d| !d.pair_means.is_empty())
        .enumerate()
        .map(|(k, d)| Series {
            label: format!(
                "{} ({:.0} K, {})",
                short_name(&d.run),
                d.temperature_K,
                d.signature.as_ref().map_or("?", |s| s.phase.name())
            ),
            points: dihedral::mean_histogram(&d.pair_means, 1.0, 20.0),
            line: true,
            color: k,
            ..Series::default()
        })
        .collect();
    Figure {
        title: "long-time mean of each pair's dihedrals".into(),
        x_label: "long-time mean dihedral (deg)".into(),
        y_label: "fraction of means per deg".into(),
        series,
        ..Figure::default()
    }
}
