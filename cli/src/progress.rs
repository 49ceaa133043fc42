//! Progress display for long work (parameter generation, sync, audit
//! replay): indicatif bars on a terminal, nothing when output is piped
//! (tests, scripts), so machine-readable output stays clean.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn target() -> ProgressDrawTarget {
    ProgressDrawTarget::stderr()
}

/// Runs `work` behind a spinner labelled `label`; prints how long it took.
pub fn spinner_while<T>(label: &str, work: impl FnOnce() -> T) -> T {
    let bar = ProgressBar::with_draw_target(None, target());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(label.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    let started = std::time::Instant::now();
    let out = work();
    bar.finish_and_clear();
    println!("{label}: ready in {:.1} s", started.elapsed().as_secs_f64());
    out
}

/// A bar over a known number of steps.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar of `total` steps labelled `label`.
    pub fn new(label: &str, total: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), target());
        bar.set_style(
            ProgressStyle::with_template("  {msg} [{bar:30}] {pos}/{len} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(label.to_string());
        Bar { bar }
    }

    /// Moves to step `position`.
    pub fn set(&mut self, position: u64) {
        if position > self.bar.length().unwrap_or(0) {
            self.bar.set_length(position);
        }
        self.bar.set_position(position);
    }

    /// Removes the bar.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
