package org.l2l4j.meta;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The truncation schedule of meta-training: how long each epoch's trajectory is.  The paper
 * trains every epoch over the full horizon K, cut into unrolls of T steps ({@link #NONE}); a
 * curriculum first trains on shorter trajectories and lengthens them as training goes on (Chen et
 * al. 2020, "Training stronger baselines for learning to optimize"; Lv et al. 2017): stage i
 * trains {@code epochs} epochs over {@code horizon} steps, and after the last stage every epoch
 * runs the full horizon.  Unrolls stay T steps long (the last of a trajectory shorter when T
 * does not divide its length), so a meta-update costs the same at every stage; shorter
 * trajectories put more of them early in the optimizees' descent, where the learned optimizer
 * first has to work.  Validation always runs the full horizon.
 *
 * @param stages the stages, in order
 */
public record Curriculum(List<Stage> stages) implements Serializable {

    /** {@code epochs} epochs over trajectories of {@code horizon} steps. */
    public record Stage(int horizon, int epochs) implements Serializable {
        /** @throws IllegalArgumentException if horizon or epochs is below 1 */
        public Stage {
            if (horizon < 1 || epochs < 1) {
                throw new IllegalArgumentException("a curriculum stage needs horizon >= 1 and epochs >= 1, got "
                        + horizon + " and " + epochs);
            }
        }
    }

    /** The paper's: every epoch over the full horizon. */
    public static final Curriculum NONE = new Curriculum(List.of());

    /** Copies the stages. */
    public Curriculum {
        stages = List.copyOf(stages);
    }

    /** The trajectory length of epoch {@code epoch} (0-based) when the full horizon is {@code horizon}. */
    public int horizon(int epoch, int horizon) {
        int end = 0;
        for (Stage s : stages) {
            end += s.epochs();
            if (epoch < end) {
                return s.horizon();
            }
        }
        return horizon;
    }

    /** Every trajectory length the curriculum uses with full horizon {@code horizon}. */
    public List<Integer> horizons(int horizon) {
        List<Integer> all = new ArrayList<>();
        stages.forEach(s -> all.add(s.horizon()));
        all.add(horizon);
        return all;
    }

    /** {@code none}, or the stages as {@code HORIZON:EPOCHS} joined by commas, the form {@link #parse} reads. */
    @Override
    public String toString() {
        return stages.isEmpty() ? "none"
                : stages.stream().map(s -> s.horizon() + ":" + s.epochs()).collect(Collectors.joining(","));
    }

    /**
     * A curriculum from {@code none} or {@code HORIZON:EPOCHS[,HORIZON:EPOCHS...]}, e.g.
     * {@code 20:100,50:200}: 100 epochs over 20 steps, 200 over 50, then the full horizon.
     *
     * @throws IllegalArgumentException if the text is not of that form
     */
    public static Curriculum parse(String text) {
        String t = text.strip();
        if (t.isEmpty() || t.equalsIgnoreCase("none")) {
            return NONE;
        }
        List<Stage> stages = new ArrayList<>();
        for (String part : t.split(",")) {
            String[] he = part.strip().split(":");
            if (he.length != 2) {
                throw new IllegalArgumentException("a curriculum stage is HORIZON:EPOCHS, got '" + part.strip() + "'");
            }
            try {
                stages.add(new Stage(Integer.parseInt(he[0].strip()), Integer.parseInt(he[1].strip())));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("a curriculum stage is HORIZON:EPOCHS of integers, got '"
                        + part.strip() + "'");
            }
        }
        return new Curriculum(stages);
    }
}
