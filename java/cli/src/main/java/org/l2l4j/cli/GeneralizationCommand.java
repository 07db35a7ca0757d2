package org.l2l4j.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.l2l4j.backend.Backend;
import org.l2l4j.data.MnistData;
import org.l2l4j.eval.Comparison;
import org.l2l4j.lstm.OptimizerCheckpoint;
import org.l2l4j.meta.MemoryEstimate.Driver;
import org.l2l4j.optimizees.MlpSpec;
import org.l2l4j.optimizees.Problem;
import org.l2l4j.optimizees.ProblemSetup;
import org.l2l4j.optimizers.HandDesignedRule;
import org.l2l4j.report.Estimate;
import org.l2l4j.report.LossCurves;
import org.l2l4j.report.PairedComparison;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code l2l4j generalization}: the paper's MNIST generalization experiments (section 3.2,
 * figure 5).  The optimizer trained on 784-20-10 sigmoid MLPs for K = 100 steps is compared,
 * by a {@link Comparison} each, with the hand-designed baselines tuned anew for each variant:
 * (a) 2K steps, (b) 40 hidden units, (c) two hidden layers of 20, (d) ReLU activations (which
 * the paper reports the learned optimizer fails on).  Writes each variant's
 * files into a subfolder and {@code generalization.md}: the data set's source, an overview table
 * (final loss of each optimizer per variant and the paired verdict against each baseline:
 * {@link #verdict}) followed by one section per variant.
 */
@Command(name = "generalization", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"The paper's MNIST generalization table: the learned optimizer vs tuned baselines on twice "
                + "--steps steps (200 by default), 40 hidden units, 2 hidden layers and ReLU; writes generalization.md "
                + "and one subfolder per variant.",
            "Each baseline's cell says \"beaten\" (the learned optimizer's final loss is lower by more than 2 "
                + "standard errors of the paired difference), \"tie\" (within 2) or \"better\" (the baseline's is "
                + "lower by more than 2)."})
final class GeneralizationCommand extends CliCommand {
    /** The files it writes: the overview and each variant's evaluation files. */
    static final List<String> FILES = List.of("generalization.md",
            "{steps-*,hidden-40,layers-2,relu}/{" + String.join(",", EvaluateCommand.FILES) + "}");

    @Mixin
    OptimizerSource optimizer;

    @Mixin
    PrecisionOption precision;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Output folder (created if needed). One holding an earlier run's files is refused unless "
                    + "--force replaces them.")
    Path out;

    @Mixin
    OutputFolder output;

    @Mixin
    ComparisonOptions comparison;

    @Mixin
    DataSource data;

    /** One generalization variant: its subfolder, heading, optimizee and steps. */
    private record Variant(String folder, String heading, MlpSpec spec, int steps) {
    }

    @Override
    void validate() {
        output.check(this, "--out", out, FILES, null, null);
        comparison.validate(this);
        optimizer.validate(this);
    }

    @Override
    OutputFolder output() {
        return output;
    }

    @Override
    Map<Driver, String> memoryOptions() {
        Map<Driver, String> options = new EnumMap<>(Driver.class);
        options.put(Driver.STEPS, "fewer --steps");
        options.put(Driver.RUNS, "fewer --runs");
        options.put(Driver.DATA, "a smaller data set (--data)");
        return options;
    }

    @Override
    void run() throws Exception {
        output.create();
        OptimizerCheckpoint learned = optimizer.load();
        String trainedOn = learned.description().get("problem");
        if (trainedOn != null && !trainedOn.equals(Problem.MNIST.key())) {
            err().println("Note: " + optimizer.describe() + " was trained on " + trainedOn + ", not MNIST.");
        }
        MnistData mnist = data.load();
        out().println("Data: " + mnist.source().description());
        int k = comparison.steps;
        MlpSpec paper = MlpSpec.paper();
        List<Variant> variants = List.of(
                new Variant("steps-" + 2 * k, "(a) " + 2 * k + " steps", paper, 2 * k),
                new Variant("hidden-40", "(b) 40 hidden units", paper.withHiddenWidths(40), k),
                new Variant("layers-2", "(c) 2 hidden layers", paper.withHiddenWidths(20, 20), k),
                new Variant("relu", "(d) ReLU activations", paper.withActivation(MlpSpec.Activation.RELU), k));
        List<Comparison.Result> results = new ArrayList<>();
        try (Backend backend = root.backend()) {
            learned = precision.apply(learned);
            List<ProblemSetup> setups = new ArrayList<>();
            for (Variant v : variants) {
                ProblemSetup setup = ProblemSetup.mnist(mnist, v.spec());
                requireMemory("variant " + v.heading(), Comparison.memoryEstimate(learned.groups(), setup,
                        settings(v)), backend);
                setups.add(setup);
            }
            for (int i = 0; i < variants.size(); i++) {
                Variant v = variants.get(i);
                err().println("Variant " + v.heading());
                err().flush();
                Comparison.Result r = Comparison.run(backend, learned, setups.get(i), settings(v),
                        v.heading() + ": " + setups.get(i).title() + ", " + v.steps() + " steps", bars());
                EvaluateCommand.write(r, out.resolve(v.folder()));
                results.add(r);
            }
        }
        String overview = overview(variants, results);
        StringBuilder md = new StringBuilder("# Generalization of the learned optimizer (")
                .append(mnist.source().title()).append(")\n\n")
                .append("Data: ").append(mnist.source().description()).append(".\n\n")
                .append("Optimizer: ").append(optimizer.describe())
                .append(" (meta-trained on ").append(learned.description().getOrDefault("optimizee", "?"))
                .append(", ").append(learned.description().getOrDefault("horizon", "?")).append(" steps per trajectory).")
                .append(" Each variant changes one thing of the base setting (784-20-10 sigmoid MLP, ").append(k)
                .append(" steps) and runs ").append(comparison.runs)
                .append(" paired runs on minibatches of the test split, with the baselines' learning rates tuned for the"
                        + " variant.\n\n")
                .append(overview);
        for (int i = 0; i < variants.size(); i++) {
            md.append("\n## ").append(variants.get(i).heading()).append("\n\n").append(results.get(i).markdown())
                    .append("\nFiles: ").append(variants.get(i).folder()).append("/\n");
        }
        Files.writeString(out.resolve("generalization.md"), md.toString(), StandardCharsets.UTF_8);
        PrintWriter w = out();
        w.println();
        w.print(overview);
        w.println();
        w.println("Wrote " + out.resolve("generalization.md").toAbsolutePath().normalize());
        w.flush();
    }

    /** The comparison settings of variant {@code v}. */
    private Comparison.Settings settings(Variant v) {
        return new Comparison.Settings(comparison.runs, v.steps(), comparison.tuningFunctions, root.seed(),
                root.threads());
    }

    /**
     * The paired verdict of the learned optimizer ({@code c.a()}) against a baseline
     * ({@code c.b()}): "beaten" when the learned optimizer's final loss is lower by more than
     * {@value PairedComparison#MARGIN_STDERRS} standard errors of the paired difference, "better"
     * when the baseline's is, else "tie".
     */
    static String verdict(PairedComparison c) {
        return c.aBeatsB() ? "beaten" : c.bBeatsA() ? "better" : "tie";
    }

    /**
     * The table: one row per variant, the final loss (mean ± SE) of each optimizer, and for each
     * baseline the {@link #verdict}.
     */
    private static String overview(List<Variant> variants, List<Comparison.Result> results) {
        StringBuilder md = new StringBuilder("Final loss, mean ± standard error over runs; against each baseline,")
                .append(" \"beaten\": the learned optimizer's final loss is lower by more than 2 standard errors of the")
                .append(" paired difference, \"tie\": the difference is within 2 standard errors, \"better\": the")
                .append(" baseline's final loss is lower by more than 2 standard errors.\n\n")
                .append("| variant | ").append(Comparison.LEARNED);
        for (HandDesignedRule rule : HandDesignedRule.values()) {
            md.append(" | ").append(rule.displayName());
        }
        md.append(" |\n|---|---:").append("|---:".repeat(HandDesignedRule.values().length)).append("|\n");
        for (int i = 0; i < variants.size(); i++) {
            Comparison.Result r = results.get(i);
            Optional<LossCurves> curves = r.curves();
            md.append("| ").append(variants.get(i).heading()).append(" | ").append(finalLoss(curves, Comparison.LEARNED));
            for (HandDesignedRule rule : HandDesignedRule.values()) {
                String name = rule.displayName();
                Optional<PairedComparison> c = r.learnedVersus(name);
                md.append(" | ").append(finalLoss(curves, name))
                        .append(c.map(p -> ", " + verdict(p)).orElse(""));
            }
            md.append(" |\n");
        }
        return md.toString();
    }

    private static String finalLoss(Optional<LossCurves> curves, String name) {
        return curves.filter(c -> c.optimizers().contains(name)).map(c -> {
            Estimate e = c.finalLoss(name);
            return String.format(Locale.ROOT, "%.4g ± %.2g", e.mean(), e.stderr());
        }).orElse("diverged");
    }
}
