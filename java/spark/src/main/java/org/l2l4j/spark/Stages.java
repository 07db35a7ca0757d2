package org.l2l4j.spark;

import java.io.Serializable;
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

/** Spark stages of W tasks, one per partition index, with their results collected in index order. */
final class Stages {
    private Stages() {
    }

    /** What task {@code rank} computes; shipped to the executors. */
    @FunctionalInterface
    interface Body<R> extends Serializable {
        R run(int rank);
    }

    /** W tasks scheduled as they get slots (periodic averaging). */
    static <R> List<R> plain(JavaSparkContext sc, int tasks, Body<R> body) {
        return sc.parallelize(IntStream.range(0, tasks).boxed().toList(), tasks).map(body::run).collect();
    }

    /**
     * W tasks of a barrier stage: all started together or none (the synchronous mode's tasks wait
     * for each other at every unroll).  If one fails, the job fails: Spark does not retry a barrier
     * stage whose results go to the driver, so the caller does ({@link Attempts}).
     */
    static <R> List<R> barrier(JavaSparkContext sc, int tasks, Body<R> body) {
        @SuppressWarnings("unchecked")
        ClassTag<R> tag = (ClassTag<R>) ClassTag$.MODULE$.apply(Object.class);
        RDD<R> out = sc.parallelize(IntStream.range(0, tasks).boxed().toList(), tasks).rdd().barrier()
                .mapPartitions(new EachRank<>(body), false, tag);
        return new JavaRDD<>(out, tag).collect();
    }

    /** The barrier stage's function: the body on each rank of its partition. */
    private static final class EachRank<R> extends AbstractFunction1<Iterator<Integer>, Iterator<R>>
            implements Serializable {
        private final Body<R> body;

        EachRank(Body<R> body) {
            this.body = body;
        }

        @Override
        public Iterator<R> apply(Iterator<Integer> ranks) {
            List<R> results = new ArrayList<>();
            while (ranks.hasNext()) {
                results.add(body.run(ranks.next()));
            }
            return CollectionConverters.asScala(results.iterator());
        }
    }
}
