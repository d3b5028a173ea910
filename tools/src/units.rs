//! Physical constants and unit conversions, in one place (CODATA 2018 exact values where they
//! are exact). The tools work in LAMMPS metal units: A, ps, eV, amu, K.

/// Elementary charge, C.
pub const E_CHARGE: f64 = 1.602_176_634e-19;
/// Boltzmann constant, J/K.
pub const K_B: f64 = 1.380_649e-23;
/// Boltzmann constant, eV/K.
pub const K_B_EV: f64 = 8.617_333_262e-5;
/// A^2/ps in cm^2/s.
pub const A2_PER_PS_TO_CM2_PER_S: f64 = 1e-4;
/// eV/A^3 in kbar.
pub const EV_A3_TO_KBAR: f64 = 1_602.176_634;
/// sqrt(eV / (A^2 amu)) / (2 pi) in THz: a harmonic eigenvalue (eV/A^2/amu) to a frequency.
/// phonopy's value (older CODATA; 1.2e-7 below today's), so that frequencies compare exactly.
pub const THZ: f64 = 15.633_302_3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_constants_follow_from_the_exact_ones() {
        assert!((K_B / E_CHARGE / K_B_EV - 1.0).abs() < 1e-9);
        // 1 eV/A^3 = e * 1e30 Pa = e * 1e30 / 1e8 kbar
        assert!((E_CHARGE * 1e22 / EV_A3_TO_KBAR - 1.0).abs() < 1e-12);
        let amu = 1.660_539_066_60e-27;
        let thz = (E_CHARGE / (1e-20 * amu)).sqrt() / (2.0 * std::f64::consts::PI) / 1e12;
        assert!((thz / THZ - 1.0).abs() < 2e-7, "{thz}");
    }
}
