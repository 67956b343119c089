//! Progress bars on stderr, drawn from ingest events; hidden when stderr is not a terminal.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use latentid_ingest::{Event, Progress, Stage};

pub struct Bars {
    visible: bool,
    bars: Mutex<HashMap<Stage, ProgressBar>>,
}

impl Bars {
    pub fn new(quiet: bool) -> Self {
        Self {
            visible: !quiet && std::io::stderr().is_terminal(),
            bars: Mutex::new(HashMap::new()),
        }
    }
}

fn label(stage: Stage) -> &'static str {
    match stage {
        Stage::Hash => "hashing",
        Stage::Sample => "sampling",
        Stage::Train => "training",
        Stage::Encode => "indexing",
    }
}

impl Progress for Bars {
    fn event(&self, event: Event<'_>) {
        if !self.visible {
            return;
        }
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        match event {
            Event::Start { stage, total } => {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                let template = "{prefix:>9} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})";
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_prefix(label(stage));
                bars.insert(stage, bar);
            }
            Event::Advance { stage, path } => {
                if let Some(bar) = bars.get(&stage) {
                    if let Some(name) = path.and_then(|p| p.file_name()) {
                        bar.set_message(name.to_string_lossy().into_owned());
                    }
                    bar.inc(1);
                }
            }
            Event::Epoch(r) => {
                if let Some(bar) = bars.get(&Stage::Train) {
                    bar.set_message(format!("loss {:.4} val {:.4}", r.train_loss, r.val_loss));
                    bar.set_position(r.epoch as u64 + 1);
                }
            }
            Event::Finish { stage } => {
                if let Some(bar) = bars.remove(&stage) {
                    bar.finish_and_clear();
                }
            }
        }
    }
}
