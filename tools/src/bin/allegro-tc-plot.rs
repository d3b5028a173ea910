//! allegro-tc-plot: T_C against composition from allegro-lattice results.
use std::path::PathBuf;

use allegro_tools::cli;
use allegro_tools::lattice::LatticeResult;
use allegro_tools::plot::{Figure, Series};
use anyhow::Context;
use clap::Parser;

/// Collects T_C (with its half-width) from allegro-lattice JSON files, one per composition,
/// prints a table and draws T_C against x. Inputs are X=FILE.json, e.g. 0.05=lattice_x005.json;
/// several --label groups (e.g. W + vacancies, vacancies only) are drawn as separate series.
#[derive(Parser)]
#[command(
    version,
    long_about,
    allow_negative_numbers = true,
    after_long_help = "Examples:\n  allegro-tc-plot --plot tc 0.0=lat0.json 0.05=lat5.json 0.1=lat10.json\n"
)]
struct Args {
    /// Name of the composition variable on the x axis
    #[arg(long, default_value = "x")]
    x_label: String,
    /// Output prefix for PNG and SVG
    #[arg(long)]
    plot: PathBuf,
    /// Series: LABEL:X=FILE,X=FILE,... (repeatable), or plain X=FILE arguments
    #[arg(long)]
    series: Vec<String>,
    /// X=FILE.json inputs of the default series
    inputs: Vec<String>,
}

fn points(spec: &[String]) -> anyhow::Result<Vec<(f64, f64, f64)>> {
    let mut out = Vec::new();
    for item in spec {
        let (x, path) = item
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("expected X=FILE.json, found '{item}'"))?;
        let x: f64 = x
            .parse()
            .with_context(|| format!("'{x}' is not a number"))?;
        let bytes = std::fs::read(path).with_context(|| path.to_owned())?;
        let _: serde_json::Value =
            serde_json::from_slice(&bytes).with_context(|| format!("{path}: not JSON"))?;
        let file: LatticeResult = serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{path}: not an allegro-lattice result ({e})"))?;
        let Some(t) = file.T_C else {
            anyhow::bail!("{path}: T_C was not determined for this composition");
        };
        out.push((x, t.value, t.halfwidth));
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    for w in out.windows(2).filter(|w| w[0].0 == w[1].0) {
        eprintln!(
            "note: x = {} appears twice (T_C {} and {} K): both are drawn",
            w[0].0, w[0].1, w[1].1
        );
    }
    Ok(out)
}

fn main() {
    cli::run(|| {
        let args = Args::parse();
        cli::check_outputs(cli::plot_files(&args.plot))?;
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        if !args.inputs.is_empty() {
            groups.push((String::new(), args.inputs.clone()));
        }
        for s in &args.series {
            let (label, rest) = s
                .split_once(':')
                .ok_or_else(|| anyhow::anyhow!("--series: expected LABEL:X=FILE,..."))?;
            groups.push((
                label.to_owned(),
                rest.split(',').map(str::to_owned).collect(),
            ));
        }
        anyhow::ensure!(
            !groups.is_empty(),
            "no inputs: give X=FILE.json arguments or --series"
        );
        let mut fig = Figure {
            title: "transition temperature".into(),
            x_label: args.x_label.clone(),
            y_label: "T_C (K)".into(),
            ..Figure::default()
        };
        // every input read before anything is printed
        let all: Vec<_> = groups
            .iter()
            .map(|(_, items)| points(items))
            .collect::<anyhow::Result<_>>()?;
        println!(
            "{:<20} {:>8} {:>10} {:>8}",
            "series", args.x_label, "T_C (K)", "± (K)"
        );
        for (k, ((label, _), pts)) in groups.iter().zip(&all).enumerate() {
            for p in pts {
                println!("{:<20} {:>8.4} {:>10.1} {:>8.1}", label, p.0, p.1, p.2);
            }
            fig.series.push(Series {
                label: label.clone(),
                points: pts.iter().map(|p| (p.0, p.1)).collect(),
                y_err: Some(pts.iter().map(|p| p.2).collect()),
                markers: true,
                line: true,
                color: k,
                ..Series::default()
            });
        }
        fig.save(&args.plot)?;
        Ok(())
    });
}
