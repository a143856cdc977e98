package io.tessera.planner.calibrate;

import io.tessera.planner.model.ModelSpec;

/**
 * Measures real engine steps on this machine, for calibration and validation. The planner only
 * needs this interface; {@link ForwardStepTimer} implements it with Tessera's own forward pass.
 */
public interface StepTimer extends AutoCloseable {

    /** The shape of the model being timed, in the planner's terms. */
    ModelSpec shape();

    /** Bytes per weight as stored (e.g. 34/32 for Q8_0), averaged over the matrices. */
    double weightBytesPerParam();

    /** Bytes per cached K or V value. */
    double kvBytesPerValue();

    /** Threads the engine computes with. */
    int threads();

    /**
     * Median wall-clock seconds of the step over {@code repeats} runs after one warm-up (runs
     * preempted by other processes may be left out, see {@link ForwardStepTimer}).
     */
    double seconds(StepPlan plan, int repeats);

    /**
     * Median seconds of each step, measured round-robin (every step once, then again, {@code
     * repeats} times) so that a machine whose load changes during the run affects all steps alike.
     */
    default double[] seconds(java.util.List<StepPlan> plans, int repeats) {
        double[] out = new double[plans.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = seconds(plans.get(i), repeats);
        }
        return out;
    }

    /** Seconds one empty parallel operator costs the engine (a fork and join of its threads); 0 if unknown. */
    default double operatorOverheadSeconds() {
        return 0;
    }

    @Override
    default void close() {
    }
}
