//! The energy from the edges' scalar features: Allegro's `edge_readout` (an MLP of
//! [x^0 .. x^L] to one energy per edge), `edge_eng_sum` (summed to the centre, times
//! 1/sqrt(avg_num_neighbors), divided by a constant) and `per_type_energy_scale_shift`.
use super::allegro_layer::avg_num_neighbors_norm;
use super::archive::{ArchiveError, LoadResult, Module};
use super::evaluate::{sized, Block, Edges};
use super::gemm::{whole, Operand};
use super::isa::Isa;
use super::mlp::{Mlp, MlpCache, OutBlock};
use super::network::per_type;
use super::real::Real;

#[derive(Clone, Debug)]
pub struct EdgeReadout<T> {
    pub mlp: Mlp<T>,
    /// 1/sqrt(avg_num_neighbors): one value or one per centre type.
    pub norm: Vec<T>,
    /// The factor the edge-energy sum is divided by (sqrt 2 in allegro 0.8).
    pub divisor: T,
    pub scale_shift: ScaleShift,
}

/// Per-type (or single) energy scale and shift, f64.
#[derive(Clone, Debug)]
pub struct ScaleShift {
    pub scales: Vec<f64>,
    pub shifts: Vec<f64>,
}

#[derive(Default)]
pub struct ReadoutBuffers<T> {
    cache: MlpCache<T>,
    /// Edge energies (forward), then dE/d(edge energy).
    eps: Vec<T>,
    /// dE/d(edge energy) of each centre.
    d_centre: Vec<T>,
}

impl ScaleShift {
    pub fn load(m: &Module, num_types: usize) -> LoadResult<ScaleShift> {
        m.expect_class(&["PerTypeScaleShift"])?;
        let read = |has: &str, buf: &str, shortcut: &str, neutral: f64| -> LoadResult<Vec<f64>> {
            if !m.bool(has)? {
                return Ok(vec![neutral]);
            }
            let t = m.tensor(buf)?;
            let single = m.bool(shortcut)?;
            match (single, t.data.len()) {
                (true, 1) => Ok(t.data.clone()),
                (false, n) if n == num_types => Ok(t.data.clone()),
                _ => Err(ArchiveError::layout(format!(
                    "{}: {buf} has {} values",
                    m.path,
                    t.data.len()
                ))),
            }
        };
        Ok(ScaleShift {
            scales: read("has_scales", "scales", "scales_shortcut", 1.0)?,
            shifts: read("has_shifts", "shifts", "shifts_shortcut", 0.0)?,
        })
    }

    /// The energy of an atom of type `t` without neighbours.
    pub fn shift(&self, t: usize) -> f64 {
        per_type(&self.shifts, t)
    }
}

impl<T: Real> EdgeReadout<T> {
    /// The three modules; `env_norm` is the Allegro module's normalisation (module and values),
    /// which the readout reuses when it has the same key (it does in allegro 0.8).
    pub fn load(
        func: &Module,
        env_norm: (&Module, &[T]),
        num_types: usize,
        code: &str,
    ) -> LoadResult<EdgeReadout<T>> {
        let mlp = Mlp::load(&func.child("edge_readout")?.child("mlp_module")?)?;
        if mlp.n_out() != 1 {
            return Err(ArchiveError::layout("edge readout sizes do not fit"));
        }
        let eng_sum = func.child("edge_eng_sum")?;
        if eng_sum.string("reduce")? != "sum" {
            return Err(ArchiveError::layout("edge energies are not summed"));
        }
        let norm_module = eng_sum.child("norm_module")?;
        let norm = if norm_module.string("norm_key")? == env_norm.0.string("norm_key")? {
            env_norm.1.to_vec()
        } else {
            avg_num_neighbors_norm(&norm_module, num_types)?
        };
        Ok(EdgeReadout {
            mlp,
            norm,
            divisor: T::from_f64(readout_divisor(code)?),
            scale_shift: ScaleShift::load(&func.child("per_type_energy_scale_shift")?, num_types)?,
        })
    }

    /// The energy of every centre (eV) from the scalar blocks [x^0 .. x^L] of its edges.
    #[inline(always)]
    pub fn forward(
        &self,
        isa: Isa,
        block: &Block,
        x: &[Operand<'_, T>],
        energy: &mut [f64],
        b: &mut ReadoutBuffers<T>,
    ) {
        let n = *block.offsets.last().unwrap_or(&0);
        sized(&mut b.eps, n);
        self.mlp.forward(isa, n, x, &mut b.eps, 1, &mut b.cache);
        b.d_centre.clear();
        for (c, &ti) in block.centre_types.iter().enumerate() {
            let mut sum = T::ZERO;
            for e in block.offsets[c]..block.offsets[c + 1] {
                sum += b.eps[e];
            }
            let norm = per_type(&self.norm, ti);
            let raw = sum * norm / self.divisor;
            let scale = per_type(&self.scale_shift.scales, ti);
            energy[c] = self.scale_shift.shift(ti) + scale * raw.to_f64();
            b.d_centre.push(T::from_f64(scale) * norm / self.divisor);
        }
    }

    /// dE/d(scalar blocks) into `dx` (written, one block of `dx` per block of the input).
    #[inline(always)]
    pub fn backward(
        &self,
        isa: Isa,
        edges: &Edges,
        b: &mut ReadoutBuffers<T>,
        dx: &mut [OutBlock<'_, T>],
    ) {
        for (eps, &c) in b.eps.iter_mut().zip(&edges.centre_of) {
            *eps = b.d_centre[c];
        }
        let n = edges.len();
        self.mlp
            .backward(isa, n, &whole(&b.eps, 1), dx, &mut b.cache);
    }
}

/// The constant the edge-energy sum is divided by, read from EdgewiseReduce's TorchScript code
/// (allegro 0.8 divides by sqrt(2); the value is a literal of the compiled code, not an attribute).
pub fn readout_divisor(code: &str) -> LoadResult<f64> {
    let layout = ArchiveError::layout;
    let start = code
        .find("class EdgewiseReduce")
        .ok_or_else(|| layout("no EdgewiseReduce code in the archive"))?;
    let body = &code[start..];
    let key = "torch.div(data0[\"node_features\"], ";
    let at = body.find(key).ok_or_else(|| {
        layout("EdgewiseReduce does not divide the node energies as allegro 0.8 does")
    })?;
    let rest = &body[at + key.len()..];
    let end = rest
        .find(')')
        .ok_or_else(|| layout("EdgewiseReduce code is cut"))?;
    rest[..end]
        .trim()
        .parse::<f64>()
        .map_err(|_| layout("EdgewiseReduce divides by something other than a number"))
}
