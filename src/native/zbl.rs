//! nequip's ZBL pair term (`pair_potential`): screened nuclear repulsion per edge, times its
//! own polynomial cutoff of the (per-edge-type) normalised length, added to the centre's
//! energy. Evaluated in f64 beside the network.
use super::archive::{ArchiveError, LoadResult, Module};
use super::evaluate::{Block, Edges};
use super::geometry::polynomial_cutoff;
use super::radial_embed::RadialChemicalEmbed;
use super::real::Real;

#[derive(Clone, Debug)]
pub struct Zbl {
    /// Atomic number per model type.
    pub atomic_numbers: Vec<f64>,
    /// e^2 / (4 pi eps0) in the model's units (eV A), halved for the two directed edges.
    pub qq: f64,
    pub cutoff_p: f64,
}

impl Zbl {
    pub fn load(m: &Module, num_types: usize) -> LoadResult<Zbl> {
        m.expect_class(&["ZBL"])?;
        m.child_of("_zbl", "_ZBL")?;
        let z = m.tensor("atomic_numbers")?;
        let qq = m.tensor("_qqr2exesquare")?;
        if z.data.len() != num_types || qq.data.len() != 1 {
            return Err(ArchiveError::layout(format!(
                "{}: atomic_numbers/_qqr2exesquare of unexpected size",
                m.path
            )));
        }
        let cutoff = m.child_of("cutoff", "PolynomialCutoff")?;
        Ok(Zbl {
            atomic_numbers: z.data.clone(),
            qq: qq.data[0],
            cutoff_p: cutoff.float("p")?,
        })
    }

    /// Energy of one directed edge and its derivative in r, for types (ti, tj) at distance r;
    /// `rmax_recip` normalises r for the cutoff. Constants of the universal ZBL screening.
    pub fn edge(&self, ti: usize, tj: usize, r: f64, rmax_recip: f64) -> (f64, f64) {
        let (zi, zj) = (self.atomic_numbers[ti], self.atomic_numbers[tj]);
        let k = (zi.powf(0.23) + zj.powf(0.23)) / 0.4685;
        let x = k * r;
        let terms = [
            (0.02817, -0.20162),
            (0.28022, -0.4029),
            (0.50986, -0.94229),
            (0.18175, -3.1998),
        ];
        let (mut psi, mut dpsi) = (0.0, 0.0);
        for (a, b) in terms {
            let t = a * (b * x).exp();
            psi += t;
            dpsi += t * b;
        }
        let (c, dc) = polynomial_cutoff(r * rmax_recip, self.cutoff_p);
        let pre = self.qq * zi * zj;
        let energy = pre / r * psi * c;
        let de_dr = pre * ((dpsi * k / r - psi / (r * r)) * c + psi / r * dc * rmax_recip);
        (energy, de_dr)
    }

    /// Adds every edge's energy to its centre and its gradient to `grad`.
    pub fn add<T: Real>(
        &self,
        radial: &RadialChemicalEmbed<T>,
        block: &Block,
        edges: &Edges,
        energy: &mut [f64],
        grad: &mut [[f64; 3]],
    ) {
        for (e, g) in grad.iter_mut().enumerate() {
            let c = edges.centre_of[e];
            let (ti, tj) = (block.centre_types[c], block.neighbour_types[e]);
            let (energy_e, de_dr) = self.edge(ti, tj, edges.r[e], radial.rmax_recip(ti, tj));
            energy[c] += energy_e;
            for k in 0..3 {
                g[k] += de_dr * edges.unit[e][k];
            }
        }
    }
}
