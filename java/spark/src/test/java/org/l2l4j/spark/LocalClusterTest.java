package org.l2l4j.spark;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.meta.MetaTrainingOptions;
import org.l2l4j.optimizees.Problem;

/**
 * The synchronous mode on a {@code local-cluster[2,1,1024]} master: a standalone master and two
 * workers in the test's JVM, each starting an executor JVM of its own, so that the tasks'
 * serialization, the native library's loading in a fresh JVM and the exchange over TCP between
 * processes are exercised, without a Spark installation: Spark's launcher is told by
 * SPARK_TESTING, SPARK_SCALA_VERSION and an empty SPARK_HOME (set by the Maven build) to take the
 * executors' classpath from {@code spark.executor.extraClassPath}, here the tests' own.
 */
class LocalClusterTest {

    @Test
    void synchronousWorkersInTheirOwnJvmsEqualOneMachineWithAShardPerWorker() throws IOException {
        String home = System.getenv("SPARK_HOME");
        assumeTrue(home != null && "1".equals(System.getenv("SPARK_TESTING")),
                "a local-cluster master needs SPARK_HOME and SPARK_TESTING=1, which the Maven build sets: run it there");
        Files.createDirectories(Path.of(home));
        String classpath = Arrays.stream(System.getProperty("surefire.test.class.path",
                        System.getProperty("java.class.path")).split(File.pathSeparator))
                .map(p -> Path.of(p).toAbsolutePath().toString()).collect(Collectors.joining(File.pathSeparator));
        ParameterGroups groups = ParameterGroups.single(LstmConfig.paperQuadratic());
        PaperProblem quadratics = new PaperProblem(Problem.QUADRATIC, null, null);
        MetaTrainingOptions options = MetaTrainingOptions.defaults().withHorizon(20).withUnroll(5)
                .withInstances(4, MetaTrainingOptions.defaults().inputScaling()).withEvaluation(2, 2).withEpochs(4)
                .withSeed(23);
        try (JavaSparkContext sc = new JavaSparkContext(SparkMetaTrainingTest.conf("local-cluster[2,1,1024]")
                .set("spark.executor.extraClassPath", classpath)
                .set("spark.executor.extraJavaOptions", System.getProperty("l2l4j.spark.jvm", "")))) {
            SparkMetaTraining.Outcome run = SparkMetaTraining.run(sc, quadratics, groups, options,
                    SparkMetaTraining.Settings.synchronous(2), Map.of());
            SparkMetaTrainingTest.assertSameState(SparkMetaTrainingTest.oneMachine(options, 2), run.state());
        }
    }
}
