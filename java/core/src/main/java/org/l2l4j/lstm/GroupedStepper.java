package org.l2l4j.lstm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.l2l4j.backend.NativeBuffer;
import org.l2l4j.backend.NonFiniteInputException;

/**
 * The learned optimizer of several parameter groups applied to fixed tensors, step after step:
 * one {@link LstmStepper} per group that owns tensors, so that a step is one fused native call
 * per group, each with its group's phi and its own coordinates' hidden state (paper section 3.3).
 * With one group it is exactly that group's {@link LstmStepper}.
 *
 * <p>With the finite check, every group's inputs are checked before any group writes, so that a
 * rejected step leaves every parameter and hidden state as it was.
 *
 * <p>Owns the steppers' states; the {@link GroupedLstm} and the tensor lists stay the caller's.
 * Not thread-safe.
 */
public final class GroupedStepper implements AutoCloseable {
    private final GroupedLstm lstm;
    /** Per group: its stepper, or null when it owns no tensor. */
    private final LstmStepper[] steppers;
    /** Per group: the caller's number of each tensor of its list (for messages), or null. */
    private final int[][] tensorIds;
    private final int active;

    /**
     * @param lstm      the groups' native descriptions and phi
     * @param lists     per group, the tensors it steps (null when it owns none); at least one list
     * @param tensorIds per group, what the caller calls each tensor of its list (a value check's
     *                  finding names that number), or null to keep the list's own numbering
     * @throws NullPointerException     if lstm or lists is null
     * @throws IllegalArgumentException if the counts differ from the groups' or every list is null
     *                                  (a list on a backend that cannot read its group's phi is
     *                                  refused by the first step)
     */
    public GroupedStepper(GroupedLstm lstm, List<TensorList> lists, List<int[]> tensorIds) {
        this.lstm = Objects.requireNonNull(lstm, "lstm");
        int groups = lstm.groups().count();
        if (lists.size() != groups || (tensorIds != null && tensorIds.size() != groups)) {
            throw new IllegalArgumentException("expected a tensor list per group (" + groups + "), got "
                    + lists.size());
        }
        this.steppers = new LstmStepper[groups];
        this.tensorIds = new int[groups][];
        int count = 0;
        try {
            for (int g = 0; g < groups; g++) {
                TensorList list = lists.get(g);
                if (list != null) {
                    steppers[g] = new LstmStepper(lstm.lstm(g), lstm.phi(g), list);
                    this.tensorIds[g] = tensorIds == null ? null : tensorIds.get(g).clone();
                    count++;
                }
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
        if (count == 0) {
            throw new IllegalArgumentException("no parameter group owns a tensor");
        }
        this.active = count;
    }

    /**
     * One step of every coordinate of every group.
     *
     * @param checkFinite reject NaN and infinite values in phi, the gradients, the parameters and
     *                    the states of every group before any group writes
     * @throws NonFiniteInputException with {@code checkFinite}, naming the input, the tensor (by
     *                                 the caller's number) and the index, and the group when there
     *                                 are several; nothing was written
     */
    public void step(boolean checkFinite) {
        if (active > 1 && checkFinite) {
            for (int g = 0; g < steppers.length; g++) {
                if (steppers[g] != null) {
                    try {
                        steppers[g].check();
                    } catch (NonFiniteInputException e) {
                        throw renamed(g, e);
                    }
                }
            }
        }
        boolean checkHere = active == 1 && checkFinite;
        for (int g = 0; g < steppers.length; g++) {
            if (steppers[g] != null) {
                try {
                    steppers[g].step(checkHere);
                } catch (NonFiniteInputException e) {
                    throw renamed(g, e);
                }
            }
        }
    }

    /**
     * One step of every group that also writes, into slot {@code slot} of the group's record,
     * what the backward pass needs: meta-training's step ({@link LstmStepper#step(UnrollRecord, int)}).
     *
     * @param records per group, its record (ignored for a group without tensors)
     */
    public void step(UnrollRecord[] records, int slot) {
        for (int g = 0; g < steppers.length; g++) {
            if (steppers[g] != null) {
                steppers[g].step(records[g], slot);
            }
        }
    }

    /** A value check's finding in group g, with the caller's tensor number and the group's name. */
    private NonFiniteInputException renamed(int g, NonFiniteInputException e) {
        int[] ids = tensorIds[g];
        if (ids == null && steppers.length == 1) {
            return e;
        }
        int tensor = ids == null || e.tensor() < 0 ? e.tensor() : ids[e.tensor()];
        String where = steppers.length == 1 ? "" : " (parameter group '" + lstm.groups().get(g).name() + "')";
        return new NonFiniteInputException(e.getMessage() + where, e.input(), tensor, e.index());
    }

    /** Zeroes every coordinate's hidden state in every group: the start of a new trajectory. */
    public void resetState() {
        for (LstmStepper s : steppers) {
            if (s != null) {
                s.resetState();
            }
        }
    }

    /** Group g's hidden state (float32 [S_g x n_g]); null when it owns no tensor or has no LSTM layer. */
    public NativeBuffer state(int g) {
        return steppers[g] == null ? null : steppers[g].state();
    }

    /** Frees the hidden states; idempotent. */
    @Override
    public void close() {
        Arrays.stream(steppers).filter(Objects::nonNull).forEach(LstmStepper::close);
    }

    @Override
    public String toString() {
        List<String> owning = new ArrayList<>();
        for (int g = 0; g < steppers.length; g++) {
            if (steppers[g] != null) {
                owning.add(lstm.groups().get(g).name() + ": " + steppers[g].tensors().coordinates());
            }
        }
        return "GroupedStepper" + owning;
    }
}
