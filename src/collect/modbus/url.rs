//! Connection URLs: `tcp://host:port`, `rtu-tcp://host:port` (RTU frames through a transparent
//! RS-485 gateway), `rtu:///dev/ttyUSB0?baud=9600&parity=E`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModbusUrl {
    Tcp { host: String, port: u16 },
    RtuOverTcp { host: String, port: u16 },
    Rtu(SerialSettings),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialSettings {
    pub path: String,
    pub baud: u32,
    pub parity: Parity,
    pub data_bits: u8,
    pub stop_bits: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parity {
    None,
    Even,
    Odd,
}

impl ModbusUrl {
    pub fn parse(url: &str) -> Result<ModbusUrl, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("`{url}` is not a URL like tcp://host:502"))?;
        match scheme {
            "tcp" | "rtu-tcp" => {
                let (host, port) = host_port(rest, url)?;
                Ok(if scheme == "tcp" {
                    ModbusUrl::Tcp { host, port }
                } else {
                    ModbusUrl::RtuOverTcp { host, port }
                })
            }
            "rtu" => parse_serial(rest, url).map(ModbusUrl::Rtu),
            other => Err(format!(
                "unknown scheme `{other}` in `{url}`: use tcp://, rtu-tcp:// or rtu://"
            )),
        }
    }

    /// `host:port` for the socket transports.
    pub fn socket_address(&self) -> Option<String> {
        match self {
            ModbusUrl::Tcp { host, port } | ModbusUrl::RtuOverTcp { host, port } => {
                Some(format!("{host}:{port}"))
            }
            ModbusUrl::Rtu(_) => None,
        }
    }
}

fn host_port(rest: &str, url: &str) -> Result<(String, u16), String> {
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() => (h, p),
        _ => {
            return Err(format!(
                "`{url}` needs host:port, e.g. tcp://192.168.1.20:502"
            ));
        }
    };
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("`{port}` in `{url}` is not a port number"))?;
    Ok((host.trim_matches(['[', ']']).to_string(), port))
}

fn parse_serial(rest: &str, url: &str) -> Result<SerialSettings, String> {
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        return Err(format!(
            "`{url}` needs a device path, e.g. rtu:///dev/ttyUSB0?baud=9600"
        ));
    }
    let mut s = SerialSettings {
        path: path.to_string(),
        baud: 9600,
        parity: Parity::None,
        data_bits: 8,
        stop_bits: 1,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("`{pair}` in `{url}` is not key=value"))?;
        let bad = || format!("bad value `{v}` for `{k}` in `{url}`");
        match k {
            "baud" => s.baud = v.parse().ok().filter(|b| *b > 0).ok_or_else(bad)?,
            "parity" => {
                s.parity = match v {
                    "N" | "n" | "none" => Parity::None,
                    "E" | "e" | "even" => Parity::Even,
                    "O" | "o" | "odd" => Parity::Odd,
                    _ => return Err(bad()),
                }
            }
            "data_bits" => {
                s.data_bits = v
                    .parse()
                    .ok()
                    .filter(|b| (5..=8).contains(b))
                    .ok_or_else(bad)?
            }
            "stop_bits" => {
                s.stop_bits = v
                    .parse()
                    .ok()
                    .filter(|b| matches!(b, 1 | 2))
                    .ok_or_else(bad)?
            }
            _ => {
                return Err(format!(
                    "unknown setting `{k}` in `{url}` (baud, parity, data_bits, stop_bits)"
                ));
            }
        }
    }
    Ok(s)
}

impl fmt::Display for ModbusUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModbusUrl::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            ModbusUrl::RtuOverTcp { host, port } => write!(f, "rtu-tcp://{host}:{port}"),
            ModbusUrl::Rtu(s) => {
                let p = match s.parity {
                    Parity::None => "N",
                    Parity::Even => "E",
                    Parity::Odd => "O",
                };
                write!(f, "rtu://{}?baud={}&parity={p}", s.path, s.baud)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_transports() {
        assert_eq!(
            ModbusUrl::parse("tcp://10.0.0.5:502").unwrap(),
            ModbusUrl::Tcp {
                host: "10.0.0.5".into(),
                port: 502
            }
        );
        assert_eq!(
            ModbusUrl::parse("rtu-tcp://gw-3:4001").unwrap(),
            ModbusUrl::RtuOverTcp {
                host: "gw-3".into(),
                port: 4001
            }
        );
        let ModbusUrl::Rtu(s) = ModbusUrl::parse("rtu:///dev/ttyUSB0?baud=2400&parity=E").unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (s.path.as_str(), s.baud, s.parity),
            ("/dev/ttyUSB0", 2400, Parity::Even)
        );
    }

    #[test]
    fn explains_bad_urls() {
        assert_eq!(
            ModbusUrl::parse("udp://a:1").unwrap_err(),
            "unknown scheme `udp` in `udp://a:1`: use tcp://, rtu-tcp:// or rtu://"
        );
        assert_eq!(
            ModbusUrl::parse("tcp://host").unwrap_err(),
            "`tcp://host` needs host:port, e.g. tcp://192.168.1.20:502"
        );
        assert_eq!(
            ModbusUrl::parse("tcp://host:99999").unwrap_err(),
            "`99999` in `tcp://host:99999` is not a port number"
        );
        assert!(
            ModbusUrl::parse("rtu:///dev/ttyS0?baud=fast")
                .unwrap_err()
                .contains("bad value `fast`")
        );
    }
}
