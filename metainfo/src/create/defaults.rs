//! The rules and defaults `mkmeta PATH` applies on top of the literal options, kept here so
//! that every tool making metainfo "as mkmeta would" (`swarm seed PATH`) applies the same:
//! the default tracker, URL checks and the piece-length rule.

use std::ffi::OsString;

use thiserror::Error;

use super::{CreateError, CreateOptions};
use crate::MIN_AUTO_PIECE_LENGTH;

/// The tracker used when no tracker is given and `$SWARM_TRACKER` is unset or empty: our
/// tracker's default listening address.
pub const DEFAULT_TRACKER: &str = "http://127.0.0.1:6969/announce";

/// Environment variable naming the default tracker.
pub const TRACKER_ENV: &str = "SWARM_TRACKER";

/// Smallest piece length other clients handle well: 16 KiB, one BitTorrent block.
pub const MIN_STANDARD_PIECE_LENGTH: u64 = MIN_AUTO_PIECE_LENGTH;

/// Where the announce URLs of new metainfo came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackerSource {
    /// Given in [`CreateOptions::trackers`].
    Given,
    /// `$SWARM_TRACKER` ([`TRACKER_ENV`]), as no tracker was given.
    Environment,
    /// [`DEFAULT_TRACKER`], as no tracker was given and `$SWARM_TRACKER` is unset.
    BuiltIn,
}

/// A tracker or web seed that is not an absolute URL.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("`{0}` is not a URL: expected e.g. http://host:6969/announce")]
pub struct BadUrl(pub String);

/// Checks that `text` is an absolute URL such as `http://host:port/announce` or
/// `udp://host:port` (a scheme, `://`, something after it, no whitespace); returns it
/// trimmed.
pub fn check_url(text: &str) -> Result<String, BadUrl> {
    let url = text.trim();
    match url.split_once("://") {
        Some((scheme, rest))
            if !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !rest.is_empty()
                && !url.contains(char::is_whitespace) =>
        {
            Ok(url.to_string())
        }
        _ => Err(BadUrl(text.to_string())),
    }
}

/// Is `piece_length` one that libtorrent and other clients accept and handle well: a power of
/// two of at least [`MIN_STANDARD_PIECE_LENGTH`]? (libtorrent refuses torrents whose piece
/// length is not a multiple of 16 KiB; several clients assume a power of two.)
pub fn is_standard_piece_length(piece_length: u64) -> bool {
    piece_length >= MIN_STANDARD_PIECE_LENGTH && piece_length.is_power_of_two()
}

/// The tracker to use when none is given: `$SWARM_TRACKER` when set and not empty (it must
/// be a URL), else [`DEFAULT_TRACKER`].
pub fn default_tracker() -> Result<(String, TrackerSource), CreateError> {
    default_tracker_from(std::env::var_os(TRACKER_ENV))
}

/// [`default_tracker`] for a given value of the environment variable.
fn default_tracker_from(env: Option<OsString>) -> Result<(String, TrackerSource), CreateError> {
    let Some(value) = env else {
        return Ok((DEFAULT_TRACKER.to_string(), TrackerSource::BuiltIn));
    };
    let text = value
        .into_string()
        .map_err(|raw| CreateError::BadTrackerEnv(BadUrl(raw.to_string_lossy().into_owned())))?;
    if text.trim().is_empty() {
        return Ok((DEFAULT_TRACKER.to_string(), TrackerSource::BuiltIn));
    }
    let url = check_url(&text).map_err(CreateError::BadTrackerEnv)?;
    Ok((url, TrackerSource::Environment))
}

/// `options` with mkmeta's rules checked and its defaults filled in: every URL checked, the
/// default tracker when none is given, the piece length standard unless
/// [`CreateOptions::any_piece_length`].
pub(super) fn apply(
    options: &CreateOptions,
    env: Option<OsString>,
) -> Result<(CreateOptions, TrackerSource), CreateError> {
    let mut options = options.clone();
    for url in options
        .trackers
        .iter_mut()
        .chain(options.web_seeds.iter_mut())
    {
        *url = check_url(url).map_err(CreateError::BadUrl)?;
    }
    let source = if options.trackers.is_empty() {
        let (url, source) = default_tracker_from(env)?;
        options.trackers.push(url);
        source
    } else {
        TrackerSource::Given
    };
    if let Some(length) = options.piece_length
        && !options.any_piece_length
        && !is_standard_piece_length(length)
    {
        return Err(CreateError::NonStandardPieceLength(length));
    }
    Ok((options, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_a_scheme_and_a_rest() {
        assert_eq!(
            check_url(" http://t:6969/announce ").as_deref(),
            Ok("http://t:6969/announce")
        );
        assert_eq!(check_url("udp://t:6969").as_deref(), Ok("udp://t:6969"));
        for bad in [
            "",
            "tracker:6969",
            "://x",
            "http://",
            "http://a b",
            "ht tp://x",
        ] {
            assert_eq!(check_url(bad), Err(BadUrl(bad.to_string())), "{bad:?}");
        }
    }

    #[test]
    fn standard_piece_lengths_are_powers_of_two_from_16_kib() {
        for good in [16 << 10, 32 << 10, 1 << 20, 16 << 20, 256 << 20] {
            assert!(is_standard_piece_length(good), "{good}");
        }
        for odd in [0, 1, 8 << 10, 3 << 10, 48 << 10, (1 << 20) + 1, 1_000_000] {
            assert!(!is_standard_piece_length(odd), "{odd}");
        }
    }

    #[test]
    fn the_default_tracker_comes_from_the_environment_then_the_built_in_one() {
        let built_in = Some((DEFAULT_TRACKER.to_string(), TrackerSource::BuiltIn));
        assert_eq!(default_tracker_from(None).ok(), built_in);
        assert_eq!(default_tracker_from(Some("  ".into())).ok(), built_in);
        assert_eq!(
            default_tracker_from(Some(" udp://t:1 ".into())).ok(),
            Some(("udp://t:1".to_string(), TrackerSource::Environment))
        );
    }

    #[test]
    fn a_bad_swarm_tracker_is_refused_not_written() {
        assert!(matches!(
            default_tracker_from(Some("not a url".into())),
            Err(CreateError::BadTrackerEnv(BadUrl(text))) if text == "not a url"
        ));
        let options = CreateOptions::default();
        assert!(matches!(
            apply(&options, Some("tracker.example:6969".into())),
            Err(CreateError::BadTrackerEnv(_))
        ));
    }

    #[test]
    fn apply_fills_the_default_and_checks_what_is_given() {
        let (options, source) = apply(&CreateOptions::default(), None).unwrap();
        assert_eq!(options.trackers, [DEFAULT_TRACKER]);
        assert_eq!(source, TrackerSource::BuiltIn);

        let given = CreateOptions {
            trackers: vec![" http://a/announce".into()],
            ..CreateOptions::default()
        };
        let (options, source) = apply(&given, Some("http://env/announce".into())).unwrap();
        assert_eq!(options.trackers, ["http://a/announce"]);
        assert_eq!(source, TrackerSource::Given);

        let bad_seed = CreateOptions {
            web_seeds: vec!["nope".into()],
            ..CreateOptions::default()
        };
        assert!(matches!(
            apply(&bad_seed, None),
            Err(CreateError::BadUrl(_))
        ));
    }

    #[test]
    fn odd_piece_lengths_need_to_be_asked_for() {
        let odd = CreateOptions {
            piece_length: Some(100_000),
            ..CreateOptions::default()
        };
        assert!(matches!(
            apply(&odd, None),
            Err(CreateError::NonStandardPieceLength(100_000))
        ));
        let forced = CreateOptions {
            any_piece_length: true,
            ..odd
        };
        assert_eq!(apply(&forced, None).unwrap().0.piece_length, Some(100_000));
    }
}
