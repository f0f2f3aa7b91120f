//! Generates the prost types from `proto/*.proto` with a vendored `protoc`, so a fresh
//! machine needs nothing beyond the Rust toolchain.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY-free: build scripts are single-threaded, setting the variable here is sound.
    unsafe { std::env::set_var("PROTOC", protoc) };
    println!("cargo:rerun-if-changed=proto/fusion_flow.proto");
    prost_build::Config::new()
        .bytes(["."])
        .compile_protos(&["proto/fusion_flow.proto"], &["proto"])?;
    Ok(())
}
