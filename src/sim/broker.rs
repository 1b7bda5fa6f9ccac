//! An embedded MQTT broker (rumqttd) on a free loopback port, for the demo and for tests that
//! must run without any service installed.

use std::time::{Duration, Instant};

/// Starts a broker on 127.0.0.1 and returns its port once it accepts connections. The broker
/// runs on its own threads until the process ends.
pub fn start_embedded_broker() -> anyhow::Result<u16> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let config = format!(
        r#"
id = 0
[router]
id = 0
max_connections = 1000
max_outgoing_packet_count = 1000
max_segment_size = 104857600
max_segment_count = 10

[v4.1]
name = "v4-1"
listen = "127.0.0.1:{port}"
next_connection_delay_ms = 1
    [v4.1.connections]
    connection_timeout_ms = 60000
    max_payload_size = 1048576
    max_inflight_count = 1000
    dynamic_filters = true
"#
    );
    let config: rumqttd::Config = toml::from_str(&config)?;
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded MQTT broker stopped");
            }
        })?;
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if t.elapsed() > Duration::from_secs(10) {
            anyhow::bail!("the embedded MQTT broker did not start on port {port}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(port)
}
