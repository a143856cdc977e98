package io.tessera.planner.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Variants of a workload used by the search: the same lengths at another rate, or with one output token. */
public final class Workloads {

    private Workloads() {
    }

    /** {@code n} requests with the workload's lengths (drawn from its trace when it has one), Poisson at {@code rate}. */
    public static Workload atRate(Workload w, double rate, int n) {
        if (w.trace() == null) {
            return Workload.poisson(rate, n, w.prompt(), w.output(), w.seed());
        }
        SplittableRandom r = new SplittableRandom(w.seed() + 17);
        List<Workload.Spec> specs = new ArrayList<>(n);
        double t = 0;
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                t += -Math.log(1 - r.nextDouble()) / rate;
            }
            Workload.Spec s = w.trace().get(i % w.trace().size());
            specs.add(new Workload.Spec(t, s.prompt(), s.output()));
        }
        return new Workload(0, 0, n, null, null, w.seed(), specs);
    }

    /** The same requests, each producing one token (a prefill-only view). */
    public static Workload promptsOnly(Workload w) {
        List<Workload.Spec> specs = w.generate().stream().map(s -> new Workload.Spec(s.arrival(), s.prompt(), 1)).toList();
        return new Workload(0, 0, specs.size(), null, null, w.seed(), specs);
    }
}
