//! The fuzz targets' committed seed corpus (`fuzz/seeds/<target>/`), replayed on stable through
//! the same property checks the targets run (`crosscheck`): every seed — including each
//! crash the fuzzers found, kept under a `regression-…` name — must pass.

use std::path::PathBuf;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds").join(target);
    let mut seeds: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    for seed in seeds {
        let data = std::fs::read(&seed).unwrap();
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
            panic!("{target}: seed {} fails: {message}", seed.display());
        }
    }
}

#[test]
fn model_file_seeds_give_a_result_or_an_error() {
    replay("model_files_give_a_result_or_an_error", crosscheck::check_model_files);
}

#[test]
fn exact_domain_seeds_agree_across_engines() {
    replay("exact_domain_engines_agree", crosscheck::check_exact_domain);
}

#[test]
fn chain_setting_seeds_are_exact_or_refused() {
    replay("chain_magnitudes_are_exact_or_refused", crosscheck::check_chain_settings);
}

#[test]
fn rendering_seeds_keep_one_row_per_datum() {
    replay("report_rendering_keeps_one_row_per_datum", crosscheck::check_report_rendering);
}

#[test]
fn the_identity_skip_seed_decodes_to_an_identity_skip_chain() {
    // The corpus holds at least one chain whose shortcut joins after f (the skip form is the
    // decoder's last byte, so older seeds keep their meaning).
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/chain_magnitudes_are_exact_or_refused");
    let data = std::fs::read(dir.join("identity-skip-sigmoid-span-3")).unwrap();
    let settings = crosscheck::chain_settings::ChainSettings::decode(&data);
    assert_eq!((settings.depth, settings.shortcut, settings.skip), (9, Some(3), scalar::Skip::Identity));
    assert_eq!(settings.activations, vec![scalar::Activation::Sigmoid; 9]);
    assert_eq!((settings.x, settings.target), (1.0, 0.25));
}
