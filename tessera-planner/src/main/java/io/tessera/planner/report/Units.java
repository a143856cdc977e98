package io.tessera.planner.report;

import java.util.Locale;

/** How the planner reads durations and prints bytes and seconds. */
public final class Units {

    private Units() {
    }

    /** Parses "50ms", "1s", "0.2" (seconds), "300us"; {@code what} names the option in the error. */
    public static double seconds(String what, String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.endsWith("ms")) {
                return Double.parseDouble(t.substring(0, t.length() - 2)) / 1e3;
            }
            if (t.endsWith("us")) {
                return Double.parseDouble(t.substring(0, t.length() - 2)) / 1e6;
            }
            if (t.endsWith("s")) {
                return Double.parseDouble(t.substring(0, t.length() - 1));
            }
            return Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + ": bad duration '" + s + "' (e.g. 1s, 50ms)");
        }
    }

    /** Bytes as GB (10^9) with two decimals. */
    public static String gb(double bytes) {
        return String.format(Locale.ROOT, "%.2f", bytes / 1e9);
    }

    /** Seconds as milliseconds with one decimal, "-" for NaN. */
    public static String ms(double s) {
        return Double.isNaN(s) ? "-" : String.format(Locale.ROOT, "%.1f", s * 1e3);
    }
}
