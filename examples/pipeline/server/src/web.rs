//! The built web page (Vite's `dist/`), served from disk: files by path, `index.html` for
//! everything else without an extension, so one URL serves page, API and hub.

use std::path::{Component, Path, PathBuf};

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// `GET /<path>` from `dir`. Paths with `..` or other non-plain parts are refused.
pub async fn serve(dir: PathBuf, uri: Uri) -> Response {
    let relative = Path::new(uri.path().trim_start_matches('/'));
    if !relative.components().all(|c| matches!(c, Component::Normal(_))) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut path = dir.join(relative);
    if !path.is_file() {
        if relative.extension().is_some() {
            return StatusCode::NOT_FOUND.into_response();
        }
        path = dir.join("index.html");
    }
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            // Vite's assets carry a content hash in their names; the page itself must be fresh.
            let cache = if relative.starts_with("assets") { "public, max-age=31536000, immutable" } else { "no-cache" };
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&path)));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            response
        }
        Err(_) => (
            StatusCode::NOT_FOUND,
            "The page is not built: run `npm ci && npm run build -w @chanspec/client -w example-pipeline-web` (or scripts/demo).",
        )
            .into_response(),
    }
}
