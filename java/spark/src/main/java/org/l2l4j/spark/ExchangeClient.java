package org.l2l4j.spark;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import org.l2l4j.meta.MetaGradientReduction;

/**
 * A task's side of the synchronous mode's all-reduce ({@link GradientExchange}): at every unroll
 * it sends its shard's meta-loss and dL/dphi to the driver and receives the whole meta-batch's,
 * summed in shard order.  It records the time spent waiting for that answer (the network, and
 * the slowest peer's later arrival).  A task that ends its epochs says so ({@link #finish()});
 * one that closes without it has failed, and the exchange ends the stage for its peers.  Not
 * thread-safe.
 */
final class ExchangeClient implements MetaGradientReduction, AutoCloseable {
    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final int phiSize;
    private long waitNanos;
    private long exchanges;

    /**
     * Where and how a task reaches the exchange of one stage attempt.
     *
     * @param host       the driver's host
     * @param port       the exchange's port
     * @param token      the run's token
     * @param generation the stage attempt
     * @param workers    W
     * @param phiSize    P
     * @param timeout    how long to wait for the sum of an unroll
     */
    record Address(String host, int port, long token, long generation, int workers, int phiSize,
                   Duration timeout) implements Serializable {
    }

    /**
     * Connects as task {@code rank} of the stage attempt.
     *
     * @throws UncheckedIOException if the driver cannot be reached or refuses the task
     */
    ExchangeClient(Address a, int rank) {
        this.phiSize = a.phiSize();
        socket = new Socket();
        try {
            socket.connect(new InetSocketAddress(a.host(), a.port()),
                    Math.toIntExact(Math.min(Integer.MAX_VALUE, a.timeout().toMillis())));
            socket.setSoTimeout(Math.toIntExact(Math.min(Integer.MAX_VALUE, a.timeout().toMillis())));
            socket.setTcpNoDelay(true);
            in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
            out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 16));
            out.writeLong(a.token());
            out.writeLong(a.generation());
            out.writeInt(rank);
            out.writeInt(a.workers());
            out.writeInt(a.phiSize());
            out.flush();
            if (!in.readBoolean()) {
                throw new IOException(in.readUTF());
            }
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("task " + rank + " could not join the gradient exchange at " + a.host()
                    + ":" + a.port() + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public double reduce(double metaLoss, double[] dphi) {
        if (dphi.length != phiSize) {
            throw new IllegalArgumentException("dphi has " + dphi.length + " values, the exchange " + phiSize);
        }
        try {
            out.writeBoolean(true);
            out.writeDouble(metaLoss);
            for (double v : dphi) {
                out.writeDouble(v);
            }
            out.flush();
            long t0 = System.nanoTime();
            double loss = in.readDouble();
            for (int i = 0; i < dphi.length; i++) {
                dphi[i] = in.readDouble();
            }
            waitNanos += System.nanoTime() - t0;
            exchanges++;
            return loss;
        } catch (IOException e) {
            throw new IllegalStateException("the gradient exchange with the driver failed (a peer task failed, or "
                    + "the driver ended the stage): " + e, e);
        }
    }

    /**
     * Says that this task has ended its epochs, so that its leaving does not end the generation for
     * the others (a connection closed without it is a failed task, which does).
     */
    void finish() {
        try {
            out.writeBoolean(false);
            out.flush();
        } catch (IOException e) {
            throw new IllegalStateException("the gradient exchange with the driver failed at the end: " + e, e);
        }
    }

    /** Nanoseconds spent waiting for the sums. */
    long waitNanos() {
        return waitNanos;
    }

    /** Unrolls exchanged. */
    long exchanges() {
        return exchanges;
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // the connection is gone either way
        }
    }
}
