//! Wall-clock time as the stores count it.
//!
//! Every announce reads it (twice over UDP: the connection id and the store), and whole
//! seconds are all the stores need, so on Linux it is the kernel's coarse realtime clock
//! (updated every tick, read from the vDSO: ~20 instructions where `SystemTime::now()` and
//! the `duration_since(UNIX_EPOCH)` it needs took ~60).

/// Seconds since the Unix epoch (0 if the clock is before it).
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
pub fn unix_now() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
    u64::try_from(now.tv_sec).unwrap_or(0)
}

/// Seconds since the Unix epoch (0 if the clock is before it).
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
pub fn unix_now() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn the_coarse_clock_agrees_with_the_system_clock() {
        let fine = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let coarse = super::unix_now();
        assert!(coarse.abs_diff(fine) <= 1, "coarse {coarse}, fine {fine}");
    }
}
