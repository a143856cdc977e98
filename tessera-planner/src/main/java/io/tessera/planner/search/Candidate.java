package io.tessera.planner.search;

import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.sim.Deployment;
import io.tessera.planner.sim.SimResult;

/**
 * One layout the search considered. Winners carry a deployment, its goodput (the highest request
 * rate at which the SLO attainment target is met) and a verification run; losers carry the reason.
 *
 * @param goodputPerDevice requests/s meeting both SLOs, per device
 * @param goodput the deployment's requests/s meeting both SLOs
 * @param memory the memory report of the (prefill, when disaggregated) instance
 * @param decodeMemory the decode instance's report, or null
 * @param verification a full simulation of the deployment, or null
 * @param reason why it lost, or null for the ranked ones
 */
public record Candidate(String mode, String label, Deployment deployment, double goodputPerDevice, double goodput,
                        MemoryModel.Report memory, MemoryModel.Report decodeMemory, SimResult verification,
                        String reason) {

    public Candidate withVerification(SimResult r) {
        return new Candidate(mode, label, deployment, goodputPerDevice, goodput, memory, decodeMemory, r, reason);
    }

    public Candidate withReason(String r) {
        return new Candidate(mode, label, deployment, goodputPerDevice, goodput, memory, decodeMemory, verification, r);
    }
}
