package io.tessera.planner.search;

import java.util.Locale;

/** Which deployments the search builds: colocated instances, prefill/decode disaggregated pairs, or both. */
public enum Mode {
    COLOCATED, DISAGGREGATED, BOTH;

    public static Mode parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--mode must be colocated, disaggregated or both, not '" + s + "'");
        }
    }

    public boolean colocated() {
        return this != DISAGGREGATED;
    }

    public boolean disaggregated() {
        return this != COLOCATED;
    }
}
