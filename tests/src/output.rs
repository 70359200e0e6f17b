//! Collecting a child process's output lines while it runs, so a test can wait for a line
//! ("seeding", a JSON event) and print everything the process said when something fails.

use std::io::{BufRead, BufReader, Read};

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Lines read so far from one or more pipes of a child process, collected by threads.
#[derive(Clone, Default)]
pub struct Lines {
    lines: Arc<Mutex<Vec<String>>>,
}

impl Lines {
    /// An empty collector.
    pub fn new() -> Lines {
        Lines::default()
    }

    /// Start a thread that appends every line of `pipe` (prefixed by `tag` when not empty).
    /// Also echoes the lines to stderr when `SWARM_TEST_ECHO` is set (debugging aid).
    pub fn collect(&self, tag: &str, pipe: impl Read + Send + 'static) {
        let lines = self.lines.clone();
        let tag = tag.to_string();
        let echo = std::env::var_os("SWARM_TEST_ECHO").is_some();
        std::thread::spawn(move || {
            // Lines end at '\n' or '\r' (progress displays rewrite one line with '\r').
            let mut reader = BufReader::new(pipe);
            let mut current = Vec::new();
            loop {
                let (consumed, eof) = match reader.fill_buf() {
                    Ok([]) | Err(_) => (0, true),
                    Ok(buf) => {
                        for &b in buf {
                            if b == b'\n' || b == b'\r' {
                                push_line(&lines, &tag, echo, &mut current);
                            } else {
                                current.push(b);
                            }
                        }
                        (buf.len(), false)
                    }
                };
                if eof {
                    push_line(&lines, &tag, echo, &mut current);
                    break;
                }
                reader.consume(consumed);
            }
        });
    }

    /// Every line collected so far.
    pub fn snapshot(&self) -> Vec<String> {
        self.lines.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Does any line collected so far satisfy `pred`?
    pub fn any(&self, pred: impl Fn(&str) -> bool) -> bool {
        self.lines
            .lock()
            .map(|v| v.iter().any(|l| pred(l)))
            .unwrap_or(false)
    }

    /// Does any line contain `needle`?
    pub fn contains(&self, needle: &str) -> bool {
        self.any(|l| l.contains(needle))
    }

    /// Wait up to `timeout` for a line satisfying `pred`; returns whether one came.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> bool {
        crate::wait_until(timeout, || self.any(&pred))
    }

    /// The last `n` lines joined by newlines (for failure messages).
    pub fn tail(&self, n: usize) -> String {
        let v = self.snapshot();
        v[v.len().saturating_sub(n)..].join("\n")
    }
}

/// A spawned process (killed by PID on drop) whose stdout and stderr are collected.
pub struct Proc {
    /// Kills the process when the `Proc` is dropped.
    pub guard: crate::ChildGuard,
    /// Everything it printed: stdout lines as they are, stderr lines prefixed `stderr: `.
    pub out: Lines,
    /// Name used in messages.
    pub name: String,
    /// The loopback port it listens on (0 if none / unknown).
    pub port: u16,
}

impl Proc {
    /// Spawn `cmd` with stdin closed and both output pipes collected.
    pub fn spawn(name: &str, cmd: &mut std::process::Command, port: u16) -> Proc {
        use std::process::Stdio;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut guard = crate::ChildGuard::spawn(name, cmd);
        let out = Lines::new();
        if let Some(stdout) = guard.child().stdout.take() {
            out.collect("", stdout);
        }
        if let Some(stderr) = guard.child().stderr.take() {
            out.collect("stderr", stderr);
        }
        Proc {
            guard,
            out,
            name: name.to_string(),
            port,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Wait up to `timeout` for the process to exit; None if it is still running.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.guard.child().try_wait() {
                // Give the reader threads a moment to drain the pipes.
                std::thread::sleep(Duration::from_millis(100));
                return Some(status);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait up to `timeout` for a successful exit; panics (showing its output) otherwise.
    pub fn wait_success(&mut self, timeout: Duration) {
        match self.wait_exit(timeout) {
            Some(status) if status.success() => {}
            Some(status) => panic!(
                "{} failed ({status}); last output:\n{}",
                self.name,
                self.out.tail(40)
            ),
            None => panic!(
                "{} did not finish within {timeout:?}; last output:\n{}",
                self.name,
                self.out.tail(40)
            ),
        }
    }

    /// Wait up to `timeout` for an output line satisfying `pred`; panics (with output) if the
    /// process exits first or the time runs out.
    pub fn expect_line(&mut self, timeout: Duration, what: &str, pred: impl Fn(&str) -> bool) {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.out.any(&pred) {
                return;
            }
            if let Ok(Some(status)) = self.guard.child().try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                if self.out.any(&pred) {
                    return;
                }
                panic!(
                    "{} exited ({status}) before {what}; last output:\n{}",
                    self.name,
                    self.out.tail(40)
                );
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "{}: no {what} within {timeout:?}; last output:\n{}",
                    self.name,
                    self.out.tail(40)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Append `current` (if not empty) as one line, then clear it.
fn push_line(lines: &Mutex<Vec<String>>, tag: &str, echo: bool, current: &mut Vec<u8>) {
    if current.is_empty() {
        return;
    }
    let text = String::from_utf8_lossy(current).into_owned();
    current.clear();
    let line = if tag.is_empty() {
        text
    } else {
        format!("{tag}: {text}")
    };
    if echo {
        eprintln!("{line}");
    }
    if let Ok(mut v) = lines.lock() {
        v.push(line);
    }
}
