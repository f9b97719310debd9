//! Criterion benches of the protocol's hot paths: Kerl, address generation,
//! signing, verification, Argon2 seed derivation, bundle finalisation and the
//! transaction codec. Proof of work is benchmarked in `hub-pow`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hub_protocol::bundle::{BundleBuilder, Input, Output};
use hub_protocol::seed::derive_seed;
use hub_protocol::sponge::{curl_p81, kerl};
use hub_protocol::{wots, Address, Argon2Params, Hash, Salt, SecurityLevel, Seed, SeedUuid, Transaction};

fn seed() -> Seed {
    Seed::from_trytes(&"BENCH9SEED".repeat(9)[..81]).unwrap()
}

fn hashing(c: &mut Criterion) {
    let chunk = Hash::from_trytes(&"KERL9INPUT".repeat(9)[..81]).unwrap().to_trits();
    let mut group = c.benchmark_group("hashing");
    group.throughput(Throughput::Elements(1));
    group.bench_function("kerl_one_chunk", |b| b.iter(|| kerl(&chunk).unwrap()));
    let tx = Transaction::null().to_trits();
    group.bench_function("curl_p81_transaction", |b| b.iter(|| curl_p81(&tx).unwrap()));
    group.finish();
}

fn signatures(c: &mut Criterion) {
    let seed = seed();
    let hash = Hash::from_trytes(&"BUNDLE9HASH".repeat(8)[..81]).unwrap();
    let mut group = c.benchmark_group("wots");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1));
    for security in [SecurityLevel::Low, SecurityLevel::Medium, SecurityLevel::High] {
        group.bench_function(format!("address_security_{security}"), |b| {
            b.iter(|| wots::address(&seed, 7, security))
        });
    }
    group.bench_function("sign_security_2", |b| {
        b.iter(|| wots::sign(&seed, 0, SecurityLevel::Medium, &hash))
    });
    let address = wots::address(&seed, 0, SecurityLevel::Medium);
    let signature = wots::sign(&seed, 0, SecurityLevel::Medium, &hash);
    group.bench_function("verify_security_2", |b| {
        b.iter(|| assert!(wots::verify(&address, &hash, &signature.0)))
    });
    group.finish();
}

fn argon2(c: &mut Criterion) {
    let salt = Salt::new(b"benchmark salt of twenty-one bytes or more".to_vec()).unwrap();
    let uuid = SeedUuid::generate();
    let mut group = c.benchmark_group("argon2");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));
    group.bench_function("derive_seed_default_params", |b| {
        b.iter(|| derive_seed(&uuid, &salt, &Argon2Params::default()).unwrap())
    });
    group.finish();
}

fn bundles(c: &mut Criterion) {
    let payee = Address::from_trytes(&"A".repeat(81)).unwrap();
    let inputs: Vec<Address> = (0..5)
        .map(|i| Address::from_trytes(&format!("{:9>81}", "B".repeat(i + 1))).unwrap())
        .collect();
    let mut group = c.benchmark_group("bundle");
    group.bench_function("build_and_finalize_sweep_shape", |b| {
        b.iter(|| {
            let mut builder = BundleBuilder::new(1_700_000_000).unwrap();
            for address in &inputs {
                builder = builder.input(Input {
                    address: *address,
                    amount: 10,
                    security: SecurityLevel::Medium,
                });
            }
            builder.output(Output::new(payee, 50)).build().unwrap()
        })
    });
    let tx = Transaction::null().to_trytes();
    group.bench_function("decode_encode_transaction", |b| {
        b.iter(|| Transaction::from_trytes(&tx).unwrap().to_trytes())
    });
    group.finish();
}

criterion_group!(benches, hashing, signatures, argon2, bundles);
criterion_main!(benches);
