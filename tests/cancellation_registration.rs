//! `CancellationRegistration` and the token's cppcoro parity: a registered
//! callback runs once, on the requesting thread, or at once on a cancelled
//! token; dropping the registration withdraws it, waits for it if it runs
//! on another thread, and may happen inside the callback itself; the
//! `none()` token never cancels; `token.check()?` ends a task with
//! `OperationCancelled`. The cross-thread test is bounded in rounds and
//! every callback is a `Counted`, so a callback run twice or never dropped
//! fails it.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

use common::{expect_panic, Log, PLANNED};
use coro::cancellation::{CancellationRegistration, CancellationSource, CancellationToken, OperationCancelled};
use coro::{co_await, co_return, sync_wait, when_any, Task};

fn counter() -> (Arc<AtomicUsize>, impl Fn() -> Arc<AtomicUsize>) {
    let n = Arc::new(AtomicUsize::new(0));
    let m = n.clone();
    (n, move || m.clone())
}

#[test]
fn a_registered_callback_runs_once_when_cancellation_is_requested() {
    let log = Log::new();
    let source = CancellationSource::new();
    let (runs, runs_handle) = counter();
    let c = log.counted("callback");
    let r = runs_handle();
    let registration = source.token().register(move || {
        let _c = c;
        r.fetch_add(1, SeqCst);
    });
    assert_eq!(runs.load(SeqCst), 0);
    source.request_cancellation();
    assert_eq!(runs.load(SeqCst), 1);
    source.request_cancellation();
    drop(registration);
    assert_eq!(runs.load(SeqCst), 1);
    log.assert_each_dropped_once();
}

#[test]
fn callbacks_run_on_the_requesting_thread_in_registration_order() {
    let source = CancellationSource::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let registrations: Vec<CancellationRegistration> = (0..5)
        .map(|i| {
            let seen = seen.clone();
            source.token().register(move || seen.lock().unwrap().push((i, thread::current().id())))
        })
        .collect();
    let requester = thread::spawn(move || {
        source.request_cancellation();
        thread::current().id()
    })
    .join()
    .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, (0..5).map(|i| (i, requester)).collect::<Vec<_>>());
    drop(registrations);
}

#[test]
fn a_dropped_registration_never_runs_its_callback_and_drops_it_at_once() {
    let log = Log::new();
    let source = CancellationSource::new();
    let (runs, runs_handle) = counter();
    let c = log.counted("withdrawn");
    let r = runs_handle();
    let registration = source.token().register(move || {
        let _c = c;
        r.fetch_add(1, SeqCst);
    });
    drop(registration);
    log.assert_each_dropped_once(); // withdrawn: dropped by the registration's drop
    source.request_cancellation();
    assert_eq!(runs.load(SeqCst), 0);
}

#[test]
fn registering_on_a_cancelled_token_runs_the_callback_at_once_on_the_registering_thread() {
    let source = CancellationSource::new();
    let token = source.token();
    thread::spawn(move || source.request_cancellation()).join().unwrap();
    let ran_on = Arc::new(Mutex::new(None));
    let r = ran_on.clone();
    let registration = token.register(move || *r.lock().unwrap() = Some(thread::current().id()));
    assert_eq!(*ran_on.lock().unwrap(), Some(thread::current().id()));
    drop(registration);
}

#[test]
fn a_callback_may_drop_its_own_registration_without_deadlock() {
    let source = CancellationSource::new();
    let slot: Arc<Mutex<Option<CancellationRegistration>>> = Arc::new(Mutex::new(None));
    let (runs, runs_handle) = counter();
    let (s, r) = (slot.clone(), runs_handle());
    let registration = source.token().register(move || {
        let own = s.lock().unwrap().take();
        drop(own); // its own registration, while it runs
        r.fetch_add(1, SeqCst);
    });
    *slot.lock().unwrap() = Some(registration);
    source.request_cancellation();
    assert_eq!(runs.load(SeqCst), 1);
    assert!(slot.lock().unwrap().is_none());
}

#[test]
fn dropping_a_registration_waits_for_its_callback_running_on_another_thread() {
    let source = CancellationSource::new();
    let (started_tx, started_rx) = mpsc::channel();
    let (finish_tx, finish_rx) = mpsc::channel::<()>();
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    let registration = source.token().register(move || {
        started_tx.send(()).unwrap();
        finish_rx.recv().unwrap();
        f.store(true, SeqCst);
    });
    let requester = thread::spawn(move || source.request_cancellation());
    started_rx.recv().unwrap(); // the callback is running on `requester`
    let dropper = thread::spawn(move || drop(registration));
    thread::sleep(Duration::from_millis(20));
    assert!(!dropper.is_finished(), "the drop returned while its callback was running");
    finish_tx.send(()).unwrap();
    dropper.join().unwrap();
    assert!(finished.load(SeqCst));
    requester.join().unwrap();
}

#[test]
fn dropping_registrations_while_another_thread_requests_cancellation_runs_each_callback_at_most_once() {
    const ROUNDS: usize = 2000;
    const PER_ROUND: usize = 4;
    let log = Log::new();
    let late_runs = Arc::new(AtomicUsize::new(0));
    let mut ran = 0;
    for round in 0..ROUNDS {
        let source = CancellationSource::new();
        let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..PER_ROUND).map(|_| AtomicUsize::new(0)).collect());
        let withdrawn: Arc<Vec<AtomicBool>> = Arc::new((0..PER_ROUND).map(|_| AtomicBool::new(false)).collect());
        let registrations: Vec<_> = (0..PER_ROUND)
            .map(|i| {
                let (c, runs, withdrawn, late) =
                    (log.counted(format!("cb {round}.{i}")), runs.clone(), withdrawn.clone(), late_runs.clone());
                source.token().register(move || {
                    let _c = c;
                    if withdrawn[i].load(SeqCst) {
                        late.fetch_add(1, SeqCst); // ran after its drop returned
                    }
                    runs[i].fetch_add(1, SeqCst);
                })
            })
            .collect();
        let start = Arc::new(Barrier::new(2));
        let requester = thread::spawn({
            let start = start.clone();
            move || {
                start.wait();
                source.request_cancellation();
            }
        });
        start.wait();
        for (i, registration) in registrations.into_iter().enumerate() {
            drop(registration);
            withdrawn[i].store(true, SeqCst);
        }
        requester.join().unwrap();
        for n in runs.iter() {
            let n = n.load(SeqCst);
            assert!(n <= 1, "a callback ran {n} times");
            ran += n;
        }
    }
    assert_eq!(late_runs.load(SeqCst), 0);
    log.assert_each_dropped_once();
    assert!(ran <= ROUNDS * PER_ROUND);
}

#[test]
fn a_panicking_callback_does_not_stop_the_others_and_its_panic_comes_out_of_the_request() {
    let source = CancellationSource::new();
    let (runs, runs_handle) = counter();
    let r = runs_handle();
    let first = source.token().register(|| panic!("{PLANNED} callback"));
    let second = source.token().register(move || {
        r.fetch_add(1, SeqCst);
    });
    let message = expect_panic(|| source.request_cancellation());
    assert!(message.contains("callback"));
    assert_eq!(runs.load(SeqCst), 1);
    assert!(source.is_cancellation_requested());
    drop((first, second));
}

#[coro::coroutine]
fn wait_for_cancellation(token: CancellationToken, log: Log) -> Task<u32> {
    let _guard = log.counted("waiter");
    co_await!(token.cancelled());
    co_return!(0)
}

#[coro::coroutine]
fn ready(n: u32) -> Task<u32> {
    co_return!(n)
}

#[test]
fn the_none_token_never_cancels_and_cannot_be_cancelled() {
    let log = Log::new();
    for token in [CancellationToken::none(), CancellationToken::default()] {
        assert!(!token.can_be_cancelled());
        assert!(!token.is_cancellation_requested());
        assert_eq!(token.check(), Ok(()));
        // A callback registered on it is dropped at once, never run.
        let c = log.counted("never run");
        let registration = token.register(move || {
            let _c = c;
            panic!("a none token ran a callback");
        });
        log.assert_each_dropped_once();
        drop(registration);
        // `cancelled()` never completes: the other child wins.
        assert_eq!(sync_wait(when_any(vec![wait_for_cancellation(token.clone(), log.clone()), ready(7)])), (1, 7));
        log.assert_each_dropped_once();
    }
}

#[test]
fn a_token_cannot_be_cancelled_once_its_sources_are_gone_unless_it_was_cancelled() {
    let source = CancellationSource::new();
    let token = source.token();
    let clone = source.clone();
    drop(source);
    assert!(token.can_be_cancelled(), "a clone of the source is alive");
    drop(clone);
    assert!(!token.can_be_cancelled());

    let source = CancellationSource::new();
    let token = source.token();
    source.request_cancellation();
    drop(source);
    assert!(token.can_be_cancelled() && token.is_cancellation_requested());
}

#[derive(Debug, PartialEq)]
enum AppError {
    Cancelled(OperationCancelled),
}

impl From<OperationCancelled> for AppError {
    fn from(e: OperationCancelled) -> Self {
        AppError::Cancelled(e)
    }
}

#[coro::coroutine]
fn steps(token: CancellationToken, source: CancellationSource, log: Log) -> Task<Result<u32, AppError>> {
    let _guard = log.counted("steps");
    token.check()?;
    log.push("step 1");
    source.request_cancellation();
    token.check()?;
    log.push("step 2");
    co_return!(Ok(2))
}

#[test]
fn check_question_mark_ends_a_task_with_the_cancellation_error() {
    let log = Log::new();
    let source = CancellationSource::new();
    assert_eq!(
        sync_wait(steps(source.token(), source.clone(), log.clone())),
        Err(AppError::Cancelled(OperationCancelled))
    );
    assert_eq!(log.events(), ["step 1", "drop steps"]);
    log.assert_each_dropped_once();
    let err = std::io::Error::from(OperationCancelled);
    assert!(err.get_ref().is_some_and(|e| e.is::<OperationCancelled>()));
}

#[test]
fn sources_tokens_registrations_and_the_error_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<CancellationSource>();
    send_sync::<CancellationToken>();
    send_sync::<CancellationRegistration>();
    send_sync::<OperationCancelled>();
}
