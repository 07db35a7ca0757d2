package org.l2l4j.cli;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.l2l4j.eval.Progress;

/**
 * Progress bars on standard error, in plain ASCII when there is no console: one bar per task of
 * the work it follows ({@link Progress}), and the builder of the command line's other bars.
 */
final class ProgressBars implements Progress {
    private ProgressBar bar;

    /** A builder of a bar for {@code max} units of work, for further settings. */
    static ProgressBarBuilder builder(String task, long max) {
        return new ProgressBarBuilder().setTaskName(task).setInitialMax(max).setUpdateIntervalMillis(500)
                .setStyle(System.console() != null ? ProgressBarStyle.UNICODE_BLOCK : ProgressBarStyle.ASCII)
                .setMaxRenderedLength(120);
    }

    @Override
    public synchronized void start(String task, long units) {
        finish();
        bar = builder(task, units).build();
    }

    @Override
    public synchronized void status(String message) {
        if (bar != null) {
            bar.setExtraMessage(message);
        }
    }

    @Override
    public synchronized void advance(long units) {
        if (bar != null) {
            bar.stepBy(units);
        }
    }

    @Override
    public synchronized void finish() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
