package org.l2l4j.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.l2l4j.meta.Curriculum;
import org.l2l4j.meta.LearningRateSchedule;
import org.l2l4j.meta.MetaBatchScaling;
import org.l2l4j.meta.MetaTrainingOptions;
import org.l2l4j.meta.Recipe;
import org.l2l4j.optimizers.HandDesignedRule;
import picocli.CommandLine.Option;

/**
 * How meta-training trains, for {@code train} and {@code main}: a {@link Recipe} (the command's
 * default: {@code paper} for train, {@code fast} for main), then any of its settings given
 * explicitly.  Each option's default is the recipe's value.
 */
final class RecipeOptions {
    @Option(names = "--recipe", paramLabel = "NAME",
            description = "paper (Adam 1e-3 on phi, the paper's settings) or fast (Adam 5e-3 on phi with "
                    + "a cosine decay, imitation of tuned NAG fading out over the run, cheap validations confirmed at the "
                    + "end); the options below override it (default: paper for train, fast for main).")
    Recipe recipe;

    @Option(names = "--meta-lr", paramLabel = "LR", description = "Adam's learning rate on phi (paper: 1e-3; fast: 5e-3).")
    Double metaLearningRate;

    @Option(names = "--meta-lr-schedule", paramLabel = "SCHEDULE",
            description = "The meta-learning rate over the epochs: constant, cosine or step, with ',warmup=EPOCHS' and "
                    + "for cosine ',floor=FRACTION' of the rate at the end (paper: constant; fast: cosine,floor=0.03).")
    String schedule;

    @Option(names = "--meta-lr-scaling", paramLabel = "MODE",
            description = "NONE, or SQRT: the meta-learning rate times sqrt(--instances) (paper: NONE).")
    MetaBatchScaling batchScaling;

    @Option(names = "--curriculum", paramLabel = "K:EPOCHS,...",
            description = "Shorter trajectories first: e.g. 20:100,50:100 trains 100 epochs over 20 steps, 100 over 50, "
                    + "then over --horizon; or none (paper: none).")
    String curriculum;

    @Option(names = "--imitate", paramLabel = "RULE",
            description = "Imitate a hand-designed optimizer (its learning rate tuned on the validation functions) with a "
                    + "weight fading to 0 over --imitation-epochs: sgd, momentum, nag, rmsprop, adam, or none (paper: "
                    + "none; fast: nag).")
    String imitate;

    @Option(names = "--imitation-weight", paramLabel = "LAMBDA",
            description = "The imitation term's initial weight, decaying linearly to 0 (default: the recipe's, else 1).")
    Double imitationWeight;

    @Option(names = "--imitation-epochs", paramLabel = "N",
            description = "Epochs over which the imitation weight decays to 0 (default: the recipe's, the whole run for "
                    + "fast, else 100).")
    Integer imitationEpochs;

    @Option(names = "--parameter-scaling", paramLabel = "KAPPA",
            description = "Train on optimizees whose parameters are scaled by exp(U[-KAPPA, KAPPA]) per coordinate "
                    + "(Lv et al. 2017), 0 for none (paper: 0).")
    Double parameterScaling;

    @Option(names = "--eval-every", paramLabel = "E", description = "Validate every E epochs (paper: 10; fast: 25).")
    Integer evaluationPeriod;

    @Option(names = "--validation-functions", paramLabel = "V",
            description = "Held-out functions per validation (paper: 8; fast: 4).")
    Integer validationFunctions;

    @Option(names = "--confirmation-functions", paramLabel = "C",
            description = "Evaluate the best few validated phis on C more held-out functions at the end and keep the "
                    + "best of those, 0 for none (paper: 0; fast: 16).")
    Integer confirmationFunctions;

    /** Checks the values given. */
    void validate(CliCommand command) {
        if (metaLearningRate != null) {
            command.positive("--meta-lr", metaLearningRate);
        }
        parse(command, "--meta-lr-schedule", () -> schedule == null ? null : LearningRateSchedule.parse(schedule));
        parse(command, "--curriculum", () -> curriculum == null ? null : Curriculum.parse(curriculum));
        parse(command, "--imitate", () -> imitate == null ? null : rule(imitate));
        if (imitationWeight != null && (!(imitationWeight >= 0) || Double.isInfinite(imitationWeight))) {
            throw command.invalid("--imitation-weight must be a finite number >= 0, got " + imitationWeight);
        }
        if (imitationEpochs != null) {
            command.atLeast("--imitation-epochs", imitationEpochs, 1);
        }
        if (parameterScaling != null && (!(parameterScaling >= 0) || Double.isInfinite(parameterScaling))) {
            throw command.invalid("--parameter-scaling must be a finite number >= 0 (0: none), got " + parameterScaling);
        }
        if (evaluationPeriod != null) {
            command.atLeast("--eval-every", evaluationPeriod, 1);
        }
        if (validationFunctions != null) {
            command.atLeast("--validation-functions", validationFunctions, 1);
        }
        if (confirmationFunctions != null) {
            command.atLeast("--confirmation-functions", confirmationFunctions, 0);
        }
    }

    private static void parse(CliCommand command, String option, java.util.function.Supplier<Object> parse) {
        try {
            parse.get();
        } catch (IllegalArgumentException e) {
            throw command.invalid(option + ": " + e.getMessage());
        }
    }

    /** The recipe in use: --recipe, else the command's default. */
    Recipe recipe(Recipe defaultRecipe) {
        return recipe != null ? recipe : defaultRecipe;
    }

    /** {@code base} with the recipe's settings, then the ones given explicitly. */
    MetaTrainingOptions apply(MetaTrainingOptions base, Recipe defaultRecipe) {
        MetaTrainingOptions o = recipe(defaultRecipe).apply(base);
        if (metaLearningRate != null) {
            o = o.withMetaLearningRate(metaLearningRate);
        }
        if (schedule != null) {
            o = o.withSchedule(LearningRateSchedule.parse(schedule));
        }
        if (batchScaling != null) {
            o = o.withBatchScaling(batchScaling);
        }
        if (curriculum != null) {
            o = o.withCurriculum(Curriculum.parse(curriculum));
        }
        if (parameterScaling != null) {
            o = o.withParameterScaling(parameterScaling);
        }
        if (evaluationPeriod != null || validationFunctions != null) {
            o = o.withEvaluation(evaluationPeriod != null ? evaluationPeriod : o.evaluationPeriod(),
                    validationFunctions != null ? validationFunctions : o.validationFunctions());
        }
        if (confirmationFunctions != null) {
            o = o.withConfirmation(confirmationFunctions);
        }
        return o;
    }

    /**
     * The teacher to imitate in a run of {@code epochs} epochs: --imitate (none: no teacher), else
     * the recipe's, with the weights given.
     */
    Optional<Recipe.Teacher> teacher(Recipe defaultRecipe, int epochs) {
        Optional<Recipe.Teacher> fromRecipe = recipe(defaultRecipe).teacher(epochs);
        Optional<HandDesignedRule> rule = imitate == null ? fromRecipe.map(Recipe.Teacher::rule)
                : Optional.ofNullable(rule(imitate));
        return rule.map(r -> new Recipe.Teacher(r,
                imitationWeight != null ? imitationWeight : fromRecipe.map(Recipe.Teacher::weight).orElse(1.0),
                imitationEpochs != null ? imitationEpochs : fromRecipe.map(Recipe.Teacher::epochs).orElse(100)));
    }

    /** The rule named (case-insensitive), or null for "none". */
    private static HandDesignedRule rule(String name) {
        if (name.strip().equalsIgnoreCase("none")) {
            return null;
        }
        try {
            return HandDesignedRule.valueOf(name.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown rule '" + name + "': expected sgd, momentum, nag, rmsprop, adam "
                    + "or none");
        }
    }

    /** The options as given, for a command line that repeats them (the recipe always named). */
    List<String> args(Recipe defaultRecipe) {
        List<String> args = new ArrayList<>(List.of("--recipe", recipe(defaultRecipe).name().toLowerCase(Locale.ROOT)));
        add(args, "--meta-lr", metaLearningRate);
        add(args, "--meta-lr-schedule", schedule);
        add(args, "--meta-lr-scaling", batchScaling);
        add(args, "--curriculum", curriculum);
        add(args, "--imitate", imitate);
        add(args, "--imitation-weight", imitationWeight);
        add(args, "--imitation-epochs", imitationEpochs);
        add(args, "--parameter-scaling", parameterScaling);
        add(args, "--eval-every", evaluationPeriod);
        add(args, "--validation-functions", validationFunctions);
        add(args, "--confirmation-functions", confirmationFunctions);
        return args;
    }

    private static void add(List<String> args, String option, Object value) {
        if (value != null) {
            args.add(option);
            args.add(value.toString());
        }
    }
}
