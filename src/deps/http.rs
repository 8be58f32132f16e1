//! One GET to a registry: the body, a definite "not found" (404/410), or why there is no
//! answer. Without the `registry` feature there is no HTTP client and every answer is
//! "unknown (offline)".

use std::time::Duration;

// Without the `registry` feature nothing builds these (every answer is an error).
#[cfg_attr(not(feature = "registry"), allow(dead_code))]
pub enum Fetched {
    Body(Vec<u8>),
    NotFound,
}

/// The system's certificate bundle (`SSL_CERT_FILE`, else the usual locations): trusted
/// besides the bundled roots, so a site whose traffic passes a TLS-inspecting proxy with its
/// own certificate authority (as corporate networks do) still reaches the registries.
#[cfg(feature = "registry")]
fn system_roots() -> Vec<reqwest::Certificate> {
    static ROOTS: std::sync::OnceLock<Vec<reqwest::Certificate>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(read_system_roots).clone()
}

#[cfg(feature = "registry")]
fn read_system_roots() -> Vec<reqwest::Certificate> {
    let candidates = std::env::var("SSL_CERT_FILE").into_iter().chain(
        [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/cert.pem",
        ]
        .map(String::from),
    );
    for path in candidates {
        if let Ok(pem) = std::fs::read(&path) {
            if let Ok(certs) = reqwest::Certificate::from_pem_bundle(&pem) {
                return certs;
            }
        }
    }
    Vec::new()
}

#[cfg(feature = "registry")]
pub async fn get(url: &str, timeout: Duration) -> Result<Fetched, String> {
    let mut builder = reqwest::Client::builder();
    for cert in system_roots() {
        builder = builder.add_root_certificate(cert);
    }
    let client = builder
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!(
            "overlord-tui/",
            env!("CARGO_PKG_VERSION"),
            " (dependency checks)"
        ))
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))?;
    let resp = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json, */*")
        .send()
        .await
        .map_err(|e| format!("{url}: {}", short(&e)))?;
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
        return Ok(Fetched::NotFound);
    }
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}"));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("{url}: {}", short(&e)))?;
    Ok(Fetched::Body(body.to_vec()))
}

#[cfg(feature = "registry")]
fn short(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        e.to_string()
    }
}

#[cfg(not(feature = "registry"))]
pub async fn get(url: &str, _timeout: Duration) -> Result<Fetched, String> {
    Err(format!(
        "{url}: built without the registry feature (no HTTP client)"
    ))
}
