//! Failed sign-ins by user name: after `ALLOWED_FAILURES` within `THROTTLE_WINDOW`, that name
//! is refused (429) without looking at the password until the oldest failure ages out, so a
//! password cannot be guessed at speed. A success clears the name's count.

use std::time::{Duration, Instant};

#[derive(Default)]
pub struct SignInThrottle(std::sync::Mutex<std::collections::HashMap<String, Vec<Instant>>>);

const ALLOWED_FAILURES: usize = 5;
pub(crate) const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);

impl SignInThrottle {
    fn key(name: &str) -> String {
        name.trim().to_lowercase().chars().take(64).collect()
    }

    /// How long `name` must wait before trying again, if it must.
    pub fn wait(&self, name: &str, now: Instant) -> Option<Duration> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let recent: Vec<&Instant> = map
            .get(&Self::key(name))?
            .iter()
            .filter(|t| now.duration_since(**t) < THROTTLE_WINDOW)
            .collect();
        (recent.len() >= ALLOWED_FAILURES)
            .then(|| THROTTLE_WINDOW.saturating_sub(now.duration_since(*recent[0])))
    }

    pub fn failed(&self, name: &str, now: Instant) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Forget what has aged out, so random names cannot grow the map for ever.
        map.retain(|_, times| {
            times.retain(|t| now.duration_since(*t) < THROTTLE_WINDOW);
            !times.is_empty()
        });
        map.entry(Self::key(name)).or_default().push(now);
    }

    pub fn succeeded(&self, name: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&Self::key(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_ins_are_throttled_per_name_after_five_failures() {
        let throttle = SignInThrottle::default();
        let t0 = Instant::now();
        for k in 0..5 {
            assert_eq!(throttle.wait("Finance", t0), None, "after {k} failures");
            throttle.failed("finance", t0 + Duration::from_secs(k));
        }
        let wait = throttle
            .wait(" FINANCE ", t0 + Duration::from_secs(60))
            .unwrap();
        assert_eq!(wait, THROTTLE_WINDOW - Duration::from_secs(60));
        assert_eq!(
            throttle.wait("engineer", t0),
            None,
            "other names are not held up"
        );
        assert_eq!(
            throttle.wait("finance", t0 + THROTTLE_WINDOW),
            None,
            "the first failure aged out"
        );
        throttle.succeeded("finance");
        assert_eq!(throttle.wait("finance", t0 + Duration::from_secs(60)), None);
    }
}
