//! `GET /api/v1/live[?meter=ID]`: server-sent events, one `reading` event per new value
//! (`{meter, quantity, time, value}`), for the pages' live figures. A client too slow to keep
//! up gets a `lagged` event with how many it missed, then the stream goes on.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::http::error::AppError;
use crate::http::state::AppState;

#[derive(Deserialize)]
pub struct LiveParams {
    meter: Option<String>,
}

pub async fn live(
    State(state): State<AppState>,
    Query(p): Query<LiveParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    if let Some(m) = &p.meter {
        state.meter(m)?;
    }
    let rx = state.live.subscribe();
    let stream = futures::stream::unfold((rx, p.meter), |(mut rx, meter)| async move {
        loop {
            match rx.recv().await {
                Ok(u) if meter.as_deref().is_none_or(|m| m == &*u.meter) => {
                    let event = Event::default()
                        .event("reading")
                        .json_data(&u)
                        .unwrap_or_else(|_| Event::default().comment("unserialisable"));
                    return Some((Ok(event), (rx, meter)));
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(n)) => {
                    let event = Event::default().event("lagged").data(n.to_string());
                    return Some((Ok(event), (rx, meter)));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
