//! The wire between a daemon and its clients: each frame is a big-endian `u32` length followed by
//! that many bytes of JSON. The first frame each way is a [`Hello`]; every later frame from a
//! client is a [`ClientFrame`], every later frame from the daemon a [`DaemonFrame`].

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::status::StatusReport;
use crate::protocol::{Command, PROTOCOL_VERSION, Update};

/// Bumped whenever the frame types below change shape (the update types have
/// [`PROTOCOL_VERSION`]).
pub const FRAME_VERSION: u32 = 1;

/// The largest body accepted. A snapshot of 10 symbols × 4 intervals measured 1.5 MB of JSON
/// with 10,250 candles and their indicator values (about 3.5 MB once all 40 series hold 600), so
/// this leaves room for many more symbols.
pub const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

/// The first frame each way: which protocol this side speaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`]: the shape of `Update` and `Command`.
    pub protocol_version: u32,
    /// [`FRAME_VERSION`]: the shape of the frames around them.
    pub frame_version: u32,
    /// The program's version (`CARGO_PKG_VERSION`), for the error message.
    pub program_version: String,
}

impl Hello {
    /// What this build speaks.
    pub fn ours() -> Self {
        Self {
            protocol_version: PROTOCOL_VERSION,
            frame_version: FRAME_VERSION,
            program_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// Whether `self` (ours) and `theirs` can talk; if not, why, in words for both ends.
    pub fn check(&self, theirs: &Hello, theirs_are: &str) -> Result<(), String> {
        if self.protocol_version == theirs.protocol_version
            && self.frame_version == theirs.frame_version
        {
            return Ok(());
        }
        Err(format!(
            "protocol mismatch: the {theirs_are} is trademon {} speaking protocol {}.{}, this is \
             trademon {} speaking protocol {}.{}; run the same trademon version on both ends \
             (restart the daemon after an upgrade)",
            theirs.program_version,
            theirs.protocol_version,
            theirs.frame_version,
            self.program_version,
            self.protocol_version,
            self.frame_version
        ))
    }
}

/// What a client sends after its hello.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientFrame {
    /// Send updates: a snapshot now, then deltas (what `attach` asks for first).
    Subscribe,
    /// A command for the engine (a `RequestSnapshot` is answered by the daemon itself, to this
    /// client only, and subscribes it).
    Command(Command),
    /// Ask for a one-shot [`StatusReport`].
    Status,
}

/// What the daemon sends after its hello.
// A frame lives only between decoding and unpacking; boxing the update would cost an
// allocation per update for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DaemonFrame {
    Update(Update),
    Status(Box<StatusReport>),
    /// The daemon will not serve this client (e.g. a protocol mismatch) and closes the socket.
    Refused {
        reason: String,
    },
}

/// Why reading or writing a frame failed.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the other end closed the connection")]
    Closed,
    #[error("frame of {length} bytes is over the {max} byte limit")]
    TooLarge { length: usize, max: usize },
    #[error("empty frame (length 0)")]
    Empty,
    #[error("frame stalled: {received} of its {length} bytes arrived, then nothing for {stall:?}")]
    Stalled {
        received: usize,
        length: usize,
        stall: Duration,
    },
    #[error("malformed frame of {length} bytes: {source} (starts with {start:?})")]
    Malformed {
        length: usize,
        start: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot encode a frame: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
}

/// The frame's bytes, length prefix included.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, FrameError> {
    let mut bytes = vec![0; 4];
    serde_json::to_writer(&mut bytes, message).map_err(FrameError::Encode)?;
    let length = bytes.len() - 4;
    if length > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge {
            length,
            max: MAX_FRAME_BYTES,
        });
    }
    let prefix = u32::try_from(length).map_err(|_| FrameError::TooLarge {
        length,
        max: MAX_FRAME_BYTES,
    })?;
    bytes[..4].copy_from_slice(&prefix.to_be_bytes());
    Ok(bytes)
}

/// Parses one frame's body.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, FrameError> {
    serde_json::from_slice(body).map_err(|source| FrameError::Malformed {
        length: body.len(),
        start: String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned(),
        source,
    })
}

/// Once a frame has begun, the other end must send more of it within this long, or the frame is
/// given up and the connection with it. Between frames a side may be idle as long as it likes (an
/// attached console that sends no command).
pub const FRAME_STALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The first step of a frame's buffer; it then doubles as bytes arrive, up to the frame's length.
const FIRST_CHUNK: usize = 4096;

/// Reads one frame's body into `buffer` (reused between frames). A clean end of stream before a
/// frame starts is [`FrameError::Closed`]; a frame that stops arriving for
/// [`FRAME_STALL_TIMEOUT`] is [`FrameError::Stalled`].
pub async fn read_body<R: AsyncRead + Unpin>(
    reader: &mut R,
    buffer: &mut Vec<u8>,
) -> Result<(), FrameError> {
    read_body_within(reader, buffer, FRAME_STALL_TIMEOUT).await
}

/// [`read_body`] with the stall limit given. The buffer grows with the bytes that arrive, never
/// to the announced length up front: a length prefix is a claim, and a peer that announces 64 MiB
/// and sends one byte must cost one byte, not 64 MiB.
pub async fn read_body_within<R: AsyncRead + Unpin>(
    reader: &mut R,
    buffer: &mut Vec<u8>,
    stall: Duration,
) -> Result<(), FrameError> {
    let mut prefix = [0u8; 4];
    // The first byte may take as long as it likes: that is idling between frames.
    let mut got = reader.read(&mut prefix).await?;
    if got == 0 {
        return Err(FrameError::Closed);
    }
    while got < prefix.len() {
        let n = within(stall, got, 4, reader.read(&mut prefix[got..])).await?;
        if n == 0 {
            // A prefix cut short is a peer that went away between frames.
            return Err(FrameError::Closed);
        }
        got += n;
    }
    let length = u32::from_be_bytes(prefix) as usize;
    if length == 0 {
        return Err(FrameError::Empty);
    }
    if length > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge {
            length,
            max: MAX_FRAME_BYTES,
        });
    }
    buffer.clear();
    let mut body = (&mut *reader).take(length as u64);
    while buffer.len() < length {
        if buffer.len() == buffer.capacity() {
            let target = (buffer.capacity() * 2).max(FIRST_CHUNK).min(length);
            buffer.reserve_exact(target - buffer.len());
        }
        let n = within(stall, buffer.len(), length, body.read_buf(buffer)).await?;
        if n == 0 {
            return Err(FrameError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "the connection ended {} bytes into a frame of {length}",
                    buffer.len()
                ),
            )));
        }
    }
    Ok(())
}

/// One read of a frame that has begun, given up after `stall`.
async fn within(
    stall: Duration,
    received: usize,
    length: usize,
    read: impl std::future::Future<Output = std::io::Result<usize>>,
) -> Result<usize, FrameError> {
    match tokio::time::timeout(stall, read).await {
        Ok(n) => Ok(n?),
        Err(_) => Err(FrameError::Stalled {
            received,
            length,
            stall,
        }),
    }
}

/// Reads and parses one frame.
pub async fn read<T: DeserializeOwned, R: AsyncRead + Unpin>(
    reader: &mut R,
    buffer: &mut Vec<u8>,
) -> Result<T, FrameError> {
    read_body(reader, buffer).await?;
    decode(buffer)
}

/// Encodes and writes one frame.
pub async fn write<T: Serialize, W: AsyncWrite + Unpin>(
    writer: &mut W,
    message: &T,
) -> Result<(), FrameError> {
    let bytes = encode(message)?;
    writer.write_all(&bytes).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_from(bytes: &[u8]) -> Result<ClientFrame, FrameError> {
        let mut reader = bytes;
        read(&mut reader, &mut Vec::new()).await
    }

    #[tokio::test]
    async fn a_frame_round_trips() {
        let frame = ClientFrame::Command(Command::Reconnect);
        let bytes = encode(&frame).unwrap();
        assert_eq!(&bytes[..4], &((bytes.len() - 4) as u32).to_be_bytes());
        assert_eq!(read_from(&bytes).await.unwrap(), frame);
    }

    #[tokio::test]
    async fn garbage_is_a_clear_error() {
        let mut bytes = 5u32.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"{oops");
        let e = read_from(&bytes).await.unwrap_err();
        assert!(matches!(e, FrameError::Malformed { length: 5, .. }), "{e}");
        assert!(e.to_string().contains("{oops"), "{e}");
        // Valid JSON of the wrong shape is malformed too.
        let bytes = encode(&serde_json::json!({"Launch": "rockets"})).unwrap();
        let e = read_from(&bytes).await.unwrap_err();
        assert!(e.to_string().contains("unknown variant `Launch`"), "{e}");
    }

    #[tokio::test]
    async fn oversized_empty_truncated_and_closed_frames_are_told_apart() {
        let big = ((MAX_FRAME_BYTES + 1) as u32).to_be_bytes();
        let e = read_from(&big).await.unwrap_err();
        assert!(e.to_string().contains("over the"), "{e}");
        let e = read_from(&0u32.to_be_bytes()).await.unwrap_err();
        assert!(matches!(e, FrameError::Empty), "{e}");
        let mut cut = encode(&ClientFrame::Status).unwrap();
        cut.pop();
        let e = read_from(&cut).await.unwrap_err();
        assert!(matches!(e, FrameError::Io(_)), "{e}");
        let e = read_from(&[]).await.unwrap_err();
        assert!(matches!(e, FrameError::Closed), "{e}");
        let e = read_from(&[0, 0]).await.unwrap_err();
        assert!(matches!(e, FrameError::Closed), "{e}");
    }

    #[tokio::test]
    async fn an_announced_length_is_not_allocated_before_its_bytes_arrive() {
        let (mut peer, mut ours) = tokio::io::duplex(1024);
        peer.write_all(&(MAX_FRAME_BYTES as u32).to_be_bytes())
            .await
            .unwrap();
        peer.write_all(b"{").await.unwrap();
        let mut buffer = Vec::new();
        let stall = Duration::from_millis(200);
        let started = std::time::Instant::now();
        let e = read_body_within(&mut ours, &mut buffer, stall)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                FrameError::Stalled {
                    received: 1,
                    length: MAX_FRAME_BYTES,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("1 of its 67108864 bytes"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(buffer.len(), 1);
        assert!(
            buffer.capacity() <= FIRST_CHUNK,
            "{} bytes reserved for 1 received",
            buffer.capacity()
        );
        // A prefix cut in half and left there stalls the same way.
        let (mut peer, mut ours) = tokio::io::duplex(1024);
        peer.write_all(&[0, 0]).await.unwrap();
        let e = read_body_within(&mut ours, &mut Vec::new(), stall)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                FrameError::Stalled {
                    received: 2,
                    length: 4,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_large_frame_arriving_in_pieces_is_read_whole_into_a_buffer_of_its_size() {
        let body = serde_json::to_vec(&"x".repeat(1_000_000)).unwrap();
        let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(&body);
        let (mut peer, mut ours) = tokio::io::duplex(7_001);
        let writer = tokio::spawn(async move {
            for piece in bytes.chunks(7_001) {
                peer.write_all(piece).await.unwrap();
            }
            peer
        });
        let mut buffer = Vec::new();
        read_body(&mut ours, &mut buffer).await.unwrap();
        assert_eq!(buffer, body);
        assert!(buffer.capacity() <= body.len(), "{}", buffer.capacity());
        drop(writer.await.unwrap());
        // The connection ending inside a frame is an I/O error, not a clean close.
        let (mut peer, mut ours) = tokio::io::duplex(64);
        peer.write_all(&10u32.to_be_bytes()).await.unwrap();
        peer.write_all(b"{}").await.unwrap();
        drop(peer);
        let e = read_body(&mut ours, &mut Vec::new()).await.unwrap_err();
        assert!(e.to_string().contains("2 bytes into a frame of 10"), "{e}");
    }

    #[test]
    fn a_version_mismatch_names_both_versions() {
        let ours = Hello::ours();
        assert!(ours.check(&Hello::ours(), "daemon").is_ok());
        let theirs = Hello {
            protocol_version: PROTOCOL_VERSION + 1,
            frame_version: FRAME_VERSION,
            program_version: "9.9.9".to_string(),
        };
        let e = ours.check(&theirs, "daemon").unwrap_err();
        assert!(e.contains("the daemon is trademon 9.9.9"), "{e}");
        assert!(
            e.contains(&format!(
                "protocol {}.{FRAME_VERSION}",
                PROTOCOL_VERSION + 1
            )),
            "{e}"
        );
    }
}
