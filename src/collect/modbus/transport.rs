//! A bus: one open connection (Modbus TCP, RTU frames through a TCP gateway, or a serial line)
//! and one read on it at a time. Callers own a [`Bus`] exclusively, so a bus never has two
//! requests in flight.
//!
//! Bytes received are counted, so a reply that never forms a valid frame (CRC error, noise, a
//! second device answering) is reported as garbage rather than as silence.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_modbus::client::{Client, Context, Reader};
use tokio_modbus::prelude::SlaveContext;
use tokio_modbus::{ExceptionCode, Slave};

use super::plan::ReadBlock;
use super::url::{ModbusUrl, Parity, SerialSettings};
use crate::config::profile::Function;

#[derive(Debug, Error)]
pub enum ReadError {
    #[error("no answer within {0} ms")]
    Timeout(u64),
    #[error("Modbus exception {0}")]
    Exception(ExceptionCode),
    #[error("garbled answer: {bytes} byte(s) that form no valid frame (CRC error or line noise)")]
    Garbage { bytes: u64 },
    #[error("{0}")]
    Transport(String),
    #[error("answered {got} registers, asked for {asked}")]
    ShortReply { asked: u16, got: usize },
}

impl ReadError {
    /// Whether the connection should be dropped and reopened (its stream may hold a late or
    /// partial reply that would be taken for the next one).
    pub fn poisons_connection(&self) -> bool {
        matches!(
            self,
            ReadError::Timeout(_) | ReadError::Transport(_) | ReadError::Garbage { .. }
        )
    }

    /// A short name for counters: `timeout`, `exception`, `garbage`, `transport`, `short_reply`.
    pub fn kind(&self) -> &'static str {
        match self {
            ReadError::Timeout(_) => "timeout",
            ReadError::Exception(_) => "exception",
            ReadError::Garbage { .. } => "garbage",
            ReadError::Transport(_) => "transport",
            ReadError::ShortReply { .. } => "short_reply",
        }
    }
}

/// How replies are framed on the bus: sizes differ, and serial lines need silent gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Tcp,
    Rtu,
}

/// A stream that counts the bytes it receives.
#[derive(Debug)]
struct Counting<S> {
    inner: S,
    received: Arc<AtomicU64>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counting<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.received.fetch_add(n as u64, Ordering::Relaxed);
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counting<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The silent interval that must separate RTU frames on a serial line (3.5 characters; fixed
/// 1.75 ms above 19200 baud).
pub fn inter_frame_gap(s: &SerialSettings) -> Duration {
    if s.baud > 19_200 {
        return Duration::from_micros(1750);
    }
    let bits_per_char =
        1 + s.data_bits as u32 + s.stop_bits as u32 + u32::from(s.parity != Parity::None);
    Duration::from_secs_f64(3.5 * bits_per_char as f64 / s.baud as f64)
}

/// Opens a serial port with the line's settings.
pub fn open_serial(s: &SerialSettings) -> Result<tokio_serial::SerialStream, String> {
    use tokio_serial::SerialPortBuilderExt;
    tokio_serial::new(&s.path, s.baud)
        .parity(match s.parity {
            Parity::None => tokio_serial::Parity::None,
            Parity::Even => tokio_serial::Parity::Even,
            Parity::Odd => tokio_serial::Parity::Odd,
        })
        .data_bits(match s.data_bits {
            5 => tokio_serial::DataBits::Five,
            6 => tokio_serial::DataBits::Six,
            7 => tokio_serial::DataBits::Seven,
            _ => tokio_serial::DataBits::Eight,
        })
        .stop_bits(if s.stop_bits == 2 {
            tokio_serial::StopBits::Two
        } else {
            tokio_serial::StopBits::One
        })
        .open_native_async()
        .map_err(|e| format!("cannot open serial port {}: {e}", s.path))
}

/// One open bus.
pub struct Bus {
    ctx: Context,
    received: Arc<AtomicU64>,
    framing: Framing,
    /// Minimum silence between the end of one exchange and the next request.
    gap: Duration,
    last_exchange: Option<Instant>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("framing", &self.framing)
            .field("gap", &self.gap)
            .finish()
    }
}

/// Garbage bytes seen by a successful read (junk before a valid frame), for the health counters.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReadStats {
    pub garbage_bytes: u64,
}

impl Bus {
    /// Opens a bus. `connect_delay` waits after connecting, for devices that ignore the first
    /// request on a fresh connection.
    pub async fn open(
        url: &ModbusUrl,
        timeout: Duration,
        connect_delay: Duration,
    ) -> Result<Bus, String> {
        let received = Arc::new(AtomicU64::new(0));
        let open = async {
            match url {
                ModbusUrl::Tcp { .. } | ModbusUrl::RtuOverTcp { .. } => {
                    let addr = url.socket_address().unwrap_or_default();
                    let stream = TcpStream::connect(&addr)
                        .await
                        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
                    let _ = stream.set_nodelay(true);
                    let stream = Counting {
                        inner: stream,
                        received: received.clone(),
                    };
                    Ok(if matches!(url, ModbusUrl::Tcp { .. }) {
                        (
                            tokio_modbus::client::tcp::attach_slave(stream, Slave(1)),
                            Framing::Tcp,
                            Duration::ZERO,
                        )
                    } else {
                        (
                            tokio_modbus::client::rtu::attach_slave(stream, Slave(1)),
                            Framing::Rtu,
                            Duration::ZERO,
                        )
                    })
                }
                ModbusUrl::Rtu(s) => {
                    let port = open_serial(s)?;
                    let stream = Counting {
                        inner: port,
                        received: received.clone(),
                    };
                    Ok((
                        tokio_modbus::client::rtu::attach_slave(stream, Slave(1)),
                        Framing::Rtu,
                        inter_frame_gap(s),
                    ))
                }
            }
        };
        let (ctx, framing, gap) =
            tokio::time::timeout(timeout, open)
                .await
                .unwrap_or_else(|_| {
                    Err(format!(
                        "cannot connect to {url}: no answer within {} ms",
                        timeout.as_millis()
                    ))
                })?;
        if !connect_delay.is_zero() {
            tokio::time::sleep(connect_delay).await;
        }
        Ok(Bus {
            ctx,
            received,
            framing,
            gap,
            last_exchange: None,
        })
    }

    /// Bytes of a normal reply to a read of `count` registers.
    fn reply_len(&self, count: u16) -> u64 {
        match self.framing {
            Framing::Tcp => 9 + 2 * count as u64,
            Framing::Rtu => 5 + 2 * count as u64,
        }
    }

    /// Reads one block from one device.
    pub async fn read(
        &mut self,
        slave: u8,
        block: &ReadBlock,
        timeout: Duration,
    ) -> Result<(Vec<u16>, ReadStats), ReadError> {
        // Keep the line silent for the inter-frame gap. (Only sleep when there is something
        // to wait for: a timer, even an expired one, costs up to a tick.)
        if let Some(quiet_until) = self.last_exchange.map(|t| t + self.gap)
            && quiet_until > Instant::now()
        {
            tokio::time::sleep_until(quiet_until).await;
        }
        self.ctx.set_slave(Slave(slave));
        let before = self.received.load(Ordering::Relaxed);
        let ctx = &mut self.ctx;
        let request = async {
            match block.function {
                Function::Holding => ctx.read_holding_registers(block.address, block.count).await,
                Function::Input => ctx.read_input_registers(block.address, block.count).await,
            }
        };
        let result = tokio::time::timeout(timeout, request).await;
        self.last_exchange = Some(Instant::now());
        let bytes = self.received.load(Ordering::Relaxed) - before;
        let words = match result {
            Err(_) if bytes > 0 => return Err(ReadError::Garbage { bytes }),
            Err(_) => return Err(ReadError::Timeout(timeout.as_millis() as u64)),
            Ok(Err(tokio_modbus::Error::Transport(e)))
                if e.kind() == std::io::ErrorKind::InvalidData =>
            {
                return Err(ReadError::Garbage { bytes });
            }
            // A frame that does not answer this request (wrong transaction, unit or function).
            Ok(Err(tokio_modbus::Error::Protocol(_))) => return Err(ReadError::Garbage { bytes }),
            Ok(Err(e)) => return Err(ReadError::Transport(e.to_string())),
            Ok(Ok(Err(code))) => return Err(ReadError::Exception(code)),
            Ok(Ok(Ok(words))) => words,
        };
        if words.len() < block.count as usize {
            return Err(ReadError::ShortReply {
                asked: block.count,
                got: words.len(),
            });
        }
        let garbage_bytes = bytes.saturating_sub(self.reply_len(block.count));
        Ok((words, ReadStats { garbage_bytes }))
    }

    /// Closes the bus, ignoring errors (the peer may already be gone).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_millis(200), self.ctx.disconnect()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inter_frame_gap_follows_the_line_speed() {
        let s = |baud, parity| SerialSettings {
            path: "/dev/null".into(),
            baud,
            parity,
            data_bits: 8,
            stop_bits: 1,
        };
        // 8E1 = 11 bits per character: 3.5 × 11 / 9600 = 4.01 ms.
        let gap = inter_frame_gap(&s(9600, Parity::Even));
        assert!((gap.as_secs_f64() - 0.00401).abs() < 0.00001, "{gap:?}");
        // 8N1 = 10 bits: 3.65 ms.
        assert!((inter_frame_gap(&s(9600, Parity::None)).as_secs_f64() - 0.003646).abs() < 0.00001);
        assert_eq!(
            inter_frame_gap(&s(38400, Parity::Even)),
            Duration::from_micros(1750)
        );
    }
}
