//! `--config FILE`: the same settings as the flags, in TOML (`listen = ["0.0.0.0:6969"]`,
//! `interval = 1800`, `private = true`, …; keys are the long flag names, `-` or `_`).
//! A flag on the command line or in its environment variable wins over the file, which wins
//! over the default.

use std::ffi::OsString;
use std::path::Path;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use super::Config;

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("cannot read config file {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("config file {path}: {error}")]
    Toml { path: String, error: String },
    #[error("config file {path}: unknown setting `{key}` (the keys are the long flag names)")]
    UnknownKey { path: String, key: String },
    #[error("config file {path}: `{key}` must be a string, number, boolean or list of those")]
    BadValue { path: String, key: String },
}

/// Parse the command line (and environment), then fill what neither set from the file named
/// by `--config` / `TRACKER_CONFIG`.
pub fn parse<I, T>(args: I) -> Result<Config, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let matches = Config::command().try_get_matches_from(&args)?;
    let first = Config::from_arg_matches(&matches)?;
    let Some(path) = first.config.clone() else {
        return Ok(first);
    };
    let extra = match file_args(&path, |id| {
        matches!(
            matches.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    }) {
        Ok(extra) => extra,
        Err(e) => {
            return Err(
                Config::command().error(clap::error::ErrorKind::InvalidValue, e.to_string())
            );
        }
    };
    let mut all = Vec::with_capacity(args.len() + extra.len());
    all.extend(args.first().cloned());
    all.extend(extra);
    all.extend(args.into_iter().skip(1));
    Config::try_parse_from_all(all)
}

impl Config {
    fn try_parse_from_all(all: Vec<OsString>) -> Result<Config, clap::Error> {
        let matches = Config::command().try_get_matches_from(all)?;
        Config::from_arg_matches(&matches)
    }
}

/// The file's settings as command-line arguments, skipping those `given` elsewhere.
fn file_args(path: &Path, given: impl Fn(&str) -> bool) -> Result<Vec<OsString>, ConfigFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ConfigFileError::Read {
        path: shown.clone(),
        error,
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigFileError::Toml {
        path: shown.clone(),
        error: e.message().to_string(),
    })?;
    let command = Config::command();
    let mut out = Vec::new();
    for (key, value) in table {
        let long = key.replace('_', "-");
        let Some(arg) = command
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()) && long != "config")
        else {
            return Err(ConfigFileError::UnknownKey { path: shown, key });
        };
        if given(arg.get_id().as_str()) {
            continue;
        }
        let bad = || ConfigFileError::BadValue {
            path: shown.clone(),
            key: key.clone(),
        };
        let scalar = |v: &toml::Value| -> Option<String> {
            match v {
                toml::Value::String(s) => Some(s.clone()),
                toml::Value::Integer(i) => Some(i.to_string()),
                toml::Value::Float(f) => Some(f.to_string()),
                toml::Value::Boolean(b) => Some(b.to_string()),
                _ => None,
            }
        };
        let is_flag = matches!(arg.get_action(), clap::ArgAction::SetTrue);
        match (&value, is_flag) {
            (toml::Value::Boolean(true), true) => out.push(format!("--{long}").into()),
            (toml::Value::Boolean(false), true) => {}
            (toml::Value::Array(items), false) => {
                let parts: Option<Vec<String>> = items.iter().map(scalar).collect();
                out.push(format!("--{long}={}", parts.ok_or_else(bad)?.join(",")).into());
            }
            (v, false) => out.push(format!("--{long}={}", scalar(v).ok_or_else(bad)?).into()),
            _ => return Err(bad()),
        }
    }
    Ok(out)
}
