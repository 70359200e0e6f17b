//! The churn schedule: kill times drawn from the scenario's seed, each with how long the
//! victim stays down. Who is killed is chosen when the time comes (a leecher of the named
//! groups that is running and not done yet), by an index drawn in advance.

use std::collections::VecDeque;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::scenario::{KillSignal, Scenario};

/// One kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kill {
    pub at: Duration,
    pub down: Duration,
    /// Which of the candidates (modulo their number).
    pub pick: usize,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub groups: Vec<String>,
    pub signal: KillSignal,
    kills: VecDeque<Kill>,
}

impl Plan {
    /// The scenario's churn (none: an empty plan).
    pub fn new(sc: &Scenario) -> Plan {
        let Some(churn) = &sc.churn else {
            return Plan {
                groups: Vec::new(),
                signal: KillSignal::Kill,
                kills: VecDeque::new(),
            };
        };
        let mut rng = SmallRng::seed_from_u64(sc.seed ^ 0x00C4_0000_0003);
        let mut kills: Vec<Kill> = (0..churn.kills)
            .map(|_| Kill {
                at: churn.between.pick(rng.random::<f64>()),
                down: churn.down.pick(rng.random::<f64>()),
                pick: rng.random_range(0..1_000_000),
            })
            .collect();
        kills.sort_by_key(|k| k.at);
        Plan {
            groups: churn.groups.clone(),
            signal: churn.signal,
            kills: kills.into(),
        }
    }

    /// The next kill due at `elapsed`, if any.
    pub fn due(&mut self, elapsed: Duration) -> Option<Kill> {
        if self.kills.front().is_some_and(|k| k.at <= elapsed) {
            self.kills.pop_front()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kills_come_in_time_order_within_the_span() {
        let sc: Scenario = toml::from_str(
            r#"
            name = "c"
            file_size = "1MiB"
            [[group]]
            name = "s"
            role = "seed"
            [[group]]
            name = "l"
            role = "leech"
            count = 5
            [churn]
            groups = ["l"]
            kills = 8
            between = ["5s", "40s"]
            down = ["1s", "3s"]
            "#,
        )
        .unwrap();
        let mut plan = Plan::new(&sc);
        assert!(plan.due(Duration::from_secs(4)).is_none());
        let mut last = Duration::ZERO;
        let mut n = 0;
        while let Some(k) = plan.due(Duration::from_secs(41)) {
            assert!(
                k.at >= last && k.at >= Duration::from_secs(5) && k.at <= Duration::from_secs(40)
            );
            assert!(k.down >= Duration::from_secs(1) && k.down <= Duration::from_secs(3));
            last = k.at;
            n += 1;
        }
        assert_eq!(n, 8);
    }
}
