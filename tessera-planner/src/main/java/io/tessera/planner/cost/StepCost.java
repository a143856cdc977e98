package io.tessera.planner.cost;

/** Time of one engine step for a batch: the simulator's only view of the hardware. */
@FunctionalInterface
public interface StepCost {
    double seconds(Batch batch);
}
