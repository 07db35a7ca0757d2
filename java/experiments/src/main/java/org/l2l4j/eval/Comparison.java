package org.l2l4j.eval;

import static org.l2l4j.report.MarkdownSummary.shortNumber;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.GroupedLstm;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.ntm.NtmBfgsCheckpoint;
import org.l2l4j.meta.LearnedRollouts;
import org.l2l4j.meta.MemoryEstimate;
import org.l2l4j.meta.NtmBfgsRollouts;
import org.l2l4j.meta.PlacedFamily;
import org.l2l4j.meta.Seeds;
import org.l2l4j.optimizees.MlpFamily;
import org.l2l4j.optimizees.Optimizee;
import org.l2l4j.optimizees.OptimizeeFamily;
import org.l2l4j.optimizees.ProblemSetup;
import org.l2l4j.optimizers.HandDesignedRule;
import org.l2l4j.optimizers.ParameterOptimizer;
import org.l2l4j.report.CsvReport;
import org.l2l4j.report.Estimate;
import org.l2l4j.report.LossCurves;
import org.l2l4j.report.MarkdownSummary;
import org.l2l4j.report.PairedComparison;

/**
 * A learned optimizer against the hand-designed baselines on the same held-out functions, by
 * this protocol (the comparisons of the paper's section 3, figures 4 and 5):
 *
 * <ol>
 *   <li>each baseline's learning rate ({@link HandDesignedRule}: SGD, momentum, NAG, RMSprop,
 *       Adam) is tuned by {@link LearningRateTuner} on the problem's validation functions,
 *       seeds {@code Seeds.list(seed, TUNING, k)}, for the same number of steps K;</li>
 *   <li>the learned optimizer ({@link LearnedRollouts}, many functions per native call; an
 *       NTM-BFGS optimizer on the host, {@link NtmBfgsRollouts}) and
 *       every tuned baseline ({@link Trajectory}) run K steps on the same test functions, seeds
 *       {@code Seeds.list(seed, EVALUATION, runs)} (MNIST: minibatches from t10k), so that run
 *       r of every optimizer sees the same function, theta_0 and minibatch sequence (paired
 *       runs);</li>
 *   <li>for MLP problems, each run's final parameters are also scored on the whole test split
 *       (mean cross-entropy and accuracy).</li>
 * </ol>
 *
 * <p>The report compares every baseline with the learned optimizer by the paired difference of
 * final losses ("A beats B" when it exceeds 2 standard errors).  An optimizer whose loss is not
 * finite in some run is left out of the table and plot, with a note.  Results do not depend on
 * the number of threads.
 */
public final class Comparison {
    /** The learned optimizer's name in reports. */
    public static final String LEARNED = "LSTM (learned)";
    /** The files {@link Result#write} may write: summary, curves, runs, whole-split scores, tuning. */
    public static final List<String> FILES = List.of("summary.md", "curves.csv", "runs.csv", "full-split.csv",
            "tuning.csv");

    /**
     * @param runs            paired test runs, at least 2
     * @param steps           K, steps per run (and per tuning run)
     * @param tuningFunctions validation functions per learning-rate tuning
     * @param seed            base seed
     * @param threads         Java threads for the baselines' runs and the tuning
     */
    public record Settings(int runs, int steps, int tuningFunctions, long seed, int threads) {
    }

    /**
     * One optimizer's runs.
     *
     * @param name         name in reports
     * @param learningRate the tuned learning rate, null for the learned optimizer
     * @param losses       losses[run][t], t = 0..K
     * @param fullSplit    each run's final parameters scored on the whole test split, or null
     *                     when the problem is not an MLP
     */
    public record Runs(String name, Double learningRate, double[][] losses, MlpFamily.Metrics[] fullSplit) {
        /** Runs with a non-finite loss at some step. */
        public long diverged() {
            return Arrays.stream(losses).filter(l -> !Arrays.stream(l).allMatch(Double::isFinite)).count();
        }
    }

    /**
     * The outcome.
     *
     * @param title        what was compared (problem and steps)
     * @param data         where the functions' data set came from ({@link ProblemSetup#data()}),
     *                     or null
     * @param settings     the settings
     * @param runs         the learned optimizers' runs first, then each baseline's
     * @param tuning       each baseline's tuning
     * @param finiteCurves the curves of the optimizers whose runs all stayed finite; null if
     *                     none did
     */
    public record Result(String title, String data, Settings settings, List<Runs> runs,
                         Map<HandDesignedRule, LearningRateTuner.Result> tuning, LossCurves finiteCurves) {

        /** The curves of the optimizers whose runs all stayed finite, if any did. */
        public Optional<LossCurves> curves() {
            return Optional.ofNullable(finiteCurves);
        }

        /**
         * The paired comparison of the learned optimizer with {@code baseline}, or empty if
         * either diverged in some run.
         */
        public Optional<PairedComparison> learnedVersus(String baseline) {
            return curves().filter(c -> c.optimizers().contains(LEARNED) && c.optimizers().contains(baseline))
                    .map(c -> c.compareFinal(LEARNED, baseline));
        }

        /**
         * The report: the final-loss table ({@link MarkdownSummary}), each learned optimizer's
         * paired comparisons with every other optimizer, the whole-split scores, the tuned
         * learning rates and notes.
         */
        public String markdown() {
            StringBuilder md = new StringBuilder();
            Optional<LossCurves> curves = curves();
            List<String> learned = runs.stream().filter(r -> r.learningRate() == null).map(Runs::name).toList();
            curves.ifPresent(c -> {
                List<String> references = learned.stream().filter(c.optimizers()::contains).toList();
                md.append(MarkdownSummary.table(c));
                for (String reference : references.isEmpty() ? List.of(c.optimizers().get(0)) : references) {
                    md.append(MarkdownSummary.pairedDifferences(c, reference));
                }
            });
            String notes = runs.stream().filter(r -> r.diverged() > 0)
                    .map(r -> "- " + r.name()
                            + (r.learningRate() == null ? "" : " (lr " + shortNumber(r.learningRate()) + ")")
                            + ": non-finite loss in " + r.diverged() + " of " + settings.runs()
                            + " runs (diverged); left out of the table and plot.\n")
                    .collect(Collectors.joining());
            md.append(curves.isPresent() && !notes.isEmpty() ? "\n" : "").append(notes);
            if (runs.get(0).fullSplit() != null) {
                md.append("\nFinal parameters scored on the whole test split (mean ± standard error over runs):\n\n")
                        .append("| optimizer | loss | accuracy |\n|---|---:|---:|\n");
                for (Runs r : runs) {
                    md.append("| ").append(r.name()).append(" | ").append(meanOverRuns(r, MlpFamily.Metrics::loss))
                            .append(" | ").append(meanOverRuns(r, MlpFamily.Metrics::accuracy)).append(" |\n");
                }
            }
            md.append("\nLearning rates tuned on ").append(settings.tuningFunctions())
                    .append(settings.tuningFunctions() == 1 ? " validation function, " : " validation functions, ").append(settings.steps()).append(" steps:");
            md.append(tuning.entrySet().stream()
                    .map(e -> " " + e.getKey().displayName() + " " + shortNumber(e.getValue().bestLearningRate())
                            + (e.getValue().atCap() ? " (at the end of the searched range)" : ""))
                    .collect(Collectors.joining(",", "", ".\n")));
            return md.toString();
        }

        /**
         * Writes summary.md (the title, the data set's source and {@link #markdown()}), curves.csv
         * and runs.csv (unless every optimizer diverged), tuning.csv and, for MNIST,
         * full-split.csv: {@link #FILES}.
         *
         * @return the names of the files written
         */
        public List<String> write(Path folder) throws IOException {
            Files.createDirectories(folder);
            List<String> written = new ArrayList<>(List.of("summary.md"));
            Optional<LossCurves> curves = curves();
            if (curves.isPresent()) {
                written.addAll(List.of("curves.csv", "runs.csv"));
                CsvReport.writeCurves(curves.get(), folder.resolve("curves.csv"));
                CsvReport.writeRuns(curves.get(), folder.resolve("runs.csv"));
            }
            if (runs.get(0).fullSplit() != null) {
                written.add("full-split.csv");
                try (Writer w = Files.newBufferedWriter(folder.resolve("full-split.csv"), StandardCharsets.UTF_8)) {
                    w.write("optimizer,run,loss,accuracy\n");
                    for (Runs r : runs) {
                        for (int i = 0; i < r.fullSplit().length; i++) {
                            w.write(r.name() + "," + i + "," + r.fullSplit()[i].loss() + ","
                                    + r.fullSplit()[i].accuracy() + "\n");
                        }
                    }
                }
            }
            written.add("tuning.csv");
            try (Writer w = Files.newBufferedWriter(folder.resolve("tuning.csv"), StandardCharsets.UTF_8)) {
                w.write("optimizer,learning_rate,mean_final_loss,best\n");
                for (var e : tuning.entrySet()) {
                    for (LearningRateTuner.Entry x : e.getValue().table()) {
                        w.write(e.getKey().displayName() + "," + x.learningRate() + "," + x.meanFinalLoss() + ","
                                + (x.learningRate() == e.getValue().bestLearningRate()) + "\n");
                    }
                }
            }
            Files.writeString(folder.resolve("summary.md"), "# " + title + "\n\n"
                    + (data == null ? "" : "Data: " + data + ".\n\n") + markdown(), StandardCharsets.UTF_8);
            return written;
        }

        private String meanOverRuns(Runs r, java.util.function.ToDoubleFunction<MlpFamily.Metrics> metric) {
            double[] v = Arrays.stream(r.fullSplit()).mapToDouble(metric).toArray();
            if (!Arrays.stream(v).allMatch(Double::isFinite)) {
                return "not finite";
            }
            Estimate e = Estimate.of(v);
            return String.format(Locale.ROOT, "%.4g ± %.2g", e.mean(), e.stderr());
        }
    }

    private Comparison() {
    }

    /** A learned optimizer of a comparison: a coordinatewise LSTM or an NTM-BFGS optimizer. */
    public sealed interface Learned permits LearnedLstm, LearnedNtmBfgs {
        /** Its name in reports ({@link #LEARNED} for the one a single comparison evaluates). */
        String name();
    }

    /**
     * A coordinatewise LSTM (with or without averaging units, in parameter groups), run on the
     * comparison's backend ({@link LearnedRollouts}).
     *
     * @param checkpoint its architecture and phi
     */
    public record LearnedLstm(String name, OptimizerCheckpoint checkpoint) implements Learned {
        /** @throws NullPointerException if an argument is null */
        public LearnedLstm {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(checkpoint, "checkpoint");
        }
    }

    /**
     * An NTM-BFGS optimizer, run on the host in float64 ({@link NtmBfgsRollouts}); its optimizees
     * must have at most {@link org.l2l4j.ntm.NtmBfgsConfig#MAX_DIMENSION} coordinates.
     *
     * @param checkpoint its architecture and phi
     */
    public record LearnedNtmBfgs(String name, NtmBfgsCheckpoint checkpoint) implements Learned {
        /** @throws NullPointerException if an argument is null */
        public LearnedNtmBfgs {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(checkpoint, "checkpoint");
        }
    }

    /** {@link #run(Backend, List, ProblemSetup, Settings, String, Progress)} of one learned optimizer, named {@link #LEARNED}. */
    public static Result run(Backend backend, OptimizerCheckpoint learned, ProblemSetup setup, Settings s, String title,
                             Progress progress) {
        return run(backend, List.of(new LearnedLstm(LEARNED, learned)), setup, s, title, progress);
    }

    /**
     * Tunes the baselines and runs every optimizer on the test functions of {@code setup}; the
     * learned LSTMs run on {@code backend}, their optimizees evaluated in place there where
     * the family allows it ({@link PlacedFamily}); NTM-BFGS optimizers run on the host.  Several
     * learned optimizers (the paper's LSTM and LSTM-sub, figure 6; LSTM, LSTM+GAC and NTM-BFGS,
     * appendix B) share the baselines' tuning and runs; the report pairs each of them with every
     * other optimizer.
     *
     * @param title    what is compared, for reports
     * @param learned  the learned optimizers, at least one, with distinct names that are not a
     *                 baseline's
     * @param progress receives the progress of the tuning (a unit per rule) and of the runs (a
     *                 unit per run of each optimizer)
     * @throws IllegalArgumentException if there is no learned optimizer or two share a name
     */
    public static Result run(Backend backend, List<Learned> learned, ProblemSetup setup, Settings s, String title,
                             Progress progress) {
        Objects.requireNonNull(progress, "progress");
        HandDesignedRule[] rules = HandDesignedRule.values();
        Set<String> names = new HashSet<>();
        Arrays.stream(rules).map(HandDesignedRule::displayName).forEach(names::add);
        if (learned.isEmpty() || !learned.stream().allMatch(l -> names.add(l.name()))) {
            throw new IllegalArgumentException("need at least one learned optimizer, each named apart from the others"
                    + " and the baselines, got " + learned.stream().map(Learned::name).toList());
        }
        Map<HandDesignedRule, LearningRateTuner.Result> tuning = tune(setup, s, progress);
        long[] seeds = Seeds.list(s.seed(), Seeds.EVALUATION, s.runs());
        MlpFamily mlp = setup.test() instanceof MlpFamily m ? m : null;
        List<Runs> all = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(s.threads(), daemons());
        progress.start("runs", (long) s.runs() * (rules.length + learned.size()));
        try {
            List<float[][]> finals = new ArrayList<>();
            List<double[][]> losses = new ArrayList<>();
            try (PlacedFamily test = PlacedFamily.on(backend, setup.test())) {
                for (Learned l : learned) {
                    progress.status(l.name());
                    LearnedRollouts.Result r = learnedRuns(backend, l, test.family(), seeds, s.steps(),
                            mlp == null ? progress : null);
                    losses.add(r.losses());
                    finals.add(r.finalParameters());
                }
            }
            progress.status("baselines");
            List<List<Future<MlpFamily.Metrics>>> learnedMetrics = new ArrayList<>();
            for (float[][] f : finals) {
                List<Future<MlpFamily.Metrics>> metrics = new ArrayList<>();
                for (float[] theta : mlp == null ? new float[0][] : f) {
                    metrics.add(pool.submit(() -> {
                        MlpFamily.Metrics m = mlp.fullMetrics(theta);
                        progress.advance(1);
                        return m;
                    }));
                }
                learnedMetrics.add(metrics);
            }
            List<List<Future<Run>>> baselineRuns = new ArrayList<>();
            for (HandDesignedRule rule : rules) {
                HandDesignedRule.Factory factory = rule.factory(tuning.get(rule).bestLearningRate());
                List<Future<Run>> futures = new ArrayList<>();
                for (long seed : seeds) {
                    futures.add(pool.submit(() -> {
                        Run r = baselineRun(factory, setup.test().sample(seed), s.steps(), mlp);
                        progress.advance(1);
                        return r;
                    }));
                }
                baselineRuns.add(futures);
            }
            for (int j = 0; j < learned.size(); j++) {
                all.add(new Runs(learned.get(j).name(), null, losses.get(j),
                        mlp == null ? null : get(learnedMetrics.get(j)).toArray(MlpFamily.Metrics[]::new)));
            }
            for (int i = 0; i < rules.length; i++) {
                List<Run> rs = get(baselineRuns.get(i));
                all.add(new Runs(rules[i].displayName(), tuning.get(rules[i]).bestLearningRate(),
                        rs.stream().map(Run::losses).toArray(double[][]::new),
                        mlp == null ? null : rs.stream().map(Run::metrics).toArray(MlpFamily.Metrics[]::new)));
            }
        } finally {
            pool.shutdownNow();
            progress.finish();
        }
        return new Result(title, setup.data(), s, all, tuning, finiteCurves(all));
    }

    /**
     * One learned optimizer's runs on the functions of {@code seeds}, {@link LearnedRollouts#GROUP}
     * at a time; each run counts in {@code progress} unless it is null.
     */
    private static LearnedRollouts.Result learnedRuns(Backend backend, Learned learned, OptimizeeFamily family,
                                                      long[] seeds, int steps, Progress progress) {
        if (learned instanceof LearnedNtmBfgs ntm) {
            return inGroups(seeds, progress, group -> NtmBfgsRollouts.run(ntm.checkpoint().config(),
                    ntm.checkpoint().phi(), family, group, steps));
        }
        OptimizerCheckpoint checkpoint = ((LearnedLstm) learned).checkpoint();
        try (GroupedLstm lstm = new GroupedLstm(checkpoint.groups(), backend)) {
            lstm.write(checkpoint.phi());
            return inGroups(seeds, progress, group -> LearnedRollouts.run(backend, lstm, family, group, steps));
        }
    }

    /** The runs of {@code seeds} by {@code run}, {@link LearnedRollouts#GROUP} functions at a time. */
    private static LearnedRollouts.Result inGroups(long[] seeds, Progress progress,
                                                   Function<long[], LearnedRollouts.Result> run) {
        double[][] losses = new double[seeds.length][];
        float[][] finals = new float[seeds.length][];
        for (int first = 0; first < seeds.length; first += LearnedRollouts.GROUP) {
            long[] group = Arrays.copyOfRange(seeds, first, Math.min(seeds.length, first + LearnedRollouts.GROUP));
            LearnedRollouts.Result r = run.apply(group);
            System.arraycopy(r.losses(), 0, losses, first, group.length);
            System.arraycopy(r.finalParameters(), 0, finals, first, group.length);
            if (progress != null) {
                progress.advance(group.length);
            }
        }
        return new LearnedRollouts.Result(losses, finals);
    }

    /**
     * The memory of {@link #run} with an optimizer of parameter groups {@code groups}, estimated
     * without allocating anything: the learned optimizer's runs ({@link LearnedRollouts#memory}),
     * the test data set copied to the backend to evaluate the MLPs in place, and every baseline's
     * losses.
     *
     * @throws NullPointerException if an argument is null
     */
    public static MemoryEstimate memoryEstimate(ParameterGroups groups, ProblemSetup setup, Settings s) {
        List<MemoryEstimate.Part> parts = new ArrayList<>(LearnedRollouts.memory(groups, setup.test(), s.runs(),
                s.steps(), MemoryEstimate.Driver.RUNS));
        parts.add(MemoryEstimate.Part.of("the test data on the backend", MemoryEstimate.Memory.NATIVE,
                setup.test().residentBytes(), MemoryEstimate.Driver.DATA));
        parts.add(MemoryEstimate.Part.of("the baselines' losses", MemoryEstimate.Memory.JAVA_HEAP,
                MemoryEstimate.size(8, HandDesignedRule.values().length, s.runs(), s.steps() + 1L),
                MemoryEstimate.Driver.RUNS, MemoryEstimate.Driver.STEPS));
        return new MemoryEstimate(parts);
    }

    /** The curves of the optimizers whose runs all stayed finite, or null if none did. */
    public static LossCurves finiteCurves(List<Runs> runs) {
        LossCurves.Builder b = LossCurves.builder();
        boolean any = false;
        for (Runs r : runs) {
            if (r.diverged() == 0) {
                if (r.learningRate() == null) {
                    b.add(r.name(), r.losses());
                } else {
                    b.add(r.name(), r.losses(), r.learningRate());
                }
                any = true;
            }
        }
        return any ? b.build() : null;
    }

    /** Each rule's learning rate tuned on the validation functions. */
    private static Map<HandDesignedRule, LearningRateTuner.Result> tune(ProblemSetup setup, Settings s,
                                                                         Progress progress) {
        long[] seeds = Seeds.list(s.seed(), Seeds.TUNING, s.tuningFunctions());
        LearningRateTuner tuner = new LearningRateTuner(s.threads());
        Map<HandDesignedRule, LearningRateTuner.Result> tuned = new EnumMap<>(HandDesignedRule.class);
        progress.start("tuning", HandDesignedRule.values().length);
        try {
            for (HandDesignedRule rule : HandDesignedRule.values()) {
                progress.status(rule.displayName());
                tuned.put(rule, tuner.tune(rule, setup.validation(), seeds, s.steps()));
                progress.advance(1);
            }
        } finally {
            progress.finish();
        }
        return tuned;
    }

    /** One baseline trajectory and, for MLPs, its final parameters scored on the whole split. */
    private record Run(double[] losses, MlpFamily.Metrics metrics) {
    }

    private static Run baselineRun(HandDesignedRule.Factory factory, Optimizee f, int steps, MlpFamily mlp) {
        float[] theta = new float[f.dimension()];
        try (ParameterOptimizer optimizer = factory.parameterOptimizer(false)) {
            double[] losses = Trajectory.run(f, optimizer, steps, theta);
            return new Run(losses, mlp == null ? null : mlp.fullMetrics(theta));
        }
    }

    private static <T> List<T> get(List<Future<T>> futures) {
        List<T> out = new ArrayList<>(futures.size());
        for (Future<T> f : futures) {
            try {
                out.add(f.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                throw new IllegalStateException(e.getCause());
            }
        }
        return out;
    }

    private static java.util.concurrent.ThreadFactory daemons() {
        AtomicInteger count = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, "comparison-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
