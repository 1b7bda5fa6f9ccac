//! The DL/T 645 collector as the line sees it, without any peer: what goes out on the wire.
//! A bus with `time_sync_hours` broadcasts the site's local time (control 08H to 99…99) when it
//! starts; a meter that never answers is marked offline with the reason, addressed as on its
//! nameplate (low byte first on the wire).

use std::time::Duration;

use tokio::io::AsyncReadExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_line_hears_the_time_broadcast_and_requests_addressed_low_byte_first() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[site]\nname = \"t\"\ntimezone = \"Asia/Shanghai\"\ndata_dir = \"{}\"\n[[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n\
         [[connections]]\nid = \"dorm\"\nurl = \"rtu-tcp://127.0.0.1:{port}\"\nprotocol = \"dlt645\"\ntimeout_ms = 200\ntries = 1\ntime_sync_hours = 24\n\
         [[meters]]\nid = \"r101\"\nname = \"101\"\nunit = \"o\"\ncategory = \"01A00\"\nprofile = \"dlt645-2007-prepaid-single-phase\"\nconnection = \"dorm\"\naddress = \"202300001234\"\nlive_interval_s = 1\n",
        dir.path().display()
    );
    let path = dir.path().join("jieneng.toml");
    std::fs::write(&path, config).unwrap();
    let rt = jieneng::runtime::Runtime::start(jieneng::site::Site::load(&path).unwrap()).unwrap();
    let (mut line, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .expect("the collector connects")
        .unwrap();
    let mut heard = Vec::new();
    let mut chunk = [0u8; 256];
    while heard.len() < 60 {
        let n = tokio::time::timeout(Duration::from_secs(5), line.read(&mut chunk))
            .await
            .expect("bytes on the line")
            .unwrap();
        heard.extend_from_slice(&chunk[..n]);
    }
    // First the broadcast: FE×4, 68, 99×6, 68, 08, 06, ss mm hh DD MM YY (+33H each), CS, 16.
    let start = heard.iter().position(|&b| b == 0x68).unwrap();
    assert_eq!(
        &heard[start..start + 10],
        &[0x68, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x68, 0x08, 0x06]
    );
    let bcd = |b: u8| {
        let b = b.wrapping_sub(0x33);
        u32::from(b >> 4) * 10 + u32::from(b & 0x0F)
    };
    let (hh, dd, mm, yy) = (
        bcd(heard[start + 12]),
        bcd(heard[start + 13]),
        bcd(heard[start + 14]),
        bcd(heard[start + 15]),
    );
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    use chrono::{Datelike, Timelike};
    assert_eq!(
        (yy, mm, dd),
        (now.year() as u32 % 100, now.month(), now.day()),
        "{heard:02X?}"
    );
    assert!(
        hh == now.hour() || (hh + 1) % 24 == now.hour(),
        "local hour {hh} vs {}",
        now.hour()
    );
    // Then a read addressed to 202300001234, sent low byte first.
    let rest = &heard[start + 18..];
    let read = rest
        .windows(8)
        .position(|w| w == [0x68, 0x34, 0x12, 0x00, 0x00, 0x23, 0x20, 0x68]);
    assert!(read.is_some(), "{heard:02X?}");
    // Nobody answers: offline, and it says why.
    let t = std::time::Instant::now();
    loop {
        let live = rt.live.get("r101").unwrap();
        if format!("{:?}", live.status) == "Offline" {
            assert!(
                live.detail
                    .unwrap_or_default()
                    .contains("no answer within 200 ms")
            );
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", live.status);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    rt.shutdown().await;
}
