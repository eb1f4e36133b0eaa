//! A small HTTP/1.1 client for the reward service (one keep-alive
//! connection, requests in sequence), used by the tests and the load test.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use metaalign_core::{Error, Result};
use tokio::net::TcpStream;

/// One connection to a reward service.
pub struct Client {
    sender: SendRequest<Full<Bytes>>,
    host: String,
    token: Option<String>,
}

impl Client {
    /// Connects; `token` is sent as a bearer token on every request.
    pub async fn connect(addr: SocketAddr, token: Option<String>) -> Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| Error::wrap(format!("cannot connect to {addr}"), e))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| Error::wrap("HTTP handshake failed", e))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Client {
            sender,
            host: addr.to_string(),
            token,
        })
    }

    /// Sends one request and reads the whole answer.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes)> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.host)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| Error::wrap("cannot build the request", e))?;
        self.sender
            .ready()
            .await
            .map_err(|e| Error::wrap("connection closed", e))?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| Error::wrap("request failed", e))?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| Error::wrap("cannot read the answer", e))?
            .to_bytes();
        Ok((status, body))
    }

    /// `POST path` with a JSON body.
    pub async fn post(
        &mut self,
        path: &str,
        body: impl Into<Bytes>,
    ) -> Result<(StatusCode, Bytes)> {
        self.request(Method::POST, path, body.into()).await
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Result<(StatusCode, Bytes)> {
        self.request(Method::GET, path, Bytes::new()).await
    }
}
