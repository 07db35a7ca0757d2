package org.l2l4j.meta;

import org.l2l4j.backend.Backend;
import org.l2l4j.lstm.GroupedLstm;
import org.l2l4j.lstm.LstmConfig;
import org.l2l4j.lstm.ParameterGroups;
import org.l2l4j.optimizees.OptimizeeFamily;

/** The validation loss of the untrained optimizer (phi at its initialization), for comparisons. */
final class LearnedValidation {
    private LearnedValidation() {
    }

    static double untrained(Backend backend, LstmConfig config, OptimizeeFamily family, MetaTrainingOptions o) {
        double[] phi = o.phiInit().initialize(config, Seeds.derive(o.seed(), Seeds.PHI));
        float[] f = new float[phi.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) phi[i];
        }
        try (GroupedLstm lstm = new GroupedLstm(ParameterGroups.single(config), backend)) {
            lstm.write(f);
            return LearnedRollouts.meanFinalLoss(backend, lstm, family,
                    Seeds.list(o.seed(), Seeds.VALIDATION, o.validationFunctions()), o.horizon());
        }
    }
}
