package org.l2l4j.cli;

import java.io.PrintWriter;
import java.util.concurrent.atomic.AtomicReference;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.jline.terminal.spi.SystemStream;
import org.jline.terminal.spi.TerminalProvider;
import org.l2l4j.eval.Progress;

/**
 * A command's progress bars, one at a time: one per task of the work it follows
 * ({@link Progress}), or one the command configures itself ({@link #builder}, {@link #open}).
 *
 * <p>When standard error is a terminal, a bar is redrawn in place every
 * {@value #TERMINAL_INTERVAL_MS} ms (the library's console output).  Otherwise (standard error
 * redirected to a file or a pipe, or a test's writer) a bar writes whole lines to the command's
 * error writer, without carriage returns: one when it starts, at most one per
 * {@value #LOG_INTERVAL_MS} ms while it advances, and one when it ends, so that logs stay
 * readable.
 */
final class ProgressBars implements Progress {
    static final int TERMINAL_INTERVAL_MS = 500;
    static final int LOG_INTERVAL_MS = 10_000;
    static final int WIDTH = 120;

    private final PrintWriter err;
    private final boolean terminal;
    private ProgressBar bar;

    /** Bars for a command whose errors go to {@code err}, in place on a terminal. */
    ProgressBars(PrintWriter err) {
        this(err, StandardError.IS_TERMINAL);
    }

    /** Bars in place ({@code terminal}) or as lines written to {@code err}. */
    ProgressBars(PrintWriter err, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
    }

    /** Whether bars are redrawn in place on a terminal rather than written as lines. */
    boolean terminal() {
        return terminal;
    }

    /** A builder of a bar for {@code max} units of work, for further settings; see {@link #open}. */
    ProgressBarBuilder builder(String task, long max) {
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(max).setMaxRenderedLength(WIDTH);
        if (terminal) {
            return b.setUpdateIntervalMillis(TERMINAL_INTERVAL_MS).setStyle(ProgressBarStyle.UNICODE_BLOCK);
        }
        AtomicReference<String> last = new AtomicReference<>();
        return b.setUpdateIntervalMillis(LOG_INTERVAL_MS).setStyle(ProgressBarStyle.ASCII)
                .setConsumer(new DelegatingProgressBarConsumer(line -> {
                    // the library draws a bar that advanced twice as it closes: once is enough in a log
                    if (!line.equals(last.getAndSet(line))) {
                        err.println(line);
                        err.flush();
                    }
                }, WIDTH));
    }

    /** Finishes the current bar and starts the one {@code builder} describes. */
    synchronized ProgressBar open(ProgressBarBuilder builder) {
        finish();
        bar = builder.build();
        return bar;
    }

    @Override
    public synchronized void start(String task, long units) {
        open(builder(task, units));
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

    /** Closes the current bar, if any: its last state is drawn, then the line ends. */
    @Override
    public synchronized void finish() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }

    /** Whether this process's standard error is a terminal, asked once (JLine runs {@code test -t 2}). */
    private static final class StandardError {
        static final boolean IS_TERMINAL = isTerminal();

        private static boolean isTerminal() {
            try {
                return TerminalProvider.load("exec").isSystemStream(SystemStream.Error);
            } catch (Exception | LinkageError e) {
                return false;
            }
        }
    }
}
