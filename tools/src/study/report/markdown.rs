//! report.md: one function per section, in the order they appear.
use super::*;

pub(super) fn coefficient(c: &diffusion::Coefficient) -> String {
    if c.significant {
        format!("{:.3e} +- {:.1e}", c.value, c.std)
    } else {
        match c.upper_bound_95 {
            Some(u) => format!("< {u:.2e} (95 %, not significant)"),
            None => "not significant".to_string(),
        }
    }
}

pub(super) fn basis(b: &Basis) -> String {
    let ps = if b.ps_each >= 10.0 {
        format!("{:.0}", b.ps_each)
    } else {
        format!("{:.2}", b.ps_each)
    };
    format!("{} run(s) x {} atoms x {ps} ps", b.runs, b.atoms)
}

pub(super) fn pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.3}", 100.0 * v)
    } else {
        "n/a".into()
    }
}

/// Which rules the T_C bracket rests on: the highest tetragonal and the lowest cubic run.
pub(super) fn tc_rests_on(s: &LatticeSection) -> String {
    let Some(res) = s.result.as_ref().filter(|x| x.T_C.is_some()) else {
        return "-".into();
    };
    let t_c = res.T_C.as_ref().unwrap().value;
    let side = |phase: lattice::Phase, below: bool| {
        res.runs
            .iter()
            .zip(&s.rules)
            .filter(|(x, _)| x.phase == phase && (x.temperature_K.value < t_c) == below)
            .map(|(x, rule)| format!("{} ({})", x.name, rule.rests_on.name()))
            .collect::<Vec<_>>()
    };
    let mut bracket = side(lattice::Phase::Tetragonal, true);
    bracket.extend(side(lattice::Phase::Cubic, false));
    bracket.join(", ")
}

pub(super) fn markdown(r: &StudyReport, study: &Study, out: &Path) -> String {
    let mut m = String::new();
    intro_md(&mut m, r, study);
    tc_md(&mut m, r);
    splitting_trend_md(&mut m, r);
    lattice_runs_md(&mut m, r, out);
    variants_md(&mut m, r, out);
    dihedral_md(&mut m, r, out);
    diffusion_md(&mut m, r, out);
    haven_md(&mut m, r, out);
    if !r.notes.is_empty() {
        let _ = writeln!(m, "## Notes\n");
        for n in &r.notes {
            let _ = writeln!(m, "- {n}");
        }
    }
    m
}

/// A figure's markdown only when it was drawn.
fn fig(out: &Path, name: &str, alt: &str) -> String {
    if out.join(format!("{name}.png")).exists() {
        format!("![{alt}]({name}.png)")
    } else {
        format!("({alt}: no figure, too few finished runs)")
    }
}

/// Title, what the numbers rest on, and the summary table.
fn intro_md(m: &mut String, r: &StudyReport, study: &Study) {
    let _ = writeln!(m, "# Study report ({} preset)\n", r.preset);
    let _ = writeln!(
        m,
        "{} of {} planned runs have finished. Model: `{}`; time step {} fs. Each number below names the runs it rests on; numbers from short runs or small cells are less converged than the paper's.\n",
        r.runs_finished,
        r.runs_planned,
        study.model.path.display(),
        study.timestep_fs
    );
    let _ = writeln!(
        m,
        "## Summary\n\n| quantity | value | from |\n|---|---|---|"
    );
    for [q, v, b] in headline(r) {
        let _ = writeln!(m, "| {q} | {v} | {b} |");
    }
    let _ = writeln!(m);
}

/// Section 1: T_C per composition, and the runs that would determine an undetermined one.
fn tc_md(m: &mut String, r: &StudyReport) {
    let _ = writeln!(
        m,
        "## 1. Temperature scans and T_C (NPT, fully flexible cell)\n"
    );
    let _ = writeln!(m, "Coarse grid, then a fine grid between the last tetragonal and the first cubic point, run from both end points; a temperature counts when both starts agree. Two rules give each run's phase: the paper's lattice rule (the time-averaged axis splitting with a block-average error) and the dihedral signature (the rms of the SbS4 pairs' long-time dihedral means, {:.0} deg and above tetragonal: the tetrahedra keep their pattern below T_C, average it out above). A run's phase is the one both give, or the one that decides when the other cannot tell; a contradiction decides nothing.\n", dihedral::signature::THRESHOLD_DEG);
    let _ = writeln!(
        m,
        "| composition | T_C (K) | rests on | runs used |\n|---|---|---|---|"
    );
    for s in &r.lattice {
        let tc = match s.result.as_ref().and_then(|x| x.T_C.as_ref()) {
            Some(t) => format!("{:.1} +- {:.1}", t.value, t.halfwidth),
            None => format!("not determined: {}", s.note.clone().unwrap_or_default()),
        };
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} |",
            s.composition.label(),
            tc,
            tc_rests_on(s),
            basis(&s.basis)
        );
    }
    for s in &r.lattice {
        if let Some(n) = &s.next_runs {
            let ts: Vec<String> = n
                .temperatures_K
                .iter()
                .map(|t| format!("{t:.0} K"))
                .collect();
            let cost = n
                .minutes_each
                .map_or("the speed probe could not run".to_string(), |m| {
                    format!(
                        "about {:.0} min each here, {:.0} min for all on one core",
                        m.ceil(),
                        (m * ts.len() as f64).ceil()
                    )
                });
            let _ = writeln!(
                m,
                "\nTo determine T_C of {}: {}; NPT at {} for {} ps in the same {}-atom cell ({cost}).",
                s.composition.label(),
                n.why,
                ts.join(", "),
                // 40 ps, 0.4 ps: no spurious decimals
                format!("{:.1}", n.ps).trim_end_matches(".0"),
                n.atoms
            );
        }
    }
}

/// The trend at each coarse temperature across compositions, decided or not.
fn splitting_trend_md(m: &mut String, r: &StudyReport) {
    let mut by_t: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, s) in r.lattice.iter().enumerate() {
        for x in s.result.iter().flat_map(|res| &res.runs) {
            let Some(t) = x
                .name
                .strip_prefix("scan/")
                .and_then(|n| n.rsplit('/').next())
            else {
                continue;
            };
            let row = by_t
                .entry(format!("{:>8}", t.trim_start_matches('T')))
                .or_insert_with(|| vec![String::new(); r.lattice.len()]);
            row[k] = format!(
                "{} +- {} % ({})",
                pct(x.splitting.value),
                pct(x.splitting.standard_error),
                x.phase.name()
            );
        }
    }
    if r.lattice.len() > 1 && !by_t.is_empty() {
        let names: Vec<String> = r.lattice.iter().map(|s| s.composition.label()).collect();
        let _ = writeln!(
            m,
            "\nAxis splitting s = (c - (a + b) / 2) / mean length of the coarse runs, side by side (0 in the cubic phase; the tetragonal cell starts near 2 %). Where the phase stays undetermined, the splitting still shows the trend with composition.\n\n| T (K) | {} |\n|---{}|",
            names.join(" | "),
            "|---".repeat(names.len())
        );
        for (t, row) in &by_t {
            let _ = writeln!(m, "| {} | {} |", t.trim(), row.join(" | "));
        }
    }
}

/// Every scan run of every composition: lattice, both rules, the phase and why.
fn lattice_runs_md(m: &mut String, r: &StudyReport, out: &Path) {
    for s in &r.lattice {
        if let Some(res) = &s.result {
            let label = s.composition.label();
            let _ = writeln!(
                m,
                "\n{}\n\n| T (K) | a (A) | b (A) | c (A) | splitting (%) | lattice rule | dihedral signature (deg, 95 %) | phase (rests on) | why | run |\n|---|---|---|---|---|---|---|---|---|---|",
                fig(out, &format!("lattice_{label}"), &format!("lattice {label}"))
            );
            for (x, rule) in res.runs.iter().zip(&s.rules) {
                let signature = match &rule.signature {
                    Some(sig) => match (sig.value_deg, sig.interval_deg) {
                        (Some(v), Some([lo, hi])) => {
                            format!("{v:.1} ({lo:.1} to {hi:.1}): {}", sig.phase.name())
                        }
                        _ => "run too short: undetermined".to_string(),
                    },
                    None => match &rule.trajectory_error {
                        Some(e) => format!("trajectory unreadable ({e})"),
                        None => "no trajectory".to_string(),
                    },
                };
                let _ = writeln!(
                    m,
                    "| {:.1} | {:.4} | {:.4} | {:.4} | {} +- {} | {} | {} | {} ({}) | {} | {} |",
                    x.temperature_K.value,
                    x.a_A.value,
                    x.b_A.value,
                    x.c_A.value,
                    pct(x.splitting.value),
                    pct(x.splitting.standard_error),
                    rule.lattice.name(),
                    signature,
                    x.phase.name(),
                    rule.rests_on.name(),
                    x.phase_reason,
                    x.name
                );
            }
        }
    }
}

/// Section 2: the composition variants and the vacancy effect.
fn variants_md(m: &mut String, r: &StudyReport, out: &Path) {
    let _ = writeln!(m, "\n{}\n", fig(out, "tc_vs_x", "T_C against x"));
    let _ = writeln!(m, "\n## 2. Composition variants\n\n{}\n\nW with vacancies, vacancies only, W only and pristine: the paper finds that the vacancies, not W, lower T_C. From this study's T_C (a difference counts where the brackets do not overlap):\n", fig(out, "variants", "c/a of the variants"));
    let effect = vacancy_effect(r);
    if effect.is_empty() {
        let _ = writeln!(m, "- no vacancy-only composition in this study\n");
    }
    for line in effect {
        let _ = writeln!(m, "- {line}");
    }
    let _ = writeln!(m);
}

/// Section 3: SbS4 dihedrals per run.
fn dihedral_md(m: &mut String, r: &StudyReport, out: &Path) {
    let _ = writeln!(m, "## 3. Local structure: SbS4 dihedrals along <111>\n");
    if r.dihedral.is_empty() {
        let _ = writeln!(m, "No dihedral run has finished.\n");
    }
    for d in &r.dihedral {
        if let Some(note) = &d.note {
            let _ = writeln!(m, "{}: {note}\n", d.run);
            continue;
        }
        let _ = writeln!(
            m,
            "{} ({:.0} K; {}): all dihedrals between consecutive tetrahedra along the four <111> directions (equivalent by symmetry; the paper's Fig. 4a shows [111]). Aligned tetrahedra (ideal cubic) give 0; the tetragonal phase gives one large and two small angles.\n\n| pair type | pairs | mean \\|dihedral\\| (deg) | spread (deg) | spread of 2 ps averages (deg) |\n|---|---|---|---|---|",
            d.run,
            d.temperature_K,
            basis(&d.basis)
        );
        for (name, t) in &d.pair_types {
            let _ = writeln!(
                m,
                "| {name} | {} | {:.1} | {:.1} | {:.1} |",
                t.pairs, t.mean_abs_deg, t.std_deg, t.window_average_std_deg
            );
        }
        if let (Some(p), Some(sig)) = (&d.pattern, &d.signature) {
            let _ = writeln!(
                m,
                "\nLong-time means per pair, sorted by size and averaged over the pairs: {:.1}, {:.1} and {:.1} deg (the window averages spread {:.1} deg about them). Phase from the dihedral signature: {} ({}).",
                p.sorted_abs_mean_deg[0],
                p.sorted_abs_mean_deg[1],
                p.sorted_abs_mean_deg[2],
                p.window_spread_deg,
                sig.phase.name(),
                sig.phase_reason
            );
        }
        let _ = writeln!(
            m,
            "\n{} long-lived excursion(s) (2 ps average more than 10 deg from the long-time mean for at least 4 ps) in the {} pair(s) followed.\n",
            d.excursions, d.pairs_followed
        );
        if d.basis.ps_each < 8.0 {
            let _ = writeln!(
                m,
                "This run ({:.1} ps) is too short to show long-lived excursions: they last 4 ps and more, so a run needs 8 ps at least to hold one and some more to tell it from the mean (the workstation preset runs 20 ps).\n",
                d.basis.ps_each
            );
        }
        if let Some(f) = &d.figure {
            let _ = writeln!(
                m,
                "![dihedrals]({}.png) (raw and 2 ps window averages of the first pair)\n",
                f.display()
            );
        }
    }
    if !r.dihedral.is_empty() {
        let _ = writeln!(
            m,
            "{} (every pair's three long-time means: around 0 in the cubic phase, at the tetragonal pattern's values below T_C)\n",
            fig(out, "dihedral_means", "distribution of the pairs' long-time dihedral means")
        );
    }
}

/// Section 4: tracer diffusion and Arrhenius fits per set.
fn diffusion_md(m: &mut String, r: &StudyReport, out: &Path) {
    let _ = writeln!(
        m,
        "## 4. Tracer diffusion (NVT at the NPT-averaged cell, then NVE)\n"
    );
    for d in &r.diffusion {
        let label = d.composition.label();
        let _ = writeln!(m, "### {label}\n\n| T (K) | lattice scale | D (cm^2/s) | D_c | D_ab | runs used |\n|---|---|---|---|---|---|");
        for p in &d.points {
            let dir = |n: &str| {
                p.analysis
                    .directions
                    .iter()
                    .find(|x| x.direction == n)
                    .map_or("-".to_string(), |x| coefficient(&x.d))
            };
            let _ = writeln!(
                m,
                "| {:.1} | {} | {} | {} | {} | {} |",
                p.temperature_K,
                p.lattice_scale,
                coefficient(&p.analysis.d),
                dir("c"),
                dir("ab"),
                basis(&p.basis)
            );
        }
        for (scale, f) in &d.arrhenius {
            match f {
                Some(f) => {
                    let _ = writeln!(
                        m,
                        "\nE_a (lattice x {scale}) = {:.3} +- {:.3} eV from {} temperatures",
                        f.Ea_eV.value,
                        f.Ea_eV.std,
                        f.points.len()
                    );
                }
                None => {
                    let _ = writeln!(
                        m,
                        "\nE_a (lattice x {scale}): not enough significant D values for a fit"
                    );
                }
            }
        }
        for (name, f) in [("c", &d.arrhenius_c), ("ab", &d.arrhenius_ab)] {
            if let Some(f) = f {
                let _ = writeln!(
                    m,
                    "\nE_a along {name} = {:.3} +- {:.3} eV",
                    f.Ea_eV.value, f.Ea_eV.std
                );
            }
        }
        let _ = writeln!(
            m,
            "\n{} {}\n",
            fig(
                out,
                &format!("arrhenius_{label}"),
                &format!("Arrhenius {label}")
            ),
            fig(
                out,
                &format!("anisotropy_{label}"),
                &format!("anisotropy {label}")
            )
        );
        for n in &d.notes {
            let _ = writeln!(m, "- {n}");
        }
    }
}

/// Section 5: charge diffusion and the Haven ratio.
fn haven_md(m: &mut String, r: &StudyReport, out: &Path) {
    let _ = writeln!(
        m,
        "\n## 5. Charge diffusion and Haven ratio (runs of a temperature pooled)\n"
    );
    if r.haven.is_empty() {
        let _ = writeln!(m, "No Haven run has finished.\n");
    } else {
        let _ = writeln!(
            m,
            "| T (K) | D (cm^2/s) | D_sigma (cm^2/s) | H_R | runs used |\n|---|---|---|---|---|"
        );
        for h in &r.haven {
            let _ = writeln!(
                m,
                "| {:.1} | {} | {} | {} | {} |",
                h.temperature_K,
                coefficient(&h.analysis.d),
                coefficient(&h.analysis.d_sigma),
                if h.analysis.haven_ratio.significant {
                    format!(
                        "{:.2} +- {:.2}",
                        h.analysis.haven_ratio.value, h.analysis.haven_ratio.std
                    )
                } else {
                    "not determined (D_sigma not significant)".into()
                },
                basis(&h.basis)
            );
        }
        let _ = writeln!(m, "\n{}\n", fig(out, "haven", "Haven ratio"));
    }
}
