package io.tessera.planner.search;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The ranked candidates of several searches (one per accelerator) merged by cost: dollars per
 * million requests served at the candidate's goodput, or, with a target rate, dollars per hour of
 * the deployment carrying it. Ties go to the cheaper per request, then by accelerator and label,
 * so the order is the same run after run.
 */
public final class CostRanking {

    /** One ranked deployment and the search (accelerator) it came from. */
    public record Row(Search.Result result, Candidate candidate) {
        public double dollarsPerHour() {
            return CostRanking.dollarsPerHour(result, candidate);
        }

        public double dollarsPerMillion() {
            return CostRanking.dollarsPerMillion(result, candidate);
        }
    }

    private CostRanking() {
    }

    /** Dollars per hour of a candidate's deployment. */
    public static double dollarsPerHour(Search.Result r, Candidate c) {
        return c.deployment().devices() * r.spec().accelerator().pricePerHour();
    }

    /** Dollars per million requests served at the candidate's goodput. */
    public static double dollarsPerMillion(Search.Result r, Candidate c) {
        return dollarsPerHour(r, c) / 3600 / c.goodput() * 1e6;
    }

    /** Whether the searches had a target rate (then the hourly cost ranks). */
    public static boolean byHour(List<Search.Result> results) {
        return results.getFirst().spec().targetRate() > 0;
    }

    /** The cheapest {@code top} deployments of all searches, cheapest first. */
    public static List<Row> rank(List<Search.Result> results, int top) {
        List<Row> rows = new ArrayList<>();
        for (Search.Result r : results) {
            for (Candidate c : r.ranked()) {
                rows.add(new Row(r, c));
            }
        }
        boolean hourly = byHour(results);
        rows.sort(Comparator.comparingDouble((Row x) -> hourly ? x.dollarsPerHour() : x.dollarsPerMillion())
                .thenComparingDouble(Row::dollarsPerMillion)
                .thenComparing(x -> x.result().spec().accelerator().name())
                .thenComparing(x -> x.candidate().label()));
        return rows.size() > top ? List.copyOf(rows.subList(0, top)) : rows;
    }
}
