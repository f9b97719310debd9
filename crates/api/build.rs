//! Generates the gRPC code for `hub.rpc` and `hub.v1` from `proto/`.
//!
//! `protox` parses the .proto files in pure Rust, so no `protoc` binary is
//! needed; `tonic-build` turns the descriptors into prost messages plus
//! tonic servers and clients.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/messages.proto", "proto/hub.proto", "proto/events.proto"];
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
