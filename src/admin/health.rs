//! Readiness: what `GET /ready` answers. The daemon marks each part once it
//! runs; the admin API reads them.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// A part the daemon needs running before it is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The store is open and the engine restored from it.
    Store,
    /// The push workers (one per client) are started.
    Push,
    /// The folder scanner (senders' OutBoxes, the customs InBox) is started.
    Scanner,
    /// The TCP source is listening (needed only with `[tcp]`).
    Tcp,
}

impl Part {
    /// Every part, in the order they start.
    pub const ALL: [Part; 4] = [Part::Store, Part::Push, Part::Scanner, Part::Tcp];

    /// Its name in `/ready`'s answer.
    pub fn name(self) -> &'static str {
        match self {
            Part::Store => "store",
            Part::Push => "push",
            Part::Scanner => "scanner",
            Part::Tcp => "tcp",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Part::Store => 1,
            Part::Push => 2,
            Part::Scanner => 4,
            Part::Tcp => 8,
        }
    }
}

/// Which parts run, and whether the daemon is stopping.
#[derive(Debug)]
pub struct Readiness {
    needed: u8,
    done: AtomicU8,
    stopping: AtomicBool,
}

impl Default for Readiness {
    /// Needs the store, the push workers and the scanner (no TCP source).
    fn default() -> Readiness {
        Readiness::new(false)
    }
}

impl Readiness {
    /// Nothing runs yet; `tcp`: the TCP source is configured (and needed).
    pub fn new(tcp: bool) -> Readiness {
        let needed = Part::ALL
            .iter()
            .filter(|p| tcp || **p != Part::Tcp)
            .fold(0, |acc, p| acc | p.bit());
        Readiness {
            needed,
            done: AtomicU8::new(0),
            stopping: AtomicBool::new(false),
        }
    }

    /// `part` runs.
    pub fn mark(&self, part: Part) {
        self.done.fetch_or(part.bit(), Ordering::Release);
    }

    /// The daemon is stopping: not ready any more.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// Ok when ready; else why not, and the parts not running yet.
    pub fn check(&self) -> Result<(), (&'static str, Vec<&'static str>)> {
        if self.stopping.load(Ordering::Acquire) {
            return Err(("the gateway is stopping", Vec::new()));
        }
        let done = self.done.load(Ordering::Acquire);
        let waiting: Vec<&'static str> = Part::ALL
            .iter()
            .filter(|p| self.needed & p.bit() != 0 && done & p.bit() == 0)
            .map(|p| p.name())
            .collect();
        if waiting.is_empty() {
            Ok(())
        } else {
            Err(("the gateway is starting", waiting))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_once_every_needed_part_runs_and_not_while_stopping() {
        for tcp in [false, true] {
            let r = Readiness::new(tcp);
            let mut expect: Vec<&str> = Part::ALL
                .iter()
                .filter(|p| tcp || **p != Part::Tcp)
                .map(|p| p.name())
                .collect();
            for part in Part::ALL {
                assert_eq!(
                    r.check(),
                    if expect.is_empty() {
                        Ok(())
                    } else {
                        Err(("the gateway is starting", expect.clone()))
                    },
                    "tcp {tcp}, before {part:?}"
                );
                r.mark(part);
                expect.retain(|n| *n != part.name());
            }
            assert_eq!(r.check(), Ok(()));
            r.stopping();
            assert_eq!(r.check(), Err(("the gateway is stopping", Vec::new())));
        }
    }
}
