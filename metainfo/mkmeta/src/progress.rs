//! The byte progress bar drawn on stderr while hashing (hidden when stderr is not a terminal).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Are progress bars drawn? Only when stderr is a terminal.
pub fn visible() -> bool {
    std::io::stderr().is_terminal()
}

/// A progress bar over `total` bytes labelled `label`; hidden unless stderr is a terminal.
pub fn bytes_bar(total: u64, label: &str) -> ProgressBar {
    if !visible() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label.to_string());
    bar
}
