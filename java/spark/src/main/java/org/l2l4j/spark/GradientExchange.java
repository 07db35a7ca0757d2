package org.l2l4j.spark;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The driver's side of the synchronous mode's all-reduce: a TCP service to which the W tasks of a
 * barrier stage connect ({@link ExchangeClient}), each sending its shard's meta-loss and dL/dphi
 * (1 + P float64) at every unroll and receiving their sum over the W shards, added in shard order
 * (shard 0's, plus shard 1's, ...) on the driver, so that every task applies the same meta-update
 * and the result is that of one machine computing the shards in order ({@link
 * org.l2l4j.meta.MetaBatchShards}).  Per unroll the driver receives and sends W (1 + P) doubles:
 * 2 x 42 KB per task for the paper's LSTM (P = 5,301).
 *
 * <p>Spark's own {@code BarrierTaskContext.allGather} is not used per unroll: it waits for its
 * answer by polling once a second, so each call costs at least a second, longer than an MNIST
 * unroll.  The barrier stage still gang-schedules the tasks, without which the first tasks would
 * wait for peers that have no slot.
 *
 * <p>Each stage attempt is a <i>generation</i>: {@link #open} starts one and ends the previous;
 * a connection of another generation, or without the run's random token, is refused, and ending a
 * generation ({@link #close(long)}, a failed peer, or a part awaited longer than the timeout)
 * closes its connections, so that tasks blocked in an exchange fail at once instead of holding
 * their slots.  The service listens on the driver's bind address; its traffic is neither
 * authenticated beyond the token nor encrypted ({@code spark.authenticate} and
 * {@code spark.network.crypto} do not cover it): it is meant for a cluster's own network.
 */
final class GradientExchange implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(GradientExchange.class.getName());
    /** Why a generation whose stage ended normally is closed. */
    private static final String ENDED = "the stage ended";
    private final ServerSocket server;
    private final long token = new SecureRandom().nextLong();
    private final Duration timeout;
    /** How long a connection may take to present itself. */
    private static final int HANDSHAKE_MILLIS = 10_000;
    private final Thread acceptor;
    private Round round;
    private long generation;

    /**
     * Listens on {@code port} (0: any free port) of the driver's bind address.
     *
     * @param bindAddress the address to listen on ({@code spark.driver.bindAddress})
     * @param timeout     how long a task's part may be awaited before the generation fails
     * @throws IOException if the port cannot be bound
     */
    GradientExchange(String bindAddress, int port, Duration timeout) throws IOException {
        this.timeout = timeout;
        this.server = new ServerSocket();
        try {
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(bindAddress, port));
        } catch (IOException | RuntimeException e) {
            server.close();
            throw new IOException("the gradient exchange cannot listen on " + bindAddress + ":" + port + ": " + e, e);
        }
        acceptor = new Thread(this::accept, "l2l4j-gradient-exchange");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** The port it listens on. */
    int port() {
        return server.getLocalPort();
    }

    /** The random token a task presents. */
    long token() {
        return token;
    }

    /**
     * Starts a generation of {@code workers} tasks exchanging {@code phiSize} values (ending the
     * previous one).
     *
     * @return its number, which the tasks present
     */
    synchronized long open(int workers, int phiSize) {
        if (round != null) {
            round.abort("a new stage attempt started");
        }
        generation++;
        round = new Round(generation, workers, phiSize, timeout);
        return generation;
    }

    /** Ends generation {@code g} if it is the current one, closing its connections. */
    synchronized void close(long g) {
        if (round != null && round.generation == g) {
            round.abort(ENDED);
            round = null;
        }
    }

    private synchronized Round current() {
        return round;
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                Thread t = new Thread(() -> serve(s), "l2l4j-gradient-exchange-peer");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (!server.isClosed()) {
                    LOG.log(System.Logger.Level.WARNING, "gradient exchange: accepting a task failed: " + e);
                }
            }
        }
    }

    /** One task's connection: the handshake, then its parts until the stage ends. */
    private void serve(Socket s) {
        Round r = null;
        int rank = -1;
        try (s) {
            s.setSoTimeout(HANDSHAKE_MILLIS);
            s.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream(), 1 << 16));
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream(), 1 << 16));
            long presented = in.readLong();
            long g = in.readLong();
            rank = in.readInt();
            int workers = in.readInt();
            int phiSize = in.readInt();
            r = current();
            String refusal = presented != token ? "a wrong token"
                    : r == null || r.generation != g ? "generation " + g + " (not the current stage attempt)"
                    : workers != r.workers || phiSize != r.phiSize || rank < 0 || rank >= workers
                            ? "rank " + rank + " of " + workers + " with " + phiSize + " values (expected "
                                    + r.workers + " tasks of " + r.phiSize + ")" : null;
            if (refusal != null) {
                out.writeBoolean(false);
                out.writeUTF("the gradient exchange refused " + refusal);
                out.flush();
                return;
            }
            r.join(rank, s);
            out.writeBoolean(true);
            out.flush();
            s.setSoTimeout(Math.toIntExact(Math.min(Integer.MAX_VALUE, timeout.toMillis())));
            double[] part = new double[phiSize + 1];
            while (in.readBoolean()) {
                for (int i = 0; i <= phiSize; i++) {
                    part[i] = in.readDouble();
                }
                double[] total = r.add(rank, part);
                for (double v : total) {
                    out.writeDouble(v);
                }
                out.flush();
            }
        } catch (IOException | RuntimeException | Error | InterruptedException e) {
            if (r != null && rank >= 0 && !r.aborted()) {
                r.abort("task " + rank + " failed or left: " + e);
            }
            if (e instanceof Error error) {
                throw error;
            }
        }
    }

    /** Stops listening and ends the current generation. */
    @Override
    public synchronized void close() throws IOException {
        if (round != null) {
            round.abort("the exchange closed");
        }
        server.close();
    }

    /** A generation's state: the parts of the unroll in progress and the connections. */
    private static final class Round {
        final long generation;
        final int workers;
        final int phiSize;
        private final long timeoutNanos;
        private final double[][] parts;
        private final List<Socket> sockets = new ArrayList<>();
        private int arrived;
        private long count;
        private double[] total;
        private String abortReason;

        Round(long generation, int workers, int phiSize, Duration timeout) {
            this.timeoutNanos = timeout.toNanos();
            this.generation = generation;
            this.workers = workers;
            this.phiSize = phiSize;
            this.parts = new double[workers][];
        }

        synchronized void join(int rank, Socket s) {
            if (abortReason != null) {
                throw new IllegalStateException(abortReason);
            }
            sockets.add(s);
        }

        synchronized boolean aborted() {
            return abortReason != null;
        }

        /** Adds rank's part [loss, dphi...]; waits for the others; returns the sum in rank order. */
        synchronized double[] add(int rank, double[] part) throws InterruptedException {
            if (abortReason != null) {
                throw new IllegalStateException(abortReason);
            }
            if (parts[rank] != null) {
                throw new IllegalStateException("task " + rank + " sent twice in one unroll");
            }
            parts[rank] = part.clone();
            long mine = count;
            if (++arrived == workers) {
                double[] sum = parts[0].clone();
                for (int w = 1; w < workers; w++) {
                    double[] p = parts[w];
                    for (int i = 0; i < sum.length; i++) {
                        sum[i] += p[i];
                    }
                }
                Arrays.fill(parts, null);
                arrived = 0;
                total = sum;
                count++;
                notifyAll();
                return sum;
            }
            long deadline = System.nanoTime() + timeoutNanos;
            while (count == mine && abortReason == null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    abort("the other tasks' parts did not arrive within " + timeoutNanos / 1_000_000_000 + " s");
                    break;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            if (count == mine) {
                throw new IllegalStateException(abortReason);
            }
            return total;
        }

        synchronized void abort(String reason) {
            if (abortReason == null) {
                abortReason = reason;
                LOG.log(ENDED.equals(reason) ? System.Logger.Level.DEBUG : System.Logger.Level.WARNING,
                        "gradient exchange of stage attempt " + generation + " ended: " + reason);
            }
            notifyAll();
            for (Socket s : sockets) {
                try {
                    s.close();
                } catch (IOException e) {
                    // already closed: nothing is left to release
                }
            }
            sockets.clear();
        }
    }
}
