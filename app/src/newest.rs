//! Reads that a page starts on every change finish in any order. Only the
//! newest may show: on the phone, an older IndexedDB read that finishes last
//! would put back what the sync has just replaced (a visit "in progress" after
//! its pull said "submitted"); on the forms screen, a file chosen first and
//! converted last would show, and be published, in place of the one chosen
//! after it.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The reads one page starts, numbered in the order they were started.
#[derive(Clone, Default)]
pub struct Reads(Arc<AtomicU64>);

impl Reads {
    /// Starts the next read; every read started before it is stale from now on.
    pub fn start(&self) -> Read {
        let number = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        Read {
            number,
            reads: self.clone(),
        }
    }
}

/// One read, which knows whether another was started after it.
pub struct Read {
    number: u64,
    reads: Reads,
}

impl Read {
    /// No read was started after this one.
    pub fn is_newest(&self) -> bool {
        self.reads.0.load(Ordering::Relaxed) == self.number
    }

    /// What `read` found, or `None` when a newer read was started while it
    /// ran. Write what it returns straight away, with no await in between.
    pub async fn newest<T>(self, read: impl Future<Output = T>) -> Option<T> {
        let found = read.await;
        self.is_newest().then_some(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::pin::pin;
    use std::rc::Rc;
    use std::task::{Context, Poll, Waker};

    fn poll<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    /// A read of IndexedDB that finishes when the test says, with what it says.
    #[derive(Clone, Default)]
    struct Pending(Rc<Cell<Option<&'static str>>>);

    impl Pending {
        fn finish(&self, found: &'static str) {
            self.0.set(Some(found));
        }
    }

    impl Future for Pending {
        type Output = &'static str;
        fn poll(self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<&'static str> {
            self.0.take().map_or(Poll::Pending, Poll::Ready)
        }
    }

    #[test]
    fn a_read_started_before_another_is_stale() {
        let reads = Reads::default();
        let first = reads.start();
        assert!(first.is_newest());
        let second = reads.start();
        assert!(!first.is_newest());
        assert!(second.is_newest());
    }

    #[test]
    fn an_older_read_finishing_last_is_dropped_and_the_newer_kept() {
        // The visit page's race: the read started by the bump after the push
        // finishes after the one started by the bump after the pull.
        let reads = Reads::default();
        let (old_read, new_read) = (Pending::default(), Pending::default());
        let mut old = pin!(reads.start().newest(old_read.clone()));
        let mut new = pin!(reads.start().newest(new_read.clone()));
        assert!(poll(old.as_mut()).is_pending());
        assert!(poll(new.as_mut()).is_pending());

        new_read.finish("submitted");
        assert_eq!(poll(new.as_mut()), Poll::Ready(Some("submitted")));
        old_read.finish("in_progress");
        assert_eq!(poll(old.as_mut()), Poll::Ready(None));
    }

    #[test]
    fn reads_finishing_in_order_show_the_last() {
        let reads = Reads::default();
        let old = reads.start();
        let new = reads.start();
        let mut old = pin!(old.newest(std::future::ready("in_progress")));
        assert_eq!(poll(old.as_mut()), Poll::Ready(None));
        let mut new = pin!(new.newest(std::future::ready("submitted")));
        assert_eq!(poll(new.as_mut()), Poll::Ready(Some("submitted")));
    }
}
