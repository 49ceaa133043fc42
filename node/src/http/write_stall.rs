//! A bound on how long a connection's writes may wait for its client to
//! read (issue 21): hyper has a timer for reading a request head, none for
//! writing an answer. A client that opens the event stream (or asks for a
//! large answer) and then never reads would hold its connection, and its
//! place under `[connections]`, for as long as it liked once the socket's
//! buffers were full.
//!
//! [`WriteStallBound`] wraps the socket: a write or flush that stays
//! pending for `write_stall_timeout_ms` without a byte accepted fails with
//! `TimedOut`, and hyper then closes the connection. Any progress restarts
//! the clock, so a slow reader that keeps reading is served; reading is
//! untouched (the header timer and body bounds cover it).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// A stream whose writes fail after stalling for `limit`.
pub(crate) struct WriteStallBound<S> {
    inner: S,
    limit: Duration,
    /// Armed when a write or flush first finds the socket full; disarmed by
    /// any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteStallBound<S> {
    pub(crate) fn new(inner: S, limit: Duration) -> Self {
        WriteStallBound {
            inner,
            limit,
            stalled: None,
        }
    }

    /// After the socket answered `Pending`: still pending, or timed out.
    fn stall<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let limit = self.limit;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing within the write-stall timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn progressed<T>(&mut self, ready: io::Result<T>) -> Poll<io::Result<T>> {
        self.stalled = None;
        Poll::Ready(ready)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteStallBound<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteStallBound<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(result) => this.progressed(result),
            Poll::Pending => this.stall(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => this.progressed(result),
            Poll::Pending => this.stall(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(result) => this.progressed(result),
            Poll::Pending => this.stall(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const LIMIT: Duration = Duration::from_millis(200);

    #[tokio::test]
    async fn a_client_that_never_reads_is_cut_off() {
        // A 1 KiB pipe standing for the socket's buffers; nobody reads.
        let (near, _far) = tokio::io::duplex(1024);
        let mut bounded = WriteStallBound::new(near, LIMIT);
        let started = tokio::time::Instant::now();
        let error = bounded.write_all(&[7; 64 * 1024]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= LIMIT);
    }

    #[tokio::test]
    async fn a_slow_reader_that_keeps_reading_is_served() {
        let (near, mut far) = tokio::io::duplex(1024);
        let mut bounded = WriteStallBound::new(near, LIMIT);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut chunk = [0u8; 512];
            loop {
                // Each read well within the limit, the whole far beyond it.
                tokio::time::sleep(LIMIT / 10).await;
                match far.read(&mut chunk).await.unwrap() {
                    0 => return got,
                    n => got.extend_from_slice(&chunk[..n]),
                }
            }
        });
        let sent = vec![9u8; 16 * 1024];
        bounded.write_all(&sent).await.unwrap();
        bounded.shutdown().await.unwrap();
        drop(bounded);
        assert_eq!(reader.await.unwrap(), sent);
    }
}
