"""An independent gRPC client of hub.rpc.Hub, for Hub's access tests.

Its stubs are generated at run time from crates/api/proto by grpcio-tools
(Google's protoc and gRPC runtime, nothing of Hub's Rust code). It calls
every method of the service with a default request message, presenting the
API token read from stdin (none if stdin is empty; a token never goes on a
command line), and prints one JSON object: method name -> status code name.
"""

import argparse
import importlib
import json
import sys
import tempfile

import grpc
from grpc_tools import protoc


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("--address", required=True, help="host:port, plaintext")
    args = parser.parse_args()
    token = sys.stdin.read().strip()

    out = tempfile.mkdtemp(prefix="hub-grpc-")
    generated = protoc.main(
        [
            "protoc",
            f"-I{args.proto_dir}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            "hub.proto",
            "messages.proto",
        ]
    )
    if generated != 0:
        print(f"protoc failed with {generated}", file=sys.stderr)
        return 2
    sys.path.insert(0, out)
    hub_pb2 = importlib.import_module("hub_pb2")
    hub_pb2_grpc = importlib.import_module("hub_pb2_grpc")
    messages_pb2 = importlib.import_module("messages_pb2")

    stub = hub_pb2_grpc.HubStub(grpc.insecure_channel(args.address))
    metadata = [("authorization", f"Bearer {token}")] if token else []
    results = {}
    for method in hub_pb2.DESCRIPTOR.services_by_name["Hub"].methods:
        request = getattr(messages_pb2, method.input_type.name)()
        try:
            reply = getattr(stub, method.name)(request, metadata=metadata, timeout=60)
            if method.server_streaming:
                list(reply)
            results[method.name] = "OK"
        except grpc.RpcError as error:
            results[method.name] = error.code().name
    print(json.dumps(results, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
