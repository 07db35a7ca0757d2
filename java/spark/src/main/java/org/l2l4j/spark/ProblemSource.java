package org.l2l4j.spark;

import java.io.IOException;
import java.io.Serializable;
import org.l2l4j.optimizees.ProblemSetup;

/**
 * Where the driver and every executor get the optimizees of a distributed meta-training run: a
 * serializable description that every task loads (a source whose data take long to read keeps
 * them, as {@link PaperProblem} does, for the later tasks of its JVM).  Loading must give the same families wherever it runs (the
 * same data, read from a path every executor can read), since the workers' trajectories and the
 * driver's validation must be those of one problem.  {@link PaperProblem} is the paper's problems.
 */
@FunctionalInterface
public interface ProblemSource extends Serializable {

    /**
     * The problem's training and validation families (the test family is not used).
     *
     * @throws IOException if its data cannot be read
     */
    ProblemSetup load() throws IOException;
}
