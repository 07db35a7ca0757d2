package org.l2l4j.fuzz;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.l2l4j.backend.Backend;

/**
 * The backends an API fuzz test calls through, opened once per test class: {@code main} (one
 * CPU thread), {@code foreign} (a second instance, whose buffers {@code main} must reject),
 * {@code closed} (closed before the first test), and {@code otherThread}, for calls made from a
 * second thread.
 */
public abstract class FuzzBackends {

    protected static Backend main;
    protected static Backend foreign;
    protected static Backend closed;
    protected static ExecutorService otherThread;

    @BeforeAll
    protected static void openBackends() {
        main = Backend.cpu(1);
        foreign = Backend.cpu(1);
        closed = Backend.cpu(1);
        closed.close();
        otherThread = Executors.newSingleThreadExecutor();
    }

    @AfterAll
    protected static void closeBackends() {
        otherThread.shutdown();
        main.close();
        foreign.close();
    }
}
