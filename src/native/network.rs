//! The Allegro network of a nequip-allegro 0.8.x model, built from the archive's module tree:
//! every size, weight, Wigner-3j table, alpha and flag is read from the file.
use super::archive::{LoadError, LoadResult, Module};
use super::geometry::MAX_L;
use super::isa::Isa;
use super::mlp::{Linear, Mlp};
use super::pickle::{Tensor, Value};
use super::real::Real;

/// One tensor product of the Allegro layers ("Contracter"), without channel mixing:
/// `out[k][u] = sum over couplings (i, j, k) of x1[i][u] * x2[j][u] * weight[coupling][u]`.
#[derive(Clone, Debug)]
pub struct TensorProduct<T> {
    pub mul: usize,
    pub d1: usize,
    pub d2: usize,
    pub dout: usize,
    /// Non-zero couplings (i, j, k) of the Wigner-3j tables.
    pub couplings: Vec<[usize; 3]>,
    /// `mul` weights per coupling (path weights times Wigner-3j), coupling-major.
    pub weights: Vec<T>,
    /// Leading scalar components of the output per channel.
    pub n_scalar_out: usize,
    /// The couplings (and their weights) ordered by output component, stably, with the run of
    /// each component: the forward pass sums one output in registers.
    pub by_output: Vec<[usize; 3]>,
    pub weights_by_output: Vec<T>,
    pub output_runs: Vec<std::ops::Range<usize>>,
    /// Runs of `couplings` with the same first input (they are ordered so): the backward pass
    /// sums one input gradient in registers.
    pub input_runs: Vec<std::ops::Range<usize>>,
}

impl<T: Real> TensorProduct<T> {
    /// A tensor product of `mul` channels, component counts `[d1, d2, dout]`, the non-zero
    /// couplings in input-major order and `mul` weights per coupling.
    pub fn new(
        mul: usize,
        [d1, d2, dout]: [usize; 3],
        couplings: Vec<[usize; 3]>,
        weights: Vec<T>,
        n_scalar_out: usize,
    ) -> TensorProduct<T> {
        let mut order: Vec<usize> = (0..couplings.len()).collect();
        order.sort_by_key(|&c| couplings[c][2]);
        let by_output: Vec<[usize; 3]> = order.iter().map(|&c| couplings[c]).collect();
        let weights_by_output = order
            .iter()
            .flat_map(|&c| weights[c * mul..(c + 1) * mul].iter().copied())
            .collect();
        let runs = |key: &dyn Fn(usize) -> usize, n: usize| {
            let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
            for c in 0..n {
                match runs.last_mut() {
                    Some(r) if key(r.start) == key(c) => r.end = c + 1,
                    _ => runs.push(c..c + 1),
                }
            }
            runs
        };
        let output_runs = runs(&|c| by_output[c][2], by_output.len());
        let input_runs = runs(&|c| couplings[c][0], couplings.len());
        TensorProduct {
            mul,
            d1,
            d2,
            dout,
            couplings,
            weights,
            n_scalar_out,
            by_output,
            weights_by_output,
            output_runs,
            input_runs,
        }
    }
}

/// MakeWeightedChannels: multiplies spherical-harmonic component m by a per-edge weight, one
/// per (channel, irrep) (`individual`) or one per channel times a constant `alpha`.
#[derive(Clone, Debug)]
pub struct Weighter<T> {
    pub individual: bool,
    pub alpha: T,
    /// Weights per edge: channels x irreps, or channels.
    pub width: usize,
    /// Channels.
    pub mul: usize,
}

impl<T: Real> Weighter<T> {
    /// Offset of the channel weights of irrep `irrep`. The linear layers producing individual
    /// weights have their columns reordered at load from nequip's [channel][irrep] to
    /// [irrep][channel], so that the channels of one irrep are contiguous.
    #[inline(always)]
    pub fn offset(&self, irrep: usize) -> usize {
        if self.individual {
            irrep * self.mul
        } else {
            0
        }
    }

    /// Column order [irrep][channel] as a permutation of nequip's [channel][irrep].
    fn irrep_major(&self) -> Option<Vec<usize>> {
        let n_irreps = self.width / self.mul;
        self.individual.then(|| {
            (0..self.width)
                .map(|p| (p % self.mul) * n_irreps + p / self.mul)
                .collect()
        })
    }
}

/// nequip's ZBL pair term: screened nuclear repulsion per edge, times its own polynomial
/// cutoff of the (per-edge-type) normalised length, added to the centre's energy.
#[derive(Clone, Debug)]
pub struct Zbl {
    /// Atomic number per model type.
    pub atomic_numbers: Vec<f64>,
    /// e^2 / (4 pi eps0) in the model's units (eV A), halved for the two directed edges.
    pub qq: f64,
    pub cutoff_p: f64,
}

impl Zbl {
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
        let (c, dc) = super::geometry::polynomial_cutoff(r * rmax_recip, self.cutoff_p);
        let pre = self.qq * zi * zj;
        let energy = pre / r * psi * c;
        let de_dr = pre * ((dpsi * k / r - psi / (r * r)) * c + psi / r * dc * rmax_recip);
        (energy, de_dr)
    }
}

#[derive(Clone, Debug)]
pub struct Layer<T> {
    pub tp: TensorProduct<T>,
    pub mlp: Mlp<T>,
}

/// A loaded Allegro network in the float type `T` of its weights.
#[derive(Clone, Debug)]
pub struct Network<T> {
    /// The instruction set its kernels run with.
    pub isa: Isa,
    pub num_types: usize,
    /// 1 / cutoff, one value or one per (centre type, neighbour type).
    pub rmax_recip: Vec<f64>,
    pub bessel_weights: Vec<f64>,
    /// The Bessel weights are exactly 1, 2, .., B (nequip's default, not trained).
    pub bessel_integer: bool,
    pub cutoff_p: f64,
    /// Type embeddings (num_types x half), centre half first in the edge embedding.
    pub center_embed: Vec<T>,
    pub neighbor_embed: Vec<T>,
    pub half: usize,
    pub basis: Linear<T>,
    pub scalar_mlp: Mlp<T>,
    pub l_max: usize,
    /// For every spherical-harmonic component, the index of its irrep (degree).
    pub irrep_of: Vec<usize>,
    /// Weighting of the initial tensor features and of the layers' environment sums.
    pub embed_weighter: Weighter<T>,
    pub env_weighter: Weighter<T>,
    pub env_embed: Linear<T>,
    pub proj: Linear<T>,
    pub num_scalar: usize,
    pub num_tensor: usize,
    /// 1/sqrt(avg_num_neighbors): one value or one per centre type.
    pub env_norm: Vec<T>,
    pub readout_norm: Vec<T>,
    /// The factor the edge-energy sum is divided by (sqrt 2 in allegro 0.8).
    pub readout_divisor: T,
    pub layers: Vec<Layer<T>>,
    pub readout: Mlp<T>,
    /// Per-type (or single) energy scale and shift, f64.
    pub scales: Vec<f64>,
    pub shifts: Vec<f64>,
    pub zbl: Option<Zbl>,
}

fn layout(what: impl Into<String>) -> LoadError {
    LoadError::Layout(what.into())
}

fn cast<T: Real>(t: &Tensor) -> Vec<T> {
    t.data.iter().map(|&x| T::from_f64(x)).collect()
}

/// A ScalarMLPFunction: Sequential of ScalarLinearLayer, SiLU, ..., ScalarLinearLayer.
fn read_mlp<T: Real>(m: &Module) -> LoadResult<Mlp<T>> {
    m.expect_class(&["ScalarMLPFunction"])?;
    let seq = m.child_of("mlp", "Sequential")?;
    let children = seq.numbered_children()?;
    let mut layers = Vec::new();
    for (k, child) in children.iter().enumerate() {
        if k % 2 == 1 {
            child.expect_class(&["SiLU"])?;
            continue;
        }
        child.expect_class(&["ScalarLinearLayer"])?;
        let w = child.tensor("weight")?;
        let alpha = child.tensor("alpha")?;
        if w.shape.len() != 2 || alpha.data.len() != 1 {
            return Err(layout(format!(
                "{}: weight/alpha of unexpected shape",
                child.path
            )));
        }
        if let Ok(Value::Tensor(_)) = child.attr("bias") {
            return Err(layout(format!(
                "{}: a bias, which allegro 0.8 never has",
                child.path
            )));
        }
        // nequip multiplies W by alpha in the weights' dtype before the product.
        let a = T::from_f64(alpha.data[0]);
        layers.push(Linear::new(
            w.shape[0],
            w.shape[1],
            w.data.iter().map(|&x| T::from_f64(x) * a).collect(),
        ));
    }
    if layers.is_empty() || children.len() % 2 == 0 {
        return Err(layout(format!(
            "{}: an MLP that does not end in a linear layer",
            m.path
        )));
    }
    for pair in layers.windows(2) {
        if pair[0].n_out != pair[1].n_in {
            return Err(layout(format!("{}: layer widths do not chain", m.path)));
        }
    }
    Ok(Mlp { layers })
}

fn single_linear<T: Real>(m: &Module) -> LoadResult<Linear<T>> {
    let mlp = read_mlp::<T>(m)?;
    if mlp.layers.len() != 1 {
        return Err(layout(format!("{}: expected one linear layer", m.path)));
    }
    Ok(mlp.layers.into_iter().next().unwrap())
}

/// A MakeWeightedChannels and, when it weights irreps individually, its 0/1 map from irreps
/// to spherical-harmonic components (`_rtoi`, n_irreps x dim) as the irrep of each component.
fn read_weighter<T: Real>(m: &Module) -> LoadResult<(Weighter<T>, Option<Vec<usize>>)> {
    m.expect_class(&["MakeWeightedChannels"])?;
    let mul = m.int("multiplicity_out")? as usize;
    if !m.bool("weight_individual_irreps")? {
        let w = Weighter {
            individual: false,
            alpha: T::from_f64(m.float("alpha")?),
            width: mul,
            mul,
        };
        return Ok((w, None));
    }
    let rtoi = m.tensor("_rtoi")?;
    let [n_irreps, dim] = rtoi.shape[..] else {
        return Err(layout(format!("{}: _rtoi is not a matrix", m.path)));
    };
    let mut irrep_of = vec![usize::MAX; dim];
    for r in 0..n_irreps {
        for c in 0..dim {
            let v = rtoi.data[r * dim + c];
            if v == 1.0 && irrep_of[c] == usize::MAX {
                irrep_of[c] = r;
            } else if v != 0.0 {
                return Err(layout(format!("{}: _rtoi is not a 0/1 assignment", m.path)));
            }
        }
    }
    if irrep_of.contains(&usize::MAX) {
        return Err(layout(format!("{}: _rtoi leaves a component out", m.path)));
    }
    let w = Weighter {
        individual: true,
        alpha: T::ONE,
        width: mul * n_irreps,
        mul,
    };
    Ok((w, Some(irrep_of)))
}

/// nequip's ZBL pair potential module.
fn read_zbl(m: &Module, num_types: usize) -> LoadResult<Zbl> {
    m.expect_class(&["ZBL"])?;
    m.child_of("_zbl", "_ZBL")?;
    let z = m.tensor("atomic_numbers")?;
    let qq = m.tensor("_qqr2exesquare")?;
    if z.data.len() != num_types || qq.data.len() != 1 {
        return Err(layout(format!(
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

/// `1/sqrt(avg_num_neighbors)` of an AvgNumNeighborsNorm: one value or one per type.
fn read_norm<T: Real>(m: &Module, num_types: usize) -> LoadResult<Vec<T>> {
    m.expect_class(&["AvgNumNeighborsNorm"])?;
    let c = m.tensor("norm_const")?;
    let shortcut = m.bool("norm_shortcut")?;
    match (shortcut, c.data.len()) {
        (true, 1) => Ok(cast(&c)),
        (false, n) if n == num_types => Ok(cast(&c)),
        _ => Err(layout(format!(
            "{}: norm_const has {} values (norm_shortcut {shortcut})",
            m.path,
            c.data.len()
        ))),
    }
}

/// Per-type or single f64 scales/shifts of PerTypeScaleShift.
fn read_scale_shift(m: &Module, num_types: usize) -> LoadResult<(Vec<f64>, Vec<f64>)> {
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
            _ => Err(layout(format!(
                "{}: {buf} has {} values",
                m.path,
                t.data.len()
            ))),
        }
    };
    Ok((
        read("has_scales", "scales", "scales_shortcut", 1.0)?,
        read("has_shifts", "shifts", "shifts_shortcut", 0.0)?,
    ))
}

/// Evaluates a two-operand einsum such as `up,pijk->uijk` on dense row-major tensors.
fn einsum2(spec: &str, a: &Tensor, b: &Tensor) -> Option<(String, Vec<usize>, Vec<f64>)> {
    let (inputs, out) = spec.split_once("->")?;
    let (la, lb) = inputs.split_once(',')?;
    let (la, lb): (Vec<char>, Vec<char>) = (la.chars().collect(), lb.chars().collect());
    if la.len() != a.shape.len() || lb.len() != b.shape.len() {
        return None;
    }
    let mut size = std::collections::BTreeMap::new();
    for (l, &s) in la.iter().zip(&a.shape).chain(lb.iter().zip(&b.shape)) {
        if *size.entry(*l).or_insert(s) != s {
            return None;
        }
    }
    let labels: Vec<char> = size.keys().copied().collect();
    let out_labels: Vec<char> = out.chars().collect();
    if out_labels.iter().any(|l| !size.contains_key(l)) {
        return None;
    }
    let out_shape: Vec<usize> = out_labels.iter().map(|l| size[l]).collect();
    let mut result = vec![0.0; out_shape.iter().product()];
    let flat = |labs: &[char], shape: &[usize], idx: &std::collections::BTreeMap<char, usize>| {
        labs.iter()
            .zip(shape)
            .fold(0, |acc, (l, &s)| acc * s + idx[l])
    };
    let total: usize = labels.iter().map(|l| size[l]).product();
    let mut idx: std::collections::BTreeMap<char, usize> = labels.iter().map(|&l| (l, 0)).collect();
    for _ in 0..total {
        let va = a.data[flat(&la, &a.shape, &idx)];
        let vb = b.data[flat(&lb, &b.shape, &idx)];
        result[flat(&out_labels, &out_shape, &idx)] += va * vb;
        for l in labels.iter().rev() {
            let i = idx.get_mut(l).unwrap();
            *i += 1;
            if *i < size[l] {
                break;
            }
            *i = 0;
        }
    }
    Some((out.to_owned(), out_shape, result))
}

fn read_tensor_product<T: Real>(m: &Module, n_scalar_out: usize) -> LoadResult<TensorProduct<T>> {
    m.expect_class(&["Contracter"])?;
    let mul = m.int("mul")? as usize;
    let d1 = m.int("base_dim1")? as usize;
    let d2 = m.int("base_dim2")? as usize;
    let diagonal = m.bool("w3j_is_ij_diagonal")?;
    let spec = m.string("_weight_w3j_einstr")?;
    let (w, w3j) = (m.tensor("weights")?, m.tensor("w3j")?);
    let bad = || {
        layout(format!(
            "{}: weights/w3j/einsum '{spec}' do not fit together",
            m.path
        ))
    };
    let (labels, shape, ww) = einsum2(&spec, &w, &w3j).ok_or_else(bad)?;
    // Bring the combined weights to [u][i][j][k] (or [u][i][k] when diagonal).
    let want = if diagonal { "ik" } else { "ijk" };
    let (per_channel, rest) = match labels.strip_prefix('u') {
        Some(rest) => (true, rest),
        None => (false, labels.as_str()),
    };
    if rest != want || (per_channel && shape[0] != mul) {
        return Err(bad());
    }
    let dims = &shape[per_channel as usize..];
    if dims[0] != d1 || (!diagonal && dims[1] != d2) || (diagonal && d1 != d2) {
        return Err(bad());
    }
    let dout = *dims.last().unwrap();
    let inner: usize = dims.iter().product();
    let mut couplings = Vec::new();
    let mut weights = Vec::new();
    for flat in 0..inner {
        let (i, j, k) = if diagonal {
            (flat / dout, flat / dout, flat % dout)
        } else {
            (flat / (d2 * dout), flat / dout % d2, flat % dout)
        };
        let values: Vec<f64> = (0..mul)
            .map(|u| ww[if per_channel { u * inner } else { 0 } + flat])
            .collect();
        if values.iter().all(|&v| v == 0.0) {
            continue;
        }
        couplings.push([i, j, k]);
        weights.extend(values.iter().map(|&v| T::from_f64(v)));
    }
    if n_scalar_out > dout {
        return Err(bad());
    }
    Ok(TensorProduct::new(
        mul,
        [d1, d2, dout],
        couplings,
        weights,
        n_scalar_out,
    ))
}

/// The constant the edge-energy sum is divided by, read from EdgewiseReduce's TorchScript code
/// (allegro 0.8 divides by sqrt(2); the value is a literal of the compiled code, not an attribute).
pub fn readout_divisor(code: &str) -> LoadResult<f64> {
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

/// The sub-modules of the model's SequentialGraphNetwork, in order, and what each must be.
const SEQUENCE: [(&str, &str); 10] = [
    ("edge_norm", "EdgeLengthNormalizer"),
    ("radial_chemical_embed", "SequentialGraphNetwork"),
    ("scalar_embed_mlp", "ScalarMLP"),
    ("tensor_embed", "TwoBodySphericalHarmonicTensorEmbed"),
    ("allegro", "Allegro_Module"),
    ("edge_readout", "ScalarMLP"),
    ("edge_eng_sum", "EdgewiseReduce"),
    ("per_type_energy_scale_shift", "PerTypeScaleShift"),
    ("pair_potential", "ZBL"),
    ("total_energy_sum", "AtomwiseReduce"),
];

impl<T: Real> Network<T> {
    /// Builds the network from the root module (GraphModel) of a `.nequip.pth`.
    pub fn from_root(
        root: &Module,
        num_types: usize,
        divisor: f64,
        isa: Isa,
    ) -> LoadResult<Network<T>> {
        root.expect_class(&["GraphModel"])?;
        let model = root.child_of("model", "ForceStressOutput")?;
        let func = model.child_of("func", "SequentialGraphNetwork")?;
        // Refuse any module the native engine does not know (a ZBL pair term, another embedding).
        let known: Vec<&str> = SEQUENCE.iter().map(|(n, _)| *n).collect();
        for name in func_children(&func) {
            let child = func.child(&name)?;
            match SEQUENCE.iter().find(|(n, _)| *n == name) {
                Some((_, class)) => child.expect_class(&[class])?,
                None => {
                    return Err(LoadError::Unsupported {
                        path: child.path.clone(),
                        class: child.class(),
                    })
                }
            }
        }
        for name in known {
            if name != "pair_potential" {
                func.child(name)?;
            }
        }

        let edge_norm = func.child("edge_norm")?;
        let rmax = edge_norm.tensor("_rmax_recip")?;
        let per_edge = edge_norm.bool("_per_edge_type")?;
        if (per_edge && rmax.data.len() != num_types * num_types)
            || (!per_edge && rmax.data.len() != 1)
        {
            return Err(layout(
                "edge_norm._rmax_recip does not match the number of types",
            ));
        }

        let radial = func.child("radial_chemical_embed")?;
        let bessel = radial.child_of("bessel_encode", "BesselEdgeLengthEncoding")?;
        let bessel_weights = bessel.tensor("bessel_weights")?.data.clone();
        let cutoff = bessel.child_of("cutoff", "PolynomialCutoff")?;
        let cutoff_p = cutoff.float("p")?;
        let type_embed = radial.child_of("type_embed", "ProductTypeEmbedding")?;
        let center = type_embed
            .child_of("center_embed", "Embedding")?
            .tensor("weight")?;
        let neighbor = type_embed
            .child_of("neighbor_embed", "Embedding")?
            .tensor("weight")?;
        let basis = single_linear::<T>(&type_embed.child("basis_linear")?)?;
        let half = center.shape.get(1).copied().unwrap_or(0);
        if center.shape != [num_types, half]
            || neighbor.shape != [num_types, half]
            || basis.n_in != bessel_weights.len()
            || basis.n_out != 2 * half
        {
            return Err(layout("type embedding and radial basis sizes do not fit"));
        }

        let scalar_mlp = read_mlp::<T>(&func.child("scalar_embed_mlp")?.child("mlp_module")?)?;

        let tensor_embed = func.child("tensor_embed")?;
        let sh = tensor_embed.child_of("sh", "SphericalHarmonics")?;
        let l_max = sh.int("_lmax")? as usize;
        if l_max > MAX_L {
            return Err(layout(format!(
                "l_max {l_max}: the native engine implements l_max <= {MAX_L}"
            )));
        }
        if !sh.bool("normalize")?
            || sh.string("normalization")? != "component"
            || !sh.bool("_is_range_lmax")?
        {
            return Err(layout(
                "spherical harmonics other than normalised, component-normalised 0..l_max",
            ));
        }
        let (embed_weighter, irrep_of) =
            read_weighter::<T>(&tensor_embed.child("_edge_weighter")?)?;
        // The component -> irrep map follows from l_max; a stored one must agree.
        let dim = (l_max + 1) * (l_max + 1);
        let n_irreps = l_max + 1;
        let computed: Vec<usize> = (0..dim).map(|m| (m as f64).sqrt() as usize).collect();
        if irrep_of.is_some_and(|map| map != computed) {
            return Err(layout("_rtoi does not match l_max"));
        }
        let irrep_of = computed;
        let env_embed = single_linear::<T>(&tensor_embed.child("env_embed_linear")?)?;

        let allegro = func.child("allegro")?;
        let num_scalar = allegro.int("num_scalar_features")? as usize;
        let num_layers = allegro.int("num_layers")? as usize;
        let (env_weighter, env_map) = read_weighter::<T>(&allegro.child("_env_weighter")?)?;
        if env_map.is_some_and(|map| map != irrep_of) {
            return Err(layout("the two MakeWeightedChannels disagree"));
        }
        let proj = single_linear::<T>(&allegro.child("first_layer_env_embed_projection")?)?;
        let env_norm_module = allegro.child("avg_num_neighbors_norm")?;
        let env_norm = read_norm::<T>(&env_norm_module, num_types)?;
        let n_scalar_outs = allegro.ints("_n_scalar_outs")?;
        let latents = allegro
            .child_of("latents", "ModuleList")?
            .numbered_children()?;
        let tps = allegro.child_of("tps", "ModuleList")?.numbered_children()?;
        if latents.len() != num_layers
            || tps.len() != num_layers
            || n_scalar_outs.len() != num_layers
        {
            return Err(layout(
                "num_layers does not match the latent MLPs and tensor products",
            ));
        }
        let num_tensor = allegro.int("num_tensor_features")? as usize;
        let mut layers = Vec::new();
        for l in 0..num_layers {
            let tp = read_tensor_product::<T>(&tps[l], n_scalar_outs[l] as usize)?;
            let mlp = read_mlp::<T>(&latents[l])?;
            let want_in = num_scalar * (l + 1) + tp.mul * tp.n_scalar_out;
            let want_out = num_scalar
                + if l + 1 < num_layers {
                    env_weighter.width
                } else {
                    0
                };
            let want_d1 = if l == 0 {
                irrep_of.len()
            } else {
                layers.last().map_or(0, |p: &Layer<T>| p.tp.dout)
            };
            if tp.mul != num_tensor
                || tp.d2 != irrep_of.len()
                || tp.d1 != want_d1
                || mlp.n_in() != want_in
                || mlp.n_out() != want_out
            {
                return Err(layout(format!(
                    "layer {l}: sizes do not chain (tensor product {}x{}x{} for {} channels, \
                     MLP {} -> {}; expected {want_d1}x{}, {num_tensor} channels, MLP {want_in} -> {want_out})",
                    tp.d1,
                    tp.d2,
                    tp.dout,
                    tp.mul,
                    mlp.n_in(),
                    mlp.n_out(),
                    irrep_of.len()
                )));
            }
            layers.push(Layer { tp, mlp });
        }
        if env_embed.n_in != scalar_mlp.n_out()
            || env_embed.n_out != embed_weighter.width
            || embed_weighter.width
                != num_tensor
                    * if embed_weighter.individual {
                        n_irreps
                    } else {
                        1
                    }
            || env_weighter.width != num_tensor * if env_weighter.individual { n_irreps } else { 1 }
            || proj.n_in != num_scalar
            || proj.n_out != num_scalar + env_weighter.width
            || scalar_mlp.n_in() != 2 * half
            || scalar_mlp.n_out() != num_scalar
        {
            return Err(layout("embedding sizes do not chain"));
        }

        // Channel-contiguous layouts for the hot loops: environment weights as [irrep][channel]
        // (see Weighter::offset), tensor-product scalars fed to the latent MLPs as
        // [component][channel]. Only the order of weight columns/rows changes, not the maths.
        let (mut env_embed, mut proj) = (env_embed, proj);
        if let Some(perm) = embed_weighter.irrep_major() {
            env_embed.permute_outputs(0, &perm);
        }
        if let Some(perm) = env_weighter.irrep_major() {
            proj.permute_outputs(num_scalar, &perm);
            for layer in &mut layers[..num_layers - 1] {
                layer
                    .mlp
                    .layers
                    .last_mut()
                    .unwrap()
                    .permute_outputs(num_scalar, &perm);
            }
        }
        for (l, layer) in layers.iter_mut().enumerate() {
            let nso = layer.tp.n_scalar_out;
            let perm: Vec<usize> = (0..num_tensor * nso)
                .map(|p| (p % num_tensor) * nso + p / num_tensor)
                .collect();
            layer.mlp.layers[0].permute_inputs(num_scalar * (l + 1), &perm);
        }

        let readout = read_mlp::<T>(&func.child("edge_readout")?.child("mlp_module")?)?;
        if readout.n_in() != num_scalar * (num_layers + 1) || readout.n_out() != 1 {
            return Err(layout("edge readout sizes do not fit"));
        }
        let eng_sum = func.child("edge_eng_sum")?;
        if eng_sum.string("reduce")? != "sum" {
            return Err(layout("edge energies are not summed"));
        }
        // The readout reuses the per-atom factor the first AvgNumNeighborsNorm cached under its
        // key, when both use the same key (they do in allegro 0.8).
        let readout_norm_module = eng_sum.child("norm_module")?;
        let readout_norm =
            if readout_norm_module.string("norm_key")? == env_norm_module.string("norm_key")? {
                env_norm.clone()
            } else {
                read_norm::<T>(&readout_norm_module, num_types)?
            };
        let (scales, shifts) =
            read_scale_shift(&func.child("per_type_energy_scale_shift")?, num_types)?;
        let zbl = match func.child("pair_potential") {
            Ok(m) => Some(read_zbl(&m, num_types)?),
            Err(_) => None,
        };

        Ok(Network {
            isa,
            num_types,
            rmax_recip: rmax.data.clone(),
            bessel_integer: bessel_weights
                .iter()
                .enumerate()
                .all(|(n, &w)| w == (n + 1) as f64),
            bessel_weights,
            cutoff_p,
            center_embed: cast(&center),
            neighbor_embed: cast(&neighbor),
            half,
            basis,
            scalar_mlp,
            l_max,
            irrep_of,
            embed_weighter,
            env_weighter,
            env_embed,
            proj,
            num_scalar,
            num_tensor,
            env_norm,
            readout_norm,
            readout_divisor: T::from_f64(divisor),
            layers,
            readout,
            scales,
            shifts,
            zbl,
        })
    }
}

/// Names of the module-valued attributes of a SequentialGraphNetwork.
fn func_children(func: &Module) -> Vec<String> {
    func.attr_names()
        .into_iter()
        .filter(|n| func.child(n).is_ok())
        .collect()
}
