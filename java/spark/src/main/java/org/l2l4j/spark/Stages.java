package org.l2l4j.spark;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * Spark stages of W tasks, one per partition index, with their results collected in index order.
 * A task's result travels as the bytes of its Java serialization, whatever serializer the
 * application configured for its data ({@code spark.serializer}: Kryo cannot write records or
 * immutable lists), as its closure does.
 */
final class Stages {
    private Stages() {
    }

    /** What task {@code rank} computes; shipped to the executors. */
    @FunctionalInterface
    interface Body<R> extends Serializable {
        R run(int rank);
    }

    /** W tasks scheduled as they get slots (periodic averaging). */
    static <R extends Serializable> List<R> plain(JavaSparkContext sc, int tasks, Body<R> body) {
        return decode(sc.parallelize(IntStream.range(0, tasks).boxed().toList(), tasks)
                .map(rank -> encode(body.run(rank))).collect());
    }

    /**
     * W tasks of a barrier stage: all started together or none (the synchronous mode's tasks wait
     * for each other at every unroll).  If one fails, the job fails: Spark does not retry a barrier
     * stage whose results go to the driver, so the caller does ({@link Attempts}).
     */
    static <R extends Serializable> List<R> barrier(JavaSparkContext sc, int tasks, Body<R> body) {
        ClassTag<byte[]> tag = ClassTag$.MODULE$.apply(byte[].class);
        RDD<byte[]> out = sc.parallelize(IntStream.range(0, tasks).boxed().toList(), tasks).rdd().barrier()
                .mapPartitions(new EachRank<>(body), false, tag);
        return decode(new JavaRDD<>(out, tag).collect());
    }

    private static byte[] encode(Serializable result) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(result);
        } catch (IOException e) {
            throw new UncheckedIOException("a task's result could not be serialized: " + e, e);
        }
        return bytes.toByteArray();
    }

    @SuppressWarnings("unchecked")
    private static <R> List<R> decode(List<byte[]> results) {
        List<R> decoded = new ArrayList<>(results.size());
        for (byte[] r : results) {
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(r))) {
                decoded.add((R) in.readObject());
            } catch (IOException | ClassNotFoundException e) {
                throw new IllegalStateException("a task's result could not be read on the driver: " + e, e);
            }
        }
        return decoded;
    }

    /** The barrier stage's function: the body on each rank of its partition. */
    private static final class EachRank<R extends Serializable>
            extends AbstractFunction1<Iterator<Integer>, Iterator<byte[]>> implements Serializable {
        private final Body<R> body;

        EachRank(Body<R> body) {
            this.body = body;
        }

        @Override
        public Iterator<byte[]> apply(Iterator<Integer> ranks) {
            List<byte[]> results = new ArrayList<>();
            while (ranks.hasNext()) {
                results.add(encode(body.run(ranks.next())));
            }
            return CollectionConverters.asScala(results.iterator());
        }
    }
}
