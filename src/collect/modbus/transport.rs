//! Opening a bus and issuing one read on it. A bus carries one request at a time; callers own
//! the context exclusively, so that is guaranteed by construction.

use std::time::Duration;

use thiserror::Error;
use tokio::net::TcpStream;
use tokio_modbus::client::{Client, Context, Reader};
use tokio_modbus::prelude::SlaveContext;
use tokio_modbus::{ExceptionCode, Slave};

use super::plan::ReadBlock;
use super::url::ModbusUrl;
use crate::config::profile::Function;

#[derive(Debug, Error)]
pub enum ReadError {
    #[error("no answer within {0} ms")]
    Timeout(u64),
    #[error("Modbus exception {0}")]
    Exception(ExceptionCode),
    #[error("{0}")]
    Transport(String),
    #[error("answered {got} registers, asked for {asked}")]
    ShortReply { asked: u16, got: usize },
}

impl ReadError {
    /// Whether the connection should be dropped and reopened (its stream may hold a late reply).
    pub fn poisons_connection(&self) -> bool {
        matches!(self, ReadError::Timeout(_) | ReadError::Transport(_))
    }
}

/// Connects to a bus. The slave id is set per request with [`read_block`].
pub async fn connect(url: &ModbusUrl, timeout: Duration) -> Result<Context, String> {
    let open = async {
        match url {
            ModbusUrl::Tcp { .. } | ModbusUrl::RtuOverTcp { .. } => {
                let addr = url.socket_address().unwrap_or_default();
                let stream = TcpStream::connect(&addr)
                    .await
                    .map_err(|e| format!("cannot connect to {url}: {e}"))?;
                let _ = stream.set_nodelay(true);
                Ok(if matches!(url, ModbusUrl::Tcp { .. }) {
                    tokio_modbus::client::tcp::attach_slave(stream, Slave(1))
                } else {
                    tokio_modbus::client::rtu::attach_slave(stream, Slave(1))
                })
            }
            ModbusUrl::Rtu(s) => Err(format!(
                "serial port {}: serial RTU buses are not supported by this build yet",
                s.path
            )),
        }
    };
    tokio::time::timeout(timeout, open)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "cannot connect to {url}: no answer within {} ms",
                timeout.as_millis()
            ))
        })
}

/// Reads one block from one slave.
pub async fn read_block(
    ctx: &mut Context,
    slave: u8,
    block: &ReadBlock,
    timeout: Duration,
) -> Result<Vec<u16>, ReadError> {
    ctx.set_slave(Slave(slave));
    let request = async {
        match block.function {
            Function::Holding => ctx.read_holding_registers(block.address, block.count).await,
            Function::Input => ctx.read_input_registers(block.address, block.count).await,
        }
    };
    let words = match tokio::time::timeout(timeout, request).await {
        Err(_) => return Err(ReadError::Timeout(timeout.as_millis() as u64)),
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
    Ok(words)
}

/// Closes a context, ignoring errors (the peer may already be gone).
pub async fn close(mut ctx: Context) {
    let _ = tokio::time::timeout(Duration::from_millis(200), ctx.disconnect()).await;
}
