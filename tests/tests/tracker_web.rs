//! The tracker's pages as a person sees them, in headless Chromium (Debian's `chromium`):
//! the status page and the catalog (names, counts, a working search), with a screenshot of
//! each kept under `target/tracker-web/` as a test artifact. Also the deployment files:
//! the systemd unit passes `systemd-analyze verify`. And `mkmeta --publish` against a real
//! tracker process, and `swarm get` of a catalog download link.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use swarm_tests::http::request;
use swarm_tests::output::Proc;
use swarm_tests::{bin, free_port, require_tool, wait_for_port};

/// Our tracker with a publish token, on a free port.
fn start_tracker(dir: &Path) -> Proc {
    let port = free_port();
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, "web-test-token\n").expect("token file");
    let mut cmd = Command::new(bin("tracker"));
    cmd.args(["--listen", &format!("127.0.0.1:{port}"), "--udp", "off"])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--publish-token-file")
        .arg(&tokens);
    let proc = Proc::spawn("tracker", &mut cmd, port);
    wait_for_port(port, Duration::from_secs(30));
    proc
}

/// A valid single-file metainfo.
fn meta(name: &str, len: u64) -> Vec<u8> {
    let pieces = len.div_ceil(16384) as usize;
    let mut out = format!(
        "d4:infod6:lengthi{len}e4:name{}:{name}12:piece lengthi16384e6:pieces{}:",
        name.len(),
        pieces * 20
    )
    .into_bytes();
    out.extend((0..pieces * 20).map(|i| (i as u8) ^ name.len() as u8));
    out.extend_from_slice(b"ee");
    out
}

/// Where screenshots are kept: `<target>/tracker-web/`.
fn artifact_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    let dir = target.join("tracker-web");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    dir
}

/// Headless Chromium with a fresh profile and nothing that reaches beyond loopback.
fn chromium(profile: &Path, args: &[String]) -> String {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The page's DOM after Chromium rendered it.
fn dom(profile: &Path, url: &str) -> String {
    chromium(profile, &["--dump-dom".into(), url.into()])
}

/// A PNG of the page at phone width.
fn screenshot(profile: &Path, url: &str, file: &Path) {
    let _ = std::fs::remove_file(file);
    chromium(
        profile,
        &[
            format!("--screenshot={}", file.display()),
            "--window-size=412,915".into(),
            url.into(),
        ],
    );
    let png = std::fs::read(file).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 2000,
        "a real screenshot"
    );
}

/// Text of the first element with `id="ID"` in a dumped DOM.
fn by_id(dom: &str, id: &str) -> String {
    let tag = format!("id=\"{id}\">");
    let at = dom
        .find(&tag)
        .unwrap_or_else(|| panic!("no #{id} in the page"))
        + tag.len();
    dom[at..].split('<').next().unwrap_or("").trim().to_string()
}

#[test]
fn status_and_catalog_pages_render_in_chromium() {
    if !require_tool("chromium") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tracker = start_tracker(dir.path());
    let port = tracker.port;
    for (name, len) in [
        ("debian-12.iso", 3_000_000u64),
        ("notes <b>bold.txt", 40_000),
        ("alpine.tar", 900_000),
    ] {
        let (status, body) = request(
            port,
            "POST",
            "/torrents",
            &[
                "Authorization: Bearer web-test-token",
                "Content-Type: application/x-bittorrent",
            ],
            &meta(name, len),
        );
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    }
    // Two leechers and a seeder in the Debian swarm.
    let debian = metainfo::Metainfo::from_bytes(&meta("debian-12.iso", 3_000_000))
        .unwrap()
        .info_hash;
    for (peer, left) in [(7001, 5), (7002, 9), (7003, 0)] {
        let path = format!(
            "/announce?info_hash={}&peer_id=-TT0001-00000000{peer}&port={peer}&uploaded=0&downloaded=0&left={left}",
            debian.url_encoded()
        );
        assert_eq!(request(port, "GET", &path, &[], b"").0, 200);
    }
    let profile = tempfile::tempdir().unwrap();
    let base = format!("http://127.0.0.1:{port}");

    let status = dom(profile.path(), &format!("{base}/"));
    assert_eq!(by_id(&status, "seeders"), "1");
    assert_eq!(by_id(&status, "leechers"), "2");
    assert_eq!(by_id(&status, "torrents"), "1");
    assert!(
        status.contains(">debian-12.iso</a>"),
        "the busiest swarm by name"
    );

    let catalog = dom(profile.path(), &format!("{base}/torrents"));
    assert!(by_id(&catalog, "summary").starts_with("3 of 3 torrents"));
    for name in ["debian-12.iso", "alpine.tar", "notes &lt;b&gt;bold.txt"] {
        assert!(catalog.contains(name), "{name} listed");
    }
    assert!(!catalog.contains("<b>bold"), "names are escaped");
    // The search form submits `q` by GET: what a person gets by typing "debian" and pressing Search.
    let found = dom(
        profile.path(),
        &format!("{base}/torrents?q=debian&sort=added"),
    );
    assert!(by_id(&found, "summary").starts_with("1 of 3 torrents"));
    assert!(found.contains("debian-12.iso") && !found.contains("alpine.tar"));
    assert!(
        found.contains("value=\"debian\""),
        "the search box keeps the text"
    );

    let shots = artifact_dir();
    screenshot(
        profile.path(),
        &format!("{base}/"),
        &shots.join("status.png"),
    );
    screenshot(
        profile.path(),
        &format!("{base}/torrents"),
        &shots.join("catalog.png"),
    );
    eprintln!("screenshots in {}", shots.display());
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    if !require_tool("systemd-analyze") {
        return;
    }
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/swarm-tracker.service");
    let text = std::fs::read_to_string(&unit).expect("deploy/swarm-tracker.service");
    // Verify it as installed, with the binary where the unit expects one.
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("swarm-tracker.service");
    let tracker = bin("tracker");
    std::fs::write(
        &local,
        text.replace("/usr/local/bin/tracker", &tracker.display().to_string()),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&local)
        .output()
        .expect("run systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {stderr}");
    assert!(
        !stderr.contains("swarm-tracker.service:"),
        "warnings about the unit: {stderr}"
    );
}

/// `mkmeta PATH -o OUT --publish URL` in `dir`, with `token` (if any) as
/// `$SWARM_PUBLISH_TOKEN`; returns (success, stdout, stderr).
fn mkmeta_publish(dir: &Path, out: &str, url: &str, token: Option<&str>) -> (bool, String, String) {
    let mut cmd = Command::new(bin("mkmeta"));
    cmd.current_dir(dir)
        .args(["payload.bin", "-o", out, "--force", "--publish", url])
        .args(["-t", "http://127.0.0.1:1/announce"])
        .env_remove("SWARM_PUBLISH_TOKEN");
    if let Some(token) = token {
        cmd.env("SWARM_PUBLISH_TOKEN", token);
    }
    let run = cmd.output().expect("run mkmeta");
    (
        run.status.success(),
        String::from_utf8_lossy(&run.stdout).into_owned(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    )
}

#[test]
fn mkmeta_publish_puts_the_file_in_the_catalog_and_prints_its_url() {
    let dir = tempfile::tempdir().unwrap();
    let tracker = start_tracker(dir.path());
    let port = tracker.port;
    swarm_tests::write_random_file(&dir.path().join("payload.bin"), 300_000, 12);
    let (ok, stdout, stderr) = mkmeta_publish(
        dir.path(),
        "payload.meta",
        &format!("http://127.0.0.1:{port}"),
        Some("web-test-token"),
    );
    assert!(ok, "mkmeta --publish failed: {stderr}");
    let bytes = std::fs::read(dir.path().join("payload.meta")).expect("the file is written too");
    let hex = metainfo::Metainfo::from_bytes(&bytes)
        .unwrap()
        .info_hash
        .to_hex();
    let url = format!("http://127.0.0.1:{port}/torrents/{hex}");
    assert!(
        stdout.lines().any(|l| l == format!("catalog:   {url}")),
        "the catalog URL is printed: {stdout}"
    );
    // The catalog serves exactly the bytes mkmeta wrote.
    let (status, served) = request(port, "GET", &format!("/torrents/{hex}.meta"), &[], b"");
    assert_eq!((status, served.as_slice()), (200, bytes.as_slice()));
    // Publishing the same again (the `/torrents` form of the URL) is fine: same entry.
    let (ok, stdout, stderr) = mkmeta_publish(
        dir.path(),
        "payload.meta",
        &format!("http://127.0.0.1:{port}/torrents/"),
        Some("web-test-token"),
    );
    assert!(ok && stdout.contains(&url), "{stdout}{stderr}");
}

#[test]
fn mkmeta_publish_refused_is_one_line_naming_the_url_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let tracker = start_tracker(dir.path());
    let endpoint = format!("http://127.0.0.1:{}/torrents", tracker.port);
    swarm_tests::write_random_file(&dir.path().join("payload.bin"), 50_000, 13);
    let error_line = |stderr: &str| -> String {
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("mkmeta: error:"))
            .collect();
        assert_eq!(errors.len(), 1, "one error line: {stderr}");
        errors[0].to_string()
    };
    for (token, status) in [(None, "401"), (Some("not-the-token"), "403")] {
        let (ok, _, stderr) = mkmeta_publish(
            dir.path(),
            "payload.meta",
            &format!("http://127.0.0.1:{}", tracker.port),
            token,
        );
        assert!(!ok, "a refused publish exits 1");
        let line = error_line(&stderr);
        assert!(
            line.contains(&endpoint) && line.contains(status),
            "{token:?}: {line}"
        );
        assert!(dir.path().join("payload.meta").exists(), "the file stays");
    }
    let (status, list) = request(tracker.port, "GET", "/torrents?format=json", &[], b"");
    assert_eq!(
        (status, list.as_slice()),
        (200, &b"[]"[..]),
        "nothing stored"
    );
    // Nobody listening: the error still names the URL.
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let (ok, _, stderr) = mkmeta_publish(dir.path(), "payload.meta", &nobody, Some("x"));
    assert!(!ok);
    assert!(
        error_line(&stderr).contains(&format!("{nobody}/torrents")),
        "{stderr}"
    );
}

#[test]
fn swarm_get_of_a_catalog_download_link_fetches_the_metainfo_and_then_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let tracker = start_tracker(dir.path());
    let port = tracker.port;
    let seed_dir = dir.path().join("seed");
    std::fs::create_dir_all(&seed_dir).unwrap();
    swarm_tests::write_random_file(&seed_dir.join("payload.bin"), 700_000, 14);
    let (ok, _, stderr) = mkmeta_publish(
        &seed_dir,
        "payload.meta",
        &format!("http://127.0.0.1:{port}"),
        Some("web-test-token"),
    );
    assert!(ok, "mkmeta --publish failed: {stderr}");
    let meta = seed_dir.join("payload.meta");
    let hex = metainfo::Metainfo::from_bytes(&std::fs::read(&meta).unwrap())
        .unwrap()
        .info_hash
        .to_hex();
    // The metainfo names a closed tracker port: the seeder is reached with --peer.
    let seeder = swarm_tests::ours::swarm_seed_all(&[&meta]);
    let url = format!("http://127.0.0.1:{port}/torrents/{hex}.meta");
    let out = dir.path().join("out");
    let mut get =
        swarm_tests::ours::swarm_get(Path::new(&url), &out, &[seeder.addr()], &["--no-tracker"]);
    get.wait_success(Duration::from_secs(180));
    assert!(swarm_tests::same_contents(
        &seed_dir.join("payload.bin"),
        &out.join("payload.bin")
    ));
}
