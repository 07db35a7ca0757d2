package org.l2l4j.optimizers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.l2l4j.backend.Backend;

/**
 * An optimizer that becomes unreachable without being closed is freed by the cleaner (its native
 * buffers return to the backend) and logged once, naming its tensors.
 */
class LstmOptimizerCleanerTest {

    @Test
    void aForgottenOptimizerIsFreedAndLogged() throws InterruptedException {
        Logger logger = Logger.getLogger(LstmOptimizer.class.getName());
        List<String> warnings = new CopyOnWriteArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel() == Level.WARNING) {
                    Object[] params = r.getParameters();
                    warnings.add(r.getMessage().replace("{0}", params == null ? "" : String.valueOf(params[0])));
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        logger.addHandler(handler);
        try (Backend backend = Backend.cpu(1)) {
            forget(backend);
            assertTrue(backend.liveBuffers() > 0, "the forgotten optimizer holds native buffers");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (backend.liveBuffers() > 0 && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(20);
            }
            assertEquals(0, backend.liveBuffers(), "the cleaner did not free the optimizer within 30 s");
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (warnings.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(1, warnings.size(), "one warning: " + warnings);
            assertTrue(warnings.get(0).contains("[forgotten.weight, forgotten.bias]") && warnings.get(0).contains("not closed"),
                    warnings.get(0));
        } finally {
            logger.removeHandler(handler);
        }
    }

    /** Creates, uses and drops an optimizer on {@code backend}, without closing it. */
    private static void forget(Backend backend) {
        LstmOptimizer optimizer = LstmOptimizer.builder(MixedTensors.checkpoint(ParameterOptimizerStateTest.CONFIG, 1))
                .backend(backend).build();
        optimizer.register("forgotten.weight", new float[30], new float[30]);
        optimizer.register("forgotten.bias", new float[3], new float[3]);
        optimizer.step();
    }
}
