//! Generates the gRPC code for `signing.rpc` from `proto/signing_server.proto`.
//!
//! `protox` parses the .proto file in pure Rust, so no `protoc` binary is
//! needed; `tonic-build` turns the descriptors into prost messages plus the
//! tonic server (for `hub signer`) and client (for the remote provider).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/signing_server.proto"];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    tonic_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
