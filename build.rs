//! With the `torch` feature, compiles the C++ side of the AOTInductor backend against the
//! libtorch of the Python environment that tch uses (LIBTORCH_USE_PYTORCH=1) or of $LIBTORCH.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "torch")]
    torch::build();
}

#[cfg(feature = "torch")]
mod torch {
    use std::path::PathBuf;
    use std::process::Command;

    fn libtorch_root() -> PathBuf {
        println!("cargo:rerun-if-env-changed=LIBTORCH");
        if let Ok(dir) = std::env::var("LIBTORCH") {
            return PathBuf::from(dir);
        }
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let out = Command::new(&python)
            .args([
                "-c",
                "import torch, os; print(os.path.dirname(torch.__file__))",
            ])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {python} to locate torch: {e}"));
        assert!(
            out.status.success(),
            "{python} cannot import torch: set LIBTORCH or put the venv's python first on PATH"
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    }

    pub fn build() {
        let root = libtorch_root();
        let lib = root.join("lib");
        // Test and tool binaries find libtorch without LD_LIBRARY_PATH.
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        // AOTInductor packages dlopen a .so that needs libtorch.so: keep it loaded up front, as
        // no runpath applies to that dlopen.
        println!(
            "cargo:rustc-link-arg=-Wl,--no-as-needed,{},--as-needed",
            lib.join("libtorch.so").display()
        );
        println!("cargo:rerun-if-changed=src/model/aoti_bridge.cc");
        println!("cargo:rerun-if-changed=src/model/aoti_bridge.h");
        cxx_build::bridge("src/model/aoti.rs")
            .file("src/model/aoti_bridge.cc")
            .include(root.join("include"))
            .include(root.join("include/torch/csrc/api/include"))
            .define("_GLIBCXX_USE_CXX11_ABI", "1")
            .flag("-std=c++17")
            .flag("-w")
            .compile("allegro_aoti_bridge");
    }
}
