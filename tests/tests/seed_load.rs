//! One `swarm seed` serving 20 `swarm get` leechers at once (issue 10): every leecher
//! finishes with correct data, and the seeder's memory stays bounded whatever the number of
//! peers (peak RSS under 100 MiB, printed). With the default 20 upload slots it serves all
//! of them at once, the worst case for its memory (that slots rotate, so no interested peer
//! waits forever, is the choker's unit test). The leechers know only the seeder (no
//! tracker), so it serves every byte: the worst case for it.

use std::time::Duration;

use swarm_tests::metafile::write_meta;
use swarm_tests::ours::Swarm;
use swarm_tests::output::Proc;
use swarm_tests::{peak_rss_kib, same_contents, write_random_file};

const MIB: u64 = 1024 * 1024;
const LEECHERS: usize = 20;

#[test]
fn twenty_swarm_get_leechers_all_finish_from_one_seed_and_its_peak_rss_stays_under_100_mib() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let payload = data.join("load.bin");
    write_random_file(&payload, 8 * MIB + 4321, 77);
    let t = write_meta(&payload, &data.join("load.meta"), 64 * 1024, None);
    let seeder = Swarm::seed(&[&t.meta])
        .args(["--no-tracker", "-q"])
        .state_dir(&tmp.path().join("state-seed"))
        .start();

    let mut leechers: Vec<Proc> = (0..LEECHERS)
        .map(|i| {
            let out = tmp.path().join(format!("out-{i}"));
            Swarm::get(&[&t.meta], &out)
                .peers(&[seeder.addr()])
                // No stall timeout: a choked leecher waits for its turn.
                .args(["--no-tracker", "--timeout", "0", "-q"])
                .state_dir(&tmp.path().join(format!("state-{i}")))
                .named(&format!("swarm get #{i}"))
                .spawn()
        })
        .collect();
    let mut failed = Vec::new();
    for (i, get) in leechers.iter_mut().enumerate() {
        match get.wait_exit(Duration::from_secs(300)) {
            Some(s) if s.success() => {}
            other => failed.push(format!("#{i}: {other:?}: {}", get.out.tail(5))),
        }
    }
    let peak_kib = peak_rss_kib(seeder.guard.pid()).expect("seeder's /proc status");
    eprintln!(
        "swarm seed peak RSS (VmHWM) serving {LEECHERS} leechers: {:.1} MiB",
        peak_kib as f64 / 1024.0
    );
    assert!(
        failed.is_empty(),
        "leechers that did not finish: {failed:#?}\nseeder:\n{}",
        seeder.out.tail(20)
    );
    for i in 0..LEECHERS {
        let got = tmp.path().join(format!("out-{i}")).join(&t.name);
        assert!(same_contents(&payload, &got), "leecher #{i} has wrong data");
    }
    assert!(
        peak_kib < 100 * 1024,
        "swarm seed's peak RSS {peak_kib} KiB is not under 100 MiB"
    );
}
