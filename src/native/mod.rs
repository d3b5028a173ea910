//! The native Allegro engine: reads a `.nequip.pth` without libtorch and evaluates energies,
//! forces and virials with a hand-written backward pass (see `evaluate.rs`), in f32 for float32
//! models (geometry, radial basis and harmonics in f64, as nequip does) and in f64 for float64.
//!
//! The network in Allegro's own stages, in evaluation order: `radial_embed` (edge lengths to a
//! radial-chemical embedding), `two_body` (the two-body scalar MLP), `tensor_embed` (harmonics
//! to the initial tensor features), `allegro_layer` (environment sum, tensor product, latent
//! MLP), `readout` (edge energies to per-atom energies), `zbl`; `evaluate` runs them in order,
//! `network` reads them from the file. Beneath them: `mlp` and `gemm` (dense layers),
//! `tensor_product`, `weighting`, `geometry` (basis functions); `archive` and `pickle` read
//! the file.
mod allegro_layer;
mod archive;
mod evaluate;
pub mod gemm;
mod geometry;
mod isa;
mod mlp;
mod network;
mod pickle;
mod radial_embed;
mod readout;
mod real;
mod tensor_embed;
mod tensor_product;
mod two_body;
mod weighting;
mod zbl;

use std::path::Path;
use std::sync::Mutex;

use archive::Archive;
pub use archive::ArchiveError;
use evaluate::{Block, Workspace};
pub use isa::Isa;
use network::Network;
use real::Real;

use crate::error::{Error, Result};
use crate::model::{BackendOutput, Engine, Graph, Metadata, ModelDtype};

/// Edges per block: enough rows for the dense layers to run near peak, few enough that a
/// block's activations stay in cache (and memory stays bounded for any system size).
const BLOCK_EDGES: usize = 256;

/// A block's inputs gathered from the graph, reused between blocks and calls.
#[derive(Default)]
struct BlockBuffers {
    centre_types: Vec<usize>,
    offsets: Vec<usize>,
    neighbour_types: Vec<usize>,
    vectors: Vec<[f64; 3]>,
    energy: Vec<f64>,
}

/// A network in its model's float type, with one workspace per pool thread.
struct Typed<T> {
    net: Network<T>,
    workspaces: Vec<Mutex<(Workspace<T>, BlockBuffers)>>,
}

impl<T: Real> Typed<T> {
    fn new(net: Network<T>, threads: usize) -> Typed<T> {
        let workspaces = (0..threads).map(|_| Mutex::default()).collect();
        Typed { net, workspaces }
    }
}

enum AnyNetwork {
    F32(Typed<f32>),
    F64(Typed<f64>),
}

/// The native backend of one model: the network, a thread pool and one workspace per thread.
pub(crate) struct Native {
    net: AnyNetwork,
    pool: rayon::ThreadPool,
    /// dE/d(edge vector), per edge of the last call.
    edge_grad: Vec<[f64; 3]>,
}

impl Native {
    /// Loads the model for the native engine, or says why it cannot.
    pub(crate) fn load(
        path: &Path,
        metadata: &Metadata,
        threads: usize,
        isa: Isa,
    ) -> Result<Native> {
        let bad = |e: ArchiveError| {
            let (path, reason) = (path.to_owned(), e.to_string());
            if e.is_unsupported() {
                Error::NotNative { path, reason }
            } else {
                Error::BadModel { path, reason }
            }
        };
        let archive = Archive::read(path).map_err(bad)?;
        check_metadata(path, &archive, metadata)?;
        let t = metadata.num_types();
        let net = match metadata.dtype {
            ModelDtype::Float32 => AnyNetwork::F32(Typed::new(
                Network::from_root(&archive.root, &archive.code, t, isa).map_err(bad)?,
                threads,
            )),
            ModelDtype::Float64 => AnyNetwork::F64(Typed::new(
                Network::from_root(&archive.root, &archive.code, t, isa).map_err(bad)?,
                threads,
            )),
        };
        // The cutoffs the graph is built with must be the network's own.
        let recip = match &net {
            AnyNetwork::F32(n) => &n.net.radial.rmax_recip,
            AnyNetwork::F64(n) => &n.net.radial.rmax_recip,
        };
        for (k, &c) in metadata.cutoffs.iter().enumerate() {
            let own = 1.0 / network::per_type(recip, k);
            if (own - c).abs() > 1e-6 * c {
                return Err(bad(ArchiveError::Layout(format!(
                    "metadata cutoff {c} differs from the network's {own}"
                ))));
            }
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("allegro-native-{i}"))
            .build()
            .map_err(|e| Error::Backend(format!("cannot start {threads} threads: {e}")))?;
        Ok(Native {
            net,
            pool,
            edge_grad: Vec::new(),
        })
    }
}

/// The metadata nequip stores twice, in `extra/` (what every backend reads) and with the network
/// in the pickle (the root's `_metadata` and `type_names`), must agree: a permuted or edited
/// `extra/type_names` would map every atom to the wrong type without a word.
fn check_metadata(path: &Path, archive: &Archive, metadata: &Metadata) -> Result<()> {
    let bad = |reason: String| Error::BadModel {
        path: path.to_owned(),
        reason,
    };
    let stored = archive
        .root
        .string_map("_metadata")
        .map_err(|e| bad(e.to_string()))?;
    let with_network = Metadata::from_map(path, &stored)?;
    let names = archive
        .root
        .strings("type_names")
        .map_err(|e| bad(e.to_string()))?;
    if with_network != *metadata || names != metadata.type_names {
        return Err(bad(format!(
            "its extra/ metadata (types {}, r_max {}, {:?}) contradicts the metadata stored with \
             the network (types {}, r_max {}, {:?}): the file was edited or damaged",
            metadata.type_names.join(" "),
            metadata.r_max,
            metadata.dtype,
            names.join(" "),
            with_network.r_max,
            with_network.dtype
        )));
    }
    Ok(())
}

/// Reads the archive as the native engine would, for a model that runs on libtorch: damage
/// (CRC, sizes) and metadata that contradicts the network are errors on every backend. A file
/// this reader cannot parse at all (a newer pickle) is left to libtorch.
pub(crate) fn check_archive(path: &Path, metadata: &Metadata) -> Result<()> {
    use pickle::PickleError;
    match Archive::read(path) {
        Ok(archive) => check_metadata(path, &archive, metadata),
        Err(ArchiveError::Pickle(
            PickleError::UnknownOpcode { .. } | PickleError::UnknownCall(_),
        )) => Ok(()),
        Err(e) => Err(Error::BadModel {
            path: path.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// Evaluates every centre of the graph, block by block, in parallel; writes per-node energies
/// (atoms without edges get their shift) and per-edge gradients.
fn run_network<T: Real>(
    typed: &Typed<T>,
    pool: &rayon::ThreadPool,
    graph: &Graph,
    node_energy: &mut [f64],
    edge_grad: &mut [[f64; 3]],
) {
    use rayon::prelude::*;
    let (net, workspaces) = (&typed.net, &typed.workspaces);
    for (e, &t) in node_energy.iter_mut().zip(&graph.types) {
        *e = net.readout.scale_shift.shift(t as usize);
    }
    let n_edges = graph.edge_index.len() / 2;
    let (centres, neighbours) = graph.edge_index.split_at(n_edges);
    // Contiguous runs of edges per centre (the graph is grouped by centre).
    let mut runs: Vec<(usize, usize)> = Vec::new(); // (centre, first edge)
    for (e, &c) in centres.iter().enumerate() {
        if runs.last().is_none_or(|&(prev, _)| prev != c as usize) {
            runs.push((c as usize, e));
        }
    }
    runs.push((usize::MAX, n_edges));
    // Blocks of whole centres with about BLOCK_EDGES edges.
    let mut blocks: Vec<(usize, usize)> = Vec::new(); // runs[a..b]
    let mut start = 0;
    for r in 1..runs.len() {
        if runs[r].1 - runs[start].1 >= BLOCK_EDGES || r == runs.len() - 1 {
            blocks.push((start, r));
            start = r;
        }
    }
    let types = &graph.types;
    let pos = &graph.pos;
    // Split the gradient buffer along block boundaries so that blocks write disjoint slices.
    let mut slices = Vec::with_capacity(blocks.len());
    let mut rest = edge_grad;
    for &(a, b) in &blocks {
        let (head, tail) = rest.split_at_mut(runs[b].1 - runs[a].1);
        slices.push(head);
        rest = tail;
    }
    let energies: Vec<Vec<(usize, f64)>> = pool.install(|| {
        blocks
            .par_iter()
            .zip(slices.into_par_iter())
            .map(|(&(a, b), grad)| {
                let index = rayon::current_thread_index().unwrap_or(0) % workspaces.len();
                let mut guard = workspaces[index].lock().unwrap_or_else(|p| p.into_inner());
                let (ws, buf) = &mut *guard;
                let first = runs[a].1;
                buf.centre_types.clear();
                buf.centre_types
                    .extend(runs[a..b].iter().map(|&(c, _)| types[c] as usize));
                buf.offsets.clear();
                buf.offsets
                    .extend(runs[a..=b].iter().map(|&(_, e)| e - first));
                let edges = first..runs[b].1;
                buf.neighbour_types.clear();
                buf.neighbour_types.extend(
                    neighbours[edges.clone()]
                        .iter()
                        .map(|&j| types[j as usize] as usize),
                );
                buf.vectors.clear();
                buf.vectors.extend(edges.map(|e| {
                    let (i, j) = (centres[e] as usize, neighbours[e] as usize);
                    [
                        pos[3 * j] - pos[3 * i],
                        pos[3 * j + 1] - pos[3 * i + 1],
                        pos[3 * j + 2] - pos[3 * i + 2],
                    ]
                }));
                let block = Block {
                    centre_types: &buf.centre_types,
                    offsets: &buf.offsets,
                    neighbour_types: &buf.neighbour_types,
                    vectors: &buf.vectors,
                };
                buf.energy.clear();
                buf.energy.resize(buf.centre_types.len(), 0.0);
                net.evaluate(ws, &block, &mut buf.energy, grad);
                runs[a..b]
                    .iter()
                    .map(|&(c, _)| c)
                    .zip(buf.energy.iter().copied())
                    .collect::<Vec<_>>()
            })
            .collect()
    });
    for (c, e) in energies.into_iter().flatten() {
        node_energy[c] = e;
    }
}

impl Engine for Native {
    fn isa(&self) -> Option<Isa> {
        Some(match &self.net {
            AnyNetwork::F32(n) => n.net.isa,
            AnyNetwork::F64(n) => n.net.isa,
        })
    }

    fn run(&mut self, graph: &Graph, out: BackendOutput<'_>) -> Result<()> {
        let n_edges = graph.edge_index.len() / 2;
        self.edge_grad.clear();
        self.edge_grad.resize(n_edges, [0.0; 3]);
        let grad = &mut self.edge_grad;
        match &self.net {
            AnyNetwork::F32(n) => run_network(n, &self.pool, graph, out.atom_energy, grad),
            AnyNetwork::F64(n) => run_network(n, &self.pool, graph, out.atom_energy, grad),
        }
        // Edge gradients to forces on both ends and the virial W = -sum r (x) dE/dr (symmetrised).
        let (centres, neighbours) = graph.edge_index.split_at(n_edges);
        let mut w = [0.0; 9];
        let mut atom_virial = out.atom_virial;
        for e in 0..n_edges {
            let (i, j) = (centres[e] as usize, neighbours[e] as usize);
            let g = self.edge_grad[e];
            let v = [
                graph.pos[3 * j] - graph.pos[3 * i],
                graph.pos[3 * j + 1] - graph.pos[3 * i + 1],
                graph.pos[3 * j + 2] - graph.pos[3 * i + 2],
            ];
            for k in 0..3 {
                out.forces[i][k] += g[k];
                out.forces[j][k] -= g[k];
                for l in 0..3 {
                    w[3 * k + l] -= v[k] * g[l];
                }
            }
            if let Some(av) = atom_virial.as_deref_mut() {
                for k in 0..3 {
                    for l in 0..3 {
                        let half = -0.5 * v[k] * g[l];
                        av[i][3 * k + l] += half;
                        av[j][3 * k + l] += half;
                    }
                }
            }
        }
        for k in 0..3 {
            for l in 0..3 {
                out.virial[3 * k + l] = 0.5 * (w[3 * k + l] + w[3 * l + k]);
            }
        }
        Ok(())
    }
}
