//! The Allegro network of a nequip-allegro 0.8.x model, built from the archive's module tree
//! stage by stage, as nequip-allegro composes it: every size, weight, Wigner-3j table, alpha
//! and flag is read from the file, and the stages' sizes must chain.
use super::allegro_layer::Allegro;
use super::archive::{ArchiveError, LoadResult, Module};
use super::isa::Isa;
use super::radial_embed::RadialChemicalEmbed;
use super::readout::EdgeReadout;
use super::real::Real;
use super::tensor_embed::TensorEmbed;
use super::two_body::TwoBodyEmbed;
use super::zbl::Zbl;

/// A loaded Allegro network in the float type `T` of its weights; `evaluate.rs` runs it.
#[derive(Clone, Debug)]
pub struct Network<T> {
    /// The instruction set its kernels run with.
    pub isa: Isa,
    pub radial: RadialChemicalEmbed<T>,
    pub two_body: TwoBodyEmbed<T>,
    pub tensor_embed: TensorEmbed<T>,
    pub allegro: Allegro<T>,
    pub readout: EdgeReadout<T>,
    pub zbl: Option<Zbl>,
}

/// Entry `k` of a table the file stores either per entry (per type, per type pair) or as one
/// value shared by all (nequip's `*_shortcut`, a single cutoff).
pub fn per_type<V: Copy>(values: &[V], k: usize) -> V {
    if values.len() == 1 {
        values[0]
    } else {
        values[k]
    }
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
    /// Builds the network from the root module (GraphModel) of a `.nequip.pth` and its
    /// TorchScript code (for the one constant that lives only there).
    pub fn from_root(
        root: &Module,
        code: &str,
        num_types: usize,
        isa: Isa,
    ) -> LoadResult<Network<T>> {
        root.expect_class(&["GraphModel"])?;
        let model = root.child_of("model", "ForceStressOutput")?;
        let func = model.child_of("func", "SequentialGraphNetwork")?;
        // Refuse any module the native engine does not know (another embedding, a new term).
        for name in func_children(&func) {
            let child = func.child(&name)?;
            match SEQUENCE.iter().find(|(n, _)| *n == name) {
                Some((_, class)) => child.expect_class(&[class])?,
                None => {
                    return Err(ArchiveError::Unsupported {
                        path: child.path.clone(),
                        class: child.class(),
                    })
                }
            }
        }
        for (name, _) in SEQUENCE {
            if name != "pair_potential" {
                func.child(name)?;
            }
        }

        let radial = RadialChemicalEmbed::load(
            &func.child("edge_norm")?,
            &func.child("radial_chemical_embed")?,
            num_types,
        )?;
        let two_body = TwoBodyEmbed::load(&func.child("scalar_embed_mlp")?)?;
        let tensor_embed = TensorEmbed::load(&func.child("tensor_embed")?)?;
        let allegro_module = func.child("allegro")?;
        let allegro = Allegro::load(&allegro_module, &tensor_embed.irrep_of, num_types)?;
        let readout = EdgeReadout::load(
            &func,
            (
                &allegro_module.child("avg_num_neighbors_norm")?,
                &allegro.norm,
            ),
            num_types,
            code,
        )?;
        let zbl = match func.child("pair_potential") {
            Ok(m) => Some(Zbl::load(&m, num_types)?),
            Err(_) => None,
        };
        let num_scalar = allegro.num_scalar;
        if two_body.mlp.n_in() != radial.width()
            || two_body.mlp.n_out() != tensor_embed.linear.n_in
            || two_body.mlp.n_out() != num_scalar
            || allegro.proj.n_in != num_scalar
            || tensor_embed.weighter.mul != allegro.num_tensor
            || readout.mlp.n_in() != num_scalar * (allegro.layers.len() + 1)
        {
            return Err(ArchiveError::layout("embedding sizes do not chain"));
        }
        Ok(Network {
            isa,
            radial,
            two_body,
            tensor_embed,
            allegro,
            readout,
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
