package org.l2l4j.cli;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** Progress bars on standard error, in plain ASCII when there is no console. */
final class Progress {
    private Progress() {
    }

    /** A bar for {@code max} units of work. */
    static ProgressBar bar(String task, long max) {
        return builder(task, max).build();
    }

    /** A builder of such a bar, for further settings. */
    static ProgressBarBuilder builder(String task, long max) {
        return new ProgressBarBuilder().setTaskName(task).setInitialMax(max).setUpdateIntervalMillis(500)
                .setStyle(System.console() != null ? ProgressBarStyle.UNICODE_BLOCK : ProgressBarStyle.ASCII)
                .setMaxRenderedLength(120);
    }
}
